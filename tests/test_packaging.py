"""Installing and configuring webmem as a library: a missing extra is one line naming the `pip install`, the core
(`do` with the offline agent, flow files under their lock) works with every extra and `fcntl` gone, the config file
is checked key by key, one precedence order (flag > env > file > default), and a new pytest project runs on the
Chromium webmem finds. Each child process makes the packages unimportable itself (`sys.modules[name] = None`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webmem.browser.config import load_settings
from webmem.browser.launch import find_browser
from webmem.errors import BrowserNotFound, ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXTRA_MODULES = ("openai", "ijson", "openpyxl", "psycopg", "mcp", "flask")
# what no core path may need: every extra's package, and fcntl (absent on Windows)
BLOCK = (*EXTRA_MODULES, "fcntl")

# run in a child with BLOCK made unimportable: the package and its pytest plugin import, a flow is written under
# its lock, and each optional part says which extra to install
CHILD = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from pathlib import Path
import webmem, webmem.pytest.plugin
from webmem.flow.flowfile import load_flow, save_flow, update_flow

tmp = Path(sys.argv[2])
ff = load_flow(sys.argv[3])
save_flow(ff.flow, tmp / "copy.yaml")
update_flow(tmp / "copy.yaml", lambda f: f.doc.__setitem__("task", "edited under the lock"))
print("LOCKED", load_flow(tmp / "copy.yaml").flow.task)

def needs(call):
    try:
        call()
    except webmem.MissingExtra as exc:
        print("EXTRA", exc.extra, str(exc).replace("\\n", " | "), sep="\\t")
    else:
        print("NO ERROR", call)

from webmem.batch.rows import read_rows
from webmem.batch.journal import open_journal
from webmem.llm import Model
(tmp / "rows.json").write_text('[{"a": 1}]')
(tmp / "rows.xlsx").write_bytes(b"PK")
needs(lambda: Model("m").chat([{"role": "user", "content": "hi"}]))
needs(lambda: list(read_rows(tmp / "rows.json")))
needs(lambda: list(read_rows(tmp / "rows.xlsx")))
needs(lambda: open_journal("postgresql://u@127.0.0.1:9/db", "r"))
needs(lambda: __import__("webmem.mcp"))
needs(lambda: __import__("webmem.demo_site"))
"""

