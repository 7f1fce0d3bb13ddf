"""Install webmem as a new user would and measure it: a wheel built from this tree, installed into a new
virtualenv with its real dependencies (pip as the machine configures it: its index, find-links), then

- `webmem` alone: the README's Python example as written (only the portal's address changed) against the demo
  portal (served by this process), the install size and the import time of `webmem` and of the CLI;
- `webmem[pytest]` added: a new pytest project (no setting of webmem's) on the page fixture and the `webmem` one;
- `webmem[all]` in a second virtualenv: the same size and import figures.

    python bench/install.py [--keep DIR]

Not part of `make test` or `make bench` (it takes minutes: it installs Playwright twice). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webmem.demo_site.server import PortalServer  # noqa: E402

PYTEST_PROJECT = '''
def test_page(page):
    page.goto("{url}/customers/new")
    assert page.get_by_role("button", name="Save customer").is_visible()


def test_flow(webmem):
    report = webmem.run("create-customer.yaml", {{"full_name": "Nia Ray", "email": "nia@example.com"}},
                        base_url="{url}")
    assert report.passed, report.error
'''


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(.*?)```", text.split("\n## Python API\n", 1)[1], re.DOTALL)
    assert found, "README: no example under ## Python API"
    return found.group(1)


def clean_env() -> dict[str, str]:
    """The environment without this tree on the path or webmem's settings: the venv's own webmem is run."""
    drop = ("PYTHONPATH", "WEBMEM_", "PYTEST_", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def sh(cmd: list[str], cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def site_size(venv: Path) -> int:
    site = next(venv.glob("lib/python*/site-packages"))
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())


def import_time(py: Path, module: str, runs: int = 5) -> float:
    """Best of `runs` fresh interpreters: seconds to import `module` (bytecode cached by a first import)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    sh([str(py), "-c", f"import {module}"])
    return min(float(sh([str(py), "-c", code]).stdout) for _ in range(runs))


def new_venv(where: Path) -> Path:
    sh([sys.executable, "-m", "venv", str(where)])
    return where / "bin" / "python"


def install(py: Path, requirement: str) -> float:
    start = time.perf_counter()
    sh([str(py), "-m", "pip", "install", "--quiet", requirement])
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="webmem-install-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    try:
        # built from a copy: setuptools leaves build/ and *.egg-info in the tree it builds
        source = work / "source"
        shutil.copytree(ROOT, source, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "out", "test-results", ".*_cache", "__pycache__"))
        sh([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(source)])
        wheel = next((work / "dist").glob("webmem-*.whl"))
        tops = sorted({n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if not n.endswith(".dist-info/")}
                      - {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" in n})
        rows.append(("wheel: top-level packages", ", ".join(tops)))

        new_venv(work / "bare")
        base = site_size(work / "bare")
        core = new_venv(work / "core")
        rows.append(("pip install webmem (s)", f"{install(core, str(wheel)):.0f}"))
        rows.append(("  installed size (MB, over a bare venv)", f"{(site_size(work / 'core') - base) / 1e6:.1f}"))
        rows.append(("  import webmem (ms)", f"{import_time(core, 'webmem') * 1000:.0f}"))
        rows.append(("  import webmem.cli.app (ms)", f"{import_time(core, 'webmem.cli.app') * 1000:.0f}"))
        with PortalServer() as portal:
            example = work / "example"
            example.mkdir(exist_ok=True)
            start = time.perf_counter()
            sh([str(core), "-c", readme_example().replace("http://127.0.0.1:8000", portal.url)], cwd=example)
            landed = [s["data"]["full_name"] for s in portal.submissions("customer")]
            assert landed == ["Ada Lovelace", "Bob"], landed
            rows.append(("  README example, as written (s)", f"{time.perf_counter() - start:.1f}"))

            seconds = install(core, f"webmem[pytest] @ {wheel.as_uri()}")
            rows.append(("pip install 'webmem[pytest]' (s)", f"{seconds:.0f}"))
            rows.append(("  installed size (MB)", f"{(site_size(work / 'core') - base) / 1e6:.1f}"))
            project = work / "pytest-project"
            project.mkdir(exist_ok=True)
            (project / "test_new.py").write_text(PYTEST_PROJECT.format(url=portal.url))
            shutil.copy(ROOT / "flows" / "create-customer.yaml", project)
            start = time.perf_counter()
            done = sh([str(core), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_new.py"], cwd=project)
            assert "2 passed" in done.stdout, done.stdout
            rows.append(("  new pytest project: 2 passed (s)", f"{time.perf_counter() - start:.1f}"))

        full = new_venv(work / "all")
        rows.append(("pip install 'webmem[all]' (s)", f"{install(full, f'webmem[all] @ {wheel.as_uri()}'):.0f}"))
        rows.append(("  installed size (MB, over a bare venv)", f"{(site_size(work / 'all') - base) / 1e6:.1f}"))
        rows.append(("  import webmem (ms)", f"{import_time(full, 'webmem') * 1000:.0f}"))
        rows.append(("  import webmem.cli.app (ms)", f"{import_time(full, 'webmem.cli.app') * 1000:.0f}"))
    finally:
        width = max((len(k) for k, _ in rows), default=0)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
