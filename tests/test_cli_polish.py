"""The command line's finish, no browser: --version, choices, suggestions, output to a pipe, validate's words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import FLOWS, ROOT


def _cli(*args: str, cwd: Path = ROOT, **more: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # as a pipe sees it: no width given
    return subprocess.run([sys.executable, "-m", "webmem.cli", *args], cwd=cwd,
                          env={**env, "NO_COLOR": "1", **more}, capture_output=True, text=True, timeout=60)


def test_version_choices_suggestions_pipes_and_validate_words(tmp_path: Path) -> None:
    version = _cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("webmem ") and "unknown" not in version.stdout
    assert "--install-completion" in _cli("--help").stdout
    # shell completion answers as bash asks it (the console script, as a shell would call it)
    script = Path(sys.executable).with_name("webmem")
    env = {**os.environ, "_WEBMEM_COMPLETE": "complete_bash", "COMP_WORDS": "webmem run --he", "COMP_CWORD": "2"}
    completed = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert completed.stdout.split() == ["--heal", "--headed", "--help"], completed.stdout + completed.stderr
    transport = _cli("mcp", "--transport", "pigeon")
    assert transport.returncode == 2 and "'pigeon' is not one of" in transport.stderr and "'stdio'" in transport.stderr
    do = _cli("do", "localhost:8123/customers/new", "--task", "x")
    assert do.returncode == 2 and "did you mean http://localhost:8123/customers/new ?" in do.stderr
    # a pipe gets whole lines: a long path is never broken at 80 columns
    long = tmp_path / ("a-folder-with-a-rather-long-name-" * 3) / "create-customer.yaml"
    long.parent.mkdir()
    long.write_text((FLOWS / "create-customer.yaml").read_text())
    valid = _cli("validate", str(long))
    assert valid.returncode == 0 and f"✓ {long}: create-customer, 9 steps" in valid.stdout.splitlines()
    text = long.read_text()
    long.write_text(text.replace("  - fill:", "  - fil:", 1).replace("css=#email", "css=#email[")
                    .replace("name: create-customer", "nmae: create-customer"))
    bad = _cli("validate", str(long))
    assert bad.returncode == 2
    lines = bad.stderr.splitlines()
    assert f"✗ {long}: invalid flow file" in lines
    assert "  - step 2: unknown action 'fil' (did you mean fill?) (a step's action is one of: goto, click, fill, " \
           "select, check, uncheck, upload, press, wait_for, extract, expect, repeat)" in lines
    assert "  - nmae: unknown field (did you mean name?)" in lines
    assert any("bad CSS selector 'css=#email['" in line for line in lines)
    assert "Extra inputs" not in bad.stderr and "Field required" not in bad.stderr
    # a script to import that is no Python is said before a browser starts (here none could: that would be said)
    script = tmp_path / "test_broken.py"
    script.write_text('def test_x(page):\n    page.goto("http://127.0.0.1:9/"\n')
    broken = _cli("import", str(script), "-o", str(tmp_path / "broken.yaml"),
                  WEBMEM_BROWSER=str(tmp_path / "no-such-browser"))
    assert broken.returncode == 2 and broken.stderr.strip() == \
        f"error: {script}: line 2: not Python: '(' was never closed", broken.stderr


def test_help_names_values_in_words_and_show_keeps_selectors_whole_on_a_narrow_terminal() -> None:
    from typer.main import get_command
    from typer.testing import CliRunner

    from webmem.cli.app import app

    runner, group = CliRunner(), get_command(app)
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}, prog_name="webmem")
    assert top.exit_code == 0 and "Usage: webmem [OPTIONS] COMMAND [ARGS]..." in top.output
    # each command listed by its first sentence, on one line
    assert "│ run       Replay a flow with no model in the loop." + " " in top.output
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        shown = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"}, prog_name="webmem").output
        assert not re.search(r"<\w[^>]*>|\{\w+\}", shown), (name, shown)  # no <bool>, <list[str]>, {flow}
        help_row = next(line for line in shown.splitlines() if "--help" in line)
        assert re.fullmatch(r"│ +--help +Show this message and exit\. +│", help_row), help_row  # a flag: no value
    run = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}, prog_name="webmem").output
    assert "Usage: webmem run [OPTIONS] FLOW" in run
    assert re.search(r"--input +-i +TEXT ", run) and re.search(r"--heal +\[off\|local\|llm\] ", run)
    assert re.search(r"--write +rewrite", run)
    # `show` on a 60-column terminal: a selector or a default folds onto the next line, never cut to `…`
    shown = _cli("show", str(FLOWS / "create-customer.yaml"), TTY_COMPATIBLE="1", COLUMNS="60")
    text = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)
    assert shown.returncode == 0 and "…" not in text, text
    cells = "".join(line.split("│")[3].strip() for line in text.splitlines() if line.count("│") == 6)
    assert 'role=textbox[name="Fullname"]' in cells.replace(" ", ""), cells  # folded: its pieces join up
