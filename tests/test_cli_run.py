"""`webmem run` end to end in its own process: exit codes, reports, secrets, origins, traces."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

from .conftest import FLOWS, listed_runs

SECRET = "demo-pass-123"


def test_run_passes_writes_report_and_never_leaks_the_secret(webmem_cli, portal, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    trace = tmp_path / "trace"
    done = webmem_cli("run", str(FLOWS / "sign-in.yaml"), "--base-url", portal.url, "--report", str(report),
                      "--trace", str(trace), env={"PORTAL_PASSWORD": SECRET})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed 4/4 steps" in done.stdout
    data = json.loads(report.read_text())
    assert data["status"] == "passed" and data["llm_calls"] == 0
    assert [s["status"] for s in data["steps"]] == ["ok", "ok", "ok", "ok"][: len(data["steps"])]
    assert all("duration_ms" in s and "selector" in s for s in data["steps"])
    [archive] = list(trace.iterdir())
    assert SECRET not in archive.name
    with zipfile.ZipFile(archive) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert b"demo-pass" not in blob and "«secret»".encode() in blob
    for text in (done.stdout, done.stderr, report.read_text(), (FLOWS / "sign-in.yaml").read_text()):
        assert SECRET not in text


def test_exit_codes(webmem_cli, portal, tmp_path: Path) -> None:
    missing = webmem_cli("run", str(FLOWS / "create-customer.yaml"), "--base-url", portal.url)
    assert missing.returncode == 2 and "missing required input(s): full_name, email" in missing.stderr
    typed = webmem_cli("run", str(FLOWS / "create-customer.yaml"), "-i", "full_name=A", "-i", "email=nope")
    assert typed.returncode == 2 and "'email': expected an e-mail address" in typed.stderr
    assert "Traceback" not in missing.stderr + typed.stderr
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = webmem_cli("run", str(FLOWS / "sign-in.yaml"), "--base-url", f"http://127.0.0.1:{closed}",
                      "--artifacts", str(tmp_path), env={"PORTAL_PASSWORD": SECRET})
    assert down.returncode == 1 and "step 1 (goto) failed" in down.stderr
    assert "ERR_CONNECTION_REFUSED" in down.stderr + down.stdout


def test_refuses_to_type_into_another_origin(webmem_cli, portal, tmp_path: Path) -> None:
    flow = (FLOWS / "sign-in.yaml").read_text().replace("goto: /login", f"goto: {portal.url}/login")
    path = tmp_path / "sign-in.yaml"
    path.write_text(flow)
    done = webmem_cli("run", str(path), env={"PORTAL_PASSWORD": SECRET})  # base_url is :8000, the page is not
    assert done.returncode == 1
    assert "refusing to leave the flow's origin" in done.stderr
    assert portal.submissions() == []


def test_every_run_counts_and_a_failed_run_says_which_step_broke(webmem_cli, portal, tmp_path: Path) -> None:
    """`webmem run` of a flow file counts in the track record of the store it lives in: `webmem list` shows each
    run. A failed run names the step that broke and how many passed before it (not "1/9 steps")."""
    store = tmp_path / "flows"
    (store / "forms").mkdir(parents=True)
    assert listed_runs(store) == {}  # (a store `webmem list` has seen: its flows in subfolders count in it)
    flow = store / "forms" / "create-customer.yaml"
    text = (FLOWS / "create-customer.yaml").read_text()
    flow.write_text(text)
    inputs = ["-i", "full_name=Ada Lovelace", "-i", "email=ada@example.com", "--base-url", portal.url,
              "--artifacts", str(tmp_path / "out")]
    passed = webmem_cli("run", str(flow), *inputs, cwd=tmp_path)
    assert passed.returncode == 0 and "passed 9/9 steps" in passed.stdout, passed.stdout + passed.stderr
    # step 2's target is gone from the page: the run breaks there, with healing off
    flow.write_text(text.replace('name="Full name"', 'name="Given name"').replace("label=Full name", "label=Given")
                    .replace("#full_name", "#given_name").replace('"full_name"]', '"given_name"]'))
    broke = webmem_cli("run", str(flow), *inputs, "--heal", "off", cwd=tmp_path)
    assert broke.returncode == 1
    assert "failed at step 2 of 9 (1 passed)" in broke.stderr, broke.stderr
    assert listed_runs(store) == {"forms/create-customer.yaml": ("2", "50%")}
