"""The README's Python section as written (the block under "## Python API", only the portal's address changed):
it launches the Chromium webmem finds (`webmem.launch`), demonstrates a task, saves it and replays it; then the
page changes and the saved flow is replayed healed, as the README's next lines describe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page

import webmem

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    """The first ```python block of the README's "## Python API" section, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the Python API section has an example"
    return found.group(1)


def test_the_readme_example_runs_as_written(page: Page, portal, tmp_path: Path) -> None:
    code = readme_example()
    assert "webmem.launch(p)" in code and "http://127.0.0.1:8000" in code
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBMEM_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:8000", portal.url)],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [s["data"]["full_name"] for s in portal.submissions("customer")] == ["Ada Lovelace", "Bob"]
    saved = tmp_path / "flows" / "create-customer.yaml"
    portal.set_variant("labels_reworded")  # the page changed since: the replay heals and writes the fix
    report = webmem.replay(page, saved, {"full_name": "Cy", "email": "cy@example.com"}, heal="local", write=True)
    assert report.passed, report.error
    assert report.healed_steps and report.flow_changed
    assert [s["data"]["full_name"] for s in portal.submissions("customer")][-1] == "Cy"
