"""`webmem run` end to end in its own process: exit codes, reports, secrets, origins, traces."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

from .conftest import FLOWS

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
