"""Issue 13, files and URLs: hostile flow files, URLs, names and inputs get one clear message and exit 2
before any browser starts; nothing is written outside the folders the user gave; page data prints as is."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from webmem.errors import FlowFormatError, InputError
from webmem.flow.flowfile import parse_flow
from webmem.flow.inputs import resolve_inputs

from .conftest import FLOWS

CUSTOMER = str(FLOWS / "create-customer.yaml")
GOOD_INPUTS = ["-i", "full_name=Ada", "-i", "email=ada@example.com"]
NO_BROWSER = {"WEBMEM_BROWSER": "/nonexistent/chromium"}  # a browser start would fail differently


def flow_text(base_url: str = "http://127.0.0.1:9", steps: str = "  - goto: /\n", name: str = "t",
              inputs: str = "") -> str:
    return f"webmem: 1\nname: {json.dumps(name)}\ntask: t\nbase_url: {json.dumps(base_url)}\n{inputs}steps:\n{steps}"


def clean_error(proc, *needles: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize("base", ["file:///etc/", "javascript:alert(1)", "ftp://127.0.0.1/", "http://[::1",
                                  "data:text/html,hi", "/relative/only"])
def test_base_url_must_be_http(base: str) -> None:
    with pytest.raises(FlowFormatError) as info:
        parse_flow(flow_text(base_url=base))
    assert "base_url" in str(info.value)


@pytest.mark.parametrize("step", ["  - goto: file:///etc/passwd\n", "  - goto: 'http://[::1'\n",
                                  "  - goto: javascript:alert(1)\n",
                                  "  - expect: {url: 'file:///etc/passwd'}\n",
                                  "  - wait_for: {url: 'http://[::1'}\n"])
def test_step_urls_must_be_http(step: str) -> None:
    with pytest.raises(FlowFormatError) as info:
        parse_flow(flow_text(steps=step))
    assert "step 1" in str(info.value)


def test_page_url_must_be_http() -> None:
    text = flow_text(steps="  - goto: /\n") + "pages:\n  p: {url: 'file:///etc/'}\n"
    with pytest.raises(FlowFormatError, match="pages.p.url"):
        parse_flow(text)


def test_unknown_selector_kind_is_refused_by_validate(webmem_cli, tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(flow_text(steps="  - goto: /\n  - click: {target: {intent: x, selectors: ['bogus=1']}}\n"))
    clean_error(webmem_cli("validate", str(path)), "step 2 (click)", "unknown selector 'bogus=1'")
    path.write_text(flow_text(steps="  - click: {target: {intent: x, selectors: ['role=button[name=\"x]']}}\n"))
    clean_error(webmem_cli("validate", str(path)), "bad role selector")


def test_undeclared_placeholder_is_a_load_error() -> None:
    steps = "  - goto: /\n  - fill: {target: {intent: x, selectors: ['css=#a']}, value: '{{ nosuch }}'}\n"
    with pytest.raises(FlowFormatError, match=r"step 2 \(fill\): placeholder \{\{ nosuch \}\} is not a declared"):
        parse_flow(flow_text(steps=steps))


def test_alias_bomb_and_deep_nesting_are_refused_quickly() -> None:
    bomb = "webmem: 1\na: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        bomb += f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    started = time.monotonic()
    with pytest.raises(FlowFormatError, match="anchors and aliases"):
        parse_flow(bomb)
    with pytest.raises(FlowFormatError, match="anchors and aliases"):
        parse_flow(bomb, round_trip=False)
    for depth in (500, 2000, 100_000):
        with pytest.raises(FlowFormatError, match="nested more than"):
            parse_flow("webmem: 1\nx: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(FlowFormatError, match="nested more than"):
        parse_flow("webmem: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(1, 60)))
    assert time.monotonic() - started < 5


def test_alias_bomb_in_a_store_does_not_hang_list(webmem_cli, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    bomb = "webmem: 1\na: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    for i in range(1, 10):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    (store / "bomb.yaml").write_text(bomb)
    proc = webmem_cli("list", "--store", str(store), timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "anchors" in proc.stdout


def test_validate_dev_zero_and_a_folder(webmem_cli, tmp_path: Path) -> None:
    clean_error(webmem_cli("validate", "/dev/zero", timeout=60), "/dev/zero", "larger than")
    clean_error(webmem_cli("validate", str(tmp_path)), "is a folder")


@pytest.mark.parametrize("args,needle", [
    (["--base-url", "file:///"], "only http:// and https://"),
    (["--base-url", "javascript:alert(1)"], "only http:// and https://"),
    (["--base-url", "http://[::1"], "is not a web address (Invalid IPv6 URL)"),
    (["--report", "/tmp"], "--report /tmp: is a folder"),
])
def test_run_options_refused_before_browser(webmem_cli, args: list[str], needle: str) -> None:
    clean_error(webmem_cli("run", CUSTOMER, *GOOD_INPUTS, *args, env=NO_BROWSER), needle)


def test_trace_at_an_existing_file(webmem_cli, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("keep me")
    clean_error(webmem_cli("run", CUSTOMER, *GOOD_INPUTS, "--trace", str(f), env=NO_BROWSER), "is not a folder")
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("url", ["http://[::1", "file:///etc/passwd", "javascript:alert(1)", "ftp://x/"])
def test_do_and_record_urls(webmem_cli, tmp_path: Path, url: str) -> None:
    clean_error(webmem_cli("do", url, "--task", "x", "--store", str(tmp_path), env=NO_BROWSER), "URL:")
    clean_error(webmem_cli("record", url, "--task", "x", "--out", str(tmp_path / "x.yaml"), env=NO_BROWSER), "URL:")


def test_schema_out_into_a_missing_folder(webmem_cli, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "schema.json"
    proc = webmem_cli("schema", "--out", str(out))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(out.read_text())["title"] == "webmem flow file"
    blocker = tmp_path / "afile"
    blocker.write_text("")
    clean_error(webmem_cli("schema", "--out", str(blocker / "schema.json")), "is not a folder")


def test_binary_index_is_rebuilt(webmem_cli, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "sign-in.yaml").write_text((FLOWS / "sign-in.yaml").read_text())
    assert webmem_cli("list", "--store", str(store)).returncode == 0
    index = store / ".webmem" / "index.sqlite"
    index.write_bytes(b"\xff\xfe\x00\x81binary" * 100)
    proc = webmem_cli("list", "--store", str(store))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "sign-in.yaml" in proc.stdout
    assert index.read_bytes().startswith(b"SQLite format 3\x00")


@pytest.mark.parametrize("data,needle", [
    ({"full_name": None, "email": "a@b.co"}, "got null"),
    ({"full_name": {"a": [1]}, "email": "a@b.co"}, "got dict"),
    ({"full_name": ["x"], "email": "a@b.co"}, "got list"),
    ({"full_name": "Ada", "email": "a@b.co", "plan": None}, "input 'plan': expected an enum, got null"),
])
def test_mistyped_inputs_file(webmem_cli, tmp_path: Path, data: dict, needle: str) -> None:
    f = tmp_path / "inputs.json"
    f.write_text(json.dumps(data))
    clean_error(webmem_cli("run", CUSTOMER, "--inputs-file", str(f), env=NO_BROWSER), needle)


def test_lone_surrogate_input(webmem_cli) -> None:
    from webmem.flow.flowfile import load_flow

    with pytest.raises(InputError, match="lone surrogate"):
        resolve_inputs(load_flow(CUSTOMER).flow, {"full_name": "a\udcff", "email": "a@b.co"})
    proc = webmem_cli("run", CUSTOMER, "-i", "full_name=a\udcff", "-i", "email=a@b.co", env=NO_BROWSER)
    clean_error(proc, "lone surrogate")


def test_names_never_lead_out_of_the_folders(webmem_cli, tmp_path: Path, hostile) -> None:
    hostile.pages["/"] = "<title>x</title><p>no button here</p>"
    work = tmp_path / "work"
    work.mkdir()
    for name in ("../../escaped", str(tmp_path / "abs" / "escaped"), "..", "."):
        flow = work / "f.yaml"
        flow.write_text(flow_text(base_url=hostile.url, name=name,
                                  steps="  - goto: /\n  - click: {target: {intent: the save button, "
                                        "selectors: ['css=#save']}}\n"))
        proc = webmem_cli("run", str(flow), "--heal", "off", "--artifacts", str(work / "art"),
                          "--trace", str(work / "trace"), cwd=work)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written, "nothing written"
    assert all(p.is_relative_to(work) for p in written), sorted(map(str, written))
    assert list((work / "trace").glob("*.zip")) and list((work / "art").rglob("step-02-failed.png"))


def test_extracted_text_is_printed_as_data(webmem_cli, tmp_path: Path, hostile) -> None:
    hostile.pages["/"] = "<title>x</title><p id=out>root:x:0:0:[bold]root[/bold]:/root</p>"
    flow = tmp_path / "f.yaml"
    flow.write_text(flow_text(base_url=hostile.url, steps="  - goto: /\n  - extract: {target: {intent: the text, "
                                                          "selectors: ['css=#out']}, as: line}\n"))
    proc = webmem_cli("run", str(flow))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "root:x:0:0:[bold]root[/bold]:/root" in proc.stdout


# ---- issue 22: an upload sends only a file the user gave or a file inside the folder the user named ----------

UPLOAD_PAGE = "<title>up</title><form method=post enctype=multipart/form-data action=/sent>" \
              "<label for=doc>Document</label><input type=file id=doc name=doc><button>Send</button></form>"


def upload_flow(base_url: str, files: str) -> str:
    return flow_text(base_url=base_url, inputs="inputs:\n  doc: {type: file, required: false}\n",
                     steps="  - goto: /\n  - upload:\n      target: {intent: the document, selectors: "
                           f"['css=#doc']}}\n      files: {json.dumps(files)}\n")


def test_a_literal_upload_path_is_refused_by_validate_and_run(webmem_cli, tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text(upload_flow("http://127.0.0.1:9", "/etc/passwd"))
    clean_error(webmem_cli("validate", str(flow)), "step 2", "'/etc/passwd'", "--files-dir")
    clean_error(webmem_cli("run", str(flow), env=NO_BROWSER), "'/etc/passwd'", "--files-dir")
    files = tmp_path / "files"
    files.mkdir()
    clean_error(webmem_cli("validate", str(flow), "--files-dir", str(files)), "outside the files folder")
    flow.write_text(upload_flow("http://127.0.0.1:9", "../f.yaml"))  # relative, but climbing out
    clean_error(webmem_cli("validate", str(flow), "--files-dir", str(files)), "outside the files folder")
    flow.write_text(upload_flow("http://127.0.0.1:9", "cv.pdf"))
    assert webmem_cli("validate", str(flow), "--files-dir", str(files)).returncode == 0
    flow.write_text(upload_flow("http://127.0.0.1:9", "{{ doc }}"))  # the user's file, given at run time
    assert webmem_cli("validate", str(flow)).returncode == 0


def test_upload_replays_only_allowed_files_and_records_no_literal(page, hostile, tmp_path: Path) -> None:
    import webmem
    from webmem.flow.model import InputSpec

    hostile.pages["/"] = UPLOAD_PAGE
    files = tmp_path / "files"
    files.mkdir()
    (files / "cv.pdf").write_bytes(b"%PDF-cv")
    flow = tmp_path / "f.yaml"
    flow.write_text(upload_flow(hostile.url, "/etc/passwd"))
    with pytest.raises(InputError, match="files-dir"):  # before any step: the page never saw the run
        webmem.replay(page, flow, heal="off")
    assert not hostile.requests
    with pytest.raises(InputError, match="outside the files folder"):
        webmem.replay(page, flow, heal="off", files_dir=files)
    flow.write_text(upload_flow(hostile.url, "{{ doc }}.bak"))  # a literal part: checked as rendered
    report = webmem.replay(page, flow, {"doc": str(files / "cv.pdf")}, heal="off", files_dir=tmp_path / "other")
    assert not report.passed and "outside the files folder" in (report.error or "")
    flow.write_text(upload_flow(hostile.url, "cv.pdf"))
    report = webmem.replay(page, flow, heal="off", files_dir=files)
    assert report.passed, report.error
    assert page.locator("#doc").evaluate("(el) => el.files[0].name") == "cv.pdf"

    rec = webmem.Recorder(page, name="up", task="upload", inputs={"doc": str(files / "cv.pdf")},
                          specs={"doc": InputSpec(type="file")})
    rec.goto(hostile.url + "/")
    with pytest.raises(webmem.StepFailed, match="no input's value"):  # an agent naming a file of the machine
        rec.upload(page.locator("#doc"), "/etc/passwd")
    assert page.locator("#doc").evaluate("(el) => el.files.length") == 0


def test_an_output_never_overwrites_an_input(webmem_cli, tmp_path: Path) -> None:
    """Issue 22: `batch --out rows.csv`, `--out flow.yaml`, `run --report flow.yaml` were silently replaced."""
    flow = tmp_path / "flow.yaml"
    flow.write_text((FLOWS / "add-contact.yaml").read_text())
    rows = tmp_path / "rows.csv"
    rows.write_text("name,email\nA,a@x.io\n")
    lines = tmp_path / "lines.csv"
    lines.write_text("parent,x\nrow1,1\n")
    (tmp_path / "link.csv").symlink_to(rows)
    before = {p: p.read_bytes() for p in (flow, rows, lines)}
    for args, needle in [
        (["batch", str(flow), str(rows), "--out", str(rows)], "is the data file"),
        (["batch", str(flow), str(rows), "--out", str(tmp_path / "link.csv")], "is the data file"),
        (["batch", str(flow), str(rows), "--out", str(flow)], "is the flow"),
        (["batch", str(flow), str(rows), "--children", f"lines={lines}", "--out", str(lines)], "child rows of lines"),
        (["batch", str(flow), str(rows), "--journal", str(rows)], "--journal"),
        (["batch", str(flow), "rows.outcomes.csv"], "is the data file"),  # the default --out is ROWS.outcomes.csv
        (["run", str(flow), "-i", "name=A", "-i", "email=a@x.io", "--report", str(flow)], "is the flow"),
        (["run", str(flow), "-i", "name=A", "-i", "email=a@x.io", "--propose", "./flow.yaml"], "is the flow"),
    ]:
        if args[2] == "rows.outcomes.csv":
            (tmp_path / "rows.outcomes.csv").write_text("name,email\nA,a@x.io\n")
        clean_error(webmem_cli(*args, cwd=tmp_path, env=NO_BROWSER, timeout=60), needle)
    assert all(p.read_bytes() == data for p, data in before.items())
    assert (tmp_path / "rows.outcomes.csv").read_text() == "name,email\nA,a@x.io\n"


def test_flow_text_is_printed_as_data_never_as_markup(webmem_cli, tmp_path: Path) -> None:
    """Issue 22: a flow's name/task printed as Rich markup: `[/]` was a MarkupError traceback, `[link=...]` and
    `[green]passed[/green]` a fake verdict. Every piece of flow text prints as it is."""
    store = tmp_path / "store"
    store.mkdir()
    name, task = "x[/]", "[link=https://evil.test][green]passed[/green][/link] [/bold]"
    flow = store / "f.yaml"
    flow.write_text(flow_text(name=name, steps="  - goto: /\n  - click: {target: {intent: '[/] [red]Save', "
                                               "selectors: ['text=[b]Save[/b]']}}\n")
                    .replace("task: t", f"task: {json.dumps(task)}")
                    .replace("steps:", "inputs:\n  '[i]': {description: '[/]'}\nsteps:"))
    for args in (["validate", str(flow)], ["show", str(flow)], ["list", "--store", str(store)],
                 ["run", str(flow), "-i", "[i]=1"]):
        proc = webmem_cli(*args, env=NO_BROWSER, timeout=60)
        text = proc.stdout + proc.stderr
        assert "Traceback" not in text and "MarkupError" not in text, text
        if args[0] != "list":
            assert name in text, text
    shown = webmem_cli("show", str(flow)).stdout
    assert task in shown and "[/] [red]Save" in shown and "text=[b]Save[/b]" in shown and "[/]" in shown
    assert "[link=https://evil.test]" in webmem_cli("list", "--store", str(store)).stdout


def test_an_index_row_with_bad_json_is_rebuilt(webmem_cli, tmp_path: Path) -> None:
    """Issue 22: an `index.sqlite` row with bad JSON crashed `webmem list`; the index is a cache: made afresh."""
    import sqlite3

    store = tmp_path / "store"
    store.mkdir()
    (store / "sign-in.yaml").write_text((FLOWS / "sign-in.yaml").read_text())
    assert webmem_cli("list", "--store", str(store)).returncode == 0
    index = store / ".webmem" / "index.sqlite"
    for bad in ("{not json", '{"path": 1}', "[]"):
        with sqlite3.connect(index) as conn:
            conn.execute("UPDATE entries SET data = ?", (bad,))
        proc = webmem_cli("list", "--store", str(store))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert "sign-in.yaml" in proc.stdout and "Sign in to the portal" in proc.stdout
        with sqlite3.connect(index) as conn:
            assert "Sign in to the portal" in conn.execute("SELECT data FROM entries").fetchone()[0]


def test_a_handler_acts_only_on_its_page_and_every_click_is_reported(page, hostile, tmp_path: Path) -> None:
    """Issue 22: a page that raised a dialog like a learned handler's got its button clicked at a moment it chose,
    and the report never said. A handler runs only on the page it was learned on; each click is reported."""
    import webmem
    from webmem.flow.model import InputSpec

    form = ("<title>signup</title><h1>Sign up</h1><form action=/done method=post><label>Name <input name=who>"
            "</label><button>Join</button></form>{popup}")
    dialog = ('<div role=dialog aria-label="Our newsletter" style="position:fixed;inset:20%;background:#fff">'
              "<p>Get news?</p><button onclick=\"{js}this.parentElement.remove()\">No thanks</button></div>")
    done = ("<title>done</title><h1>Welcome</h1><button onclick=\"fetch('/next',{{method:'POST'}})\">Continue"
            "</button>{popup}")
    hostile.pages["/"] = form.format(popup=dialog.format(js=""))
    hostile.pages["/done"] = done.format(popup="")
    rec = webmem.Recorder(page, name="signup", task="Sign up as {{ who }}", inputs={"who": "Ann"},
                          specs={"who": InputSpec()})
    rec.goto(hostile.url + "/")
    assert rec.dismiss(page.get_by_role("button", name="No thanks")).url == "/"
    rec.fill(page.get_by_label("Name"), "Ann")
    rec.click(page.get_by_role("button", name="Join"))
    rec.click(page.get_by_role("button", name="Continue"))
    path = tmp_path / "signup.yaml"
    webmem.save_flow(rec.flow(), path)

    report = webmem.replay(page, path, {"who": "Bea"}, heal="off")
    assert report.passed, report.error
    assert report.handled == 1 and "No thanks" in report.steps[1].handled[0] and hostile.url + "/" in \
        report.steps[1].handled[0]
    assert '"handled"' in report.model_dump_json()

    # the next page raises a look-alike whose button does something else: nothing on it is clicked
    hostile.pages["/done"] = done.format(popup=dialog.format(js="fetch('/evil',{method:'POST'});"))
    # the first run's Continue posts /next with fetch: let it land before the log is cleared (a loaded machine)
    deadline = time.monotonic() + 5
    while ("POST", "/next") not in [r[:2] for r in hostile.requests] and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    hostile.requests.clear()
    report = webmem.replay(page, path, {"who": "Cy"}, heal="off")
    assert not report.passed and "not on the page it was learned on" in (report.error or ""), report.error
    assert not [r for r in hostile.requests if r[1] in ("/evil", "/next")]