RUN_CLI = "import runpy, sys\nfor n in sys.argv[1].split(','): sys.modules[n] = None\n" \
          "sys.argv = ['webmem', *sys.argv[2:]]\nrunpy.run_module('webmem.cli.app', run_name='__main__')\n"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBMEM_", "PYTEST_", "OPENAI_"))}
    return {**env, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def test_missing_extras_are_one_line_and_the_core_needs_none(portal, tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, ",".join(BLOCK), str(tmp_path),
                            str(ROOT / "flows" / "create-customer.yaml")],
                           capture_output=True, text=True, timeout=60, env=_env(), cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    assert "LOCKED edited under the lock" in child.stdout
    said = [line.split("\t") for line in child.stdout.splitlines() if line.startswith("EXTRA")]
    assert [extra for _, extra, _ in said] == ["llm", "batch", "batch", "postgres", "mcp", "demo"], child.stdout
    for _, extra, message in said:
        assert message.endswith(f"pip install 'webmem[{extra}]'") and " | " not in message, message
    assert "NO ERROR" not in child.stdout

    # the command line: one line, exit 2, for `webmem mcp` without its extra
    mcp = subprocess.run([sys.executable, "-c", RUN_CLI, "mcp", "mcp"], capture_output=True, text=True,
                         timeout=60, env=_env(), cwd=tmp_path)
    assert mcp.returncode == 2 and "Traceback" not in mcp.stderr, mcp.stderr
    assert mcp.stderr.strip().splitlines()[-1].endswith("pip install 'webmem[mcp]'"), mcp.stderr
    # and `python -m webmem.demo_site` (flask made unimportable before anything else runs, by a sitecustomize)
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['flask'] = None\n")
    demo = subprocess.run([sys.executable, "-m", "webmem.demo_site", "--port", "0"], capture_output=True, text=True,
                          timeout=60, env=_env(PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}"), cwd=tmp_path)
    assert demo.returncode == 2 and demo.stderr.strip() == "error: the demo portal needs the flask package, which " \
        "is not installed: pip install 'webmem[demo]'", demo.stderr

    # `webmem do` with the offline agent learns and stores a flow with no extra installed and no fcntl
    do = subprocess.run([sys.executable, "-c", RUN_CLI, ",".join(BLOCK), "do", portal.url + "/customers/new",
                         "--task", "Create a customer named Ada", "-i", "full_name=Ada", "-i", "email=ada@example.com",
                         "--store", str(tmp_path / "flows")],
                        capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path)
    assert do.returncode == 0, do.stdout + do.stderr
    assert list((tmp_path / "flows").glob("*.yaml")) and portal.submissions("customer")


def test_config_is_checked_key_by_key_with_one_precedence_order(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WEBMEM_BROWSER", "WEBMEM_HEADLESS", "WEBMEM_MODEL", "WEBMEM_FILES_DIR"):
        monkeypatch.delenv(var, raising=False)
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    config = project / "webmem.json"
    config.write_text(json.dumps({"headles": False, "timeouts": {"acton": 100}}))
    with pytest.raises(ConfigError) as bad:
        load_settings(project / "sub")  # found from a folder below
    assert str(bad.value) == (f"{config}: unknown key 'timeouts.acton' (did you mean 'timeouts.action'?); "
                              "unknown key 'headles' (did you mean 'headless'?)")
    # the command line says the same, exit 2, before any browser
    cli = subprocess.run([sys.executable, "-m", "webmem.browser"], capture_output=True, text=True, timeout=60,
                         env=_env(), cwd=project / "sub")
    assert cli.returncode == 2 and "unknown key 'headles' (did you mean 'headless'?)" in cli.stderr, cli.stderr

    # precedence: flag > environment variable > file > default, and each value knows where it came from
    config.write_text(json.dumps({"model": "file-model", "filesDir": "file-dir", "executablePath": "/no/such/file"}))
    monkeypatch.setenv("WEBMEM_MODEL", "env-model")
    settings = load_settings(project, flags={"model": "flag-model", "files_dir": None})
    assert (settings.model, settings.origin("model")) == ("flag-model", "--model")
    assert (settings.files_dir, settings.origin("files_dir")) == ("file-dir", f"{config}: filesDir")
    assert (settings.headless, settings.origin("headless")) == (True, "the default")
    assert load_settings(project).model == "env-model"
    # a configured browser that is not there: the error names where the path came from
    with pytest.raises(BrowserNotFound, match=f"/no/such/file \\(from {config}: executablePath\\)"):
        find_browser(settings)
    monkeypatch.setenv("WEBMEM_BROWSER", "/no/such/env-browser")
    with pytest.raises(BrowserNotFound, match=r"/no/such/env-browser \(from WEBMEM_BROWSER\)"):
        find_browser(load_settings(project))
    # a batch says it once, before a journal or a worker, with the same origin; its workers (other processes)
    # get the batch's flags, so their settings name the same origins
    monkeypatch.delenv("WEBMEM_BROWSER")
    (project / "rows.csv").write_text("full_name,email\nAda,ada@example.com\n")
    batch = subprocess.run([sys.executable, "-m", "webmem.cli", "batch", str(ROOT / "flows" / "create-customer.yaml"),
                            "rows.csv", "--journal", "j.sqlite"], capture_output=True, text=True, timeout=60,
                           env=_env(), cwd=project)
    assert batch.returncode == 2 and batch.stderr.strip() == "error: configured browser does not exist: " \
        f"/no/such/file (from {config}: executablePath)", batch.stderr
    assert not (project / "j.sqlite").exists()
    from webmem.batch.worker import WorkerOptions

    monkeypatch.chdir(project)
    worker = WorkerOptions(files_dir=Path("flag-dir")).settings()
    assert (worker.files_dir, worker.origin("files_dir")) == ("flag-dir", "--files-dir")
    assert worker.origin("executable_path") == f"{config}: executablePath"

    # the old name is still read, with a one-line note on stderr; webmem.json wins where both are
    old = tmp_path / "old"
    old.mkdir()
    (old / "playwright.config.json").write_text('{"model": "old-name"}')
    note = subprocess.run([sys.executable, "-c", "from webmem.browser.config import load_settings as l; "
                           "print(l().model)"], capture_output=True, text=True, timeout=60, env=_env(), cwd=old)
    assert note.stdout.strip() == "old-name", note.stderr
    assert len(note.stderr.splitlines()) == 1 and "now named webmem.json" in note.stderr, note.stderr
    monkeypatch.delenv("WEBMEM_MODEL")
    (old / "webmem.json").write_text('{"model": "new-name"}')
    assert load_settings(old).model == "new-name"


NEW_PROJECT_TEST = '''
def test_page(page):
    page.goto("{url}/customers/new")
    assert page.get_by_role("button", name="Save customer").is_visible()


def test_flow(webmem):
    report = webmem.run("create-customer.yaml", {{"full_name": "Nia Ray", "email": "nia@example.com"}},
                        base_url="{url}")
    assert report.passed, report.error
'''


def test_a_new_pytest_project_runs_on_the_chromium_webmem_finds(portal, tmp_path: Path) -> None:
    """No `webmem_browser` setting, no --webmem-browser, no Playwright build on the machine: the plugin falls back
    to the Chromium webmem finds instead of 2 errors ("Executable doesn't exist")."""
    (tmp_path / "test_new.py").write_text(NEW_PROJECT_TEST.format(url=portal.url))
    (tmp_path / "create-customer.yaml").write_text((ROOT / "flows" / "create-customer.yaml").read_text())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--rootdir", str(tmp_path), "test_new.py"],
                          capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path)
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout[-3000:] + done.stderr
    assert [s["data"]["full_name"] for s in portal.submissions("customer")] == ["Nia Ray"]
