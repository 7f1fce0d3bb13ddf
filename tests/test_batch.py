"""`webmem batch` against the real portal and real Chromium: every row lands exactly once under faults."""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from webmem.demo_site.server import PortalServer

from .batch_helpers import contact_flow, contact_rows, kill_group, landed, outcomes, run_batch, start_batch, write_csv
from .conftest import listed_runs


def _status(journal: Path) -> dict[str, str]:
    db = sqlite3.connect(journal)
    try:
        return dict(db.execute("SELECT key, status FROM batch_rows").fetchall())
    except sqlite3.OperationalError:  # created a moment ago, no table yet
        return {}
    finally:
        db.close()


def test_faults_and_bad_rows(tmp_path: Path, portal: PortalServer) -> None:
    """500 before storing, 500 after storing, a hanging submit and a bad row; two workers."""
    flow = contact_flow(tmp_path)
    rows = contact_rows(5)
    rows[3]["email"] = ""  # p4: missing a required value
    write_csv(tmp_path / "rows.csv", rows)
    portal.set_faults([{"match": "p2@", "mode": "error"}, {"match": "p3@", "mode": "landed"},
                       {"match": "p5@", "mode": "hang", "seconds": 6}])
    r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, "--workers", "2", timeout=150)
    assert r.returncode == 2, r.stdout + r.stderr  # bad input, yet the good rows went on
    assert "row 4 (p4): missing required input(s): email" in r.stderr
    assert landed(portal) == {f"p{i}@example.com": 1 for i in (1, 2, 3, 5)}
    out = outcomes(tmp_path / "rows.outcomes.csv")
    assert {k: v["status"] for k, v in out.items()} == {"p1": "done", "p2": "done", "p3": "done",
                                                        "p4": "invalid", "p5": "done"}
    assert out["p2"]["attempts"] == "2" and out["p3"]["attempts"] == "1"  # p3 landed: verified, not re-entered
    st = run_batch(tmp_path, "--status", "rows.journal.sqlite", timeout=60)
    assert st.returncode == 0 and "4 done" in st.stdout and "row 4 (p4) invalid" in st.stdout


def test_without_verify_a_cut_short_commit_is_left_for_a_person(tmp_path: Path, portal: PortalServer) -> None:
    flow = contact_flow(tmp_path, verify=False)
    write_csv(tmp_path / "rows.csv", contact_rows(2))
    portal.set_faults([{"match": "p2@", "mode": "error"}])
    r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 done, 0 failed, 1 uncertain" in r.stdout
    assert landed(portal) == {"p1@example.com": 1}  # never blindly entered again
    st = run_batch(tmp_path, "--status", "rows.journal.sqlite", timeout=60)
    assert "row 2 (p2) uncertain" in st.stdout and "commit step" in st.stdout
    again = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, timeout=60)
    assert again.returncode == 2 and "--resume" in again.stderr
    # every row's run counts in the flow's track record (its folder is its store), the refused one not
    assert listed_runs(tmp_path) == {"add-contact.yaml": ("2", "50%")}


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_then_resume(tmp_path: Path, portal: PortalServer, seed: int) -> None:
    flow = contact_flow(tmp_path)
    write_csv(tmp_path / "rows.csv", contact_rows(6))
    args = (str(flow), "rows.csv", "--base-url", portal.url, "--workers", "2")
    proc = start_batch(tmp_path, *args)
    journal = tmp_path / "rows.journal.sqlite"
    # kill at a random moment once work has begun (browsers take a while to start on a busy machine)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (journal.exists() and
                                               set(_status(journal).values()) - {"pending"}):
        time.sleep(0.1)
    time.sleep(random.Random(seed).uniform(0.0, 3.0))
    kill_group(proc)
    r = run_batch(tmp_path, *args, "--resume", timeout=150)
    assert r.returncode == 0, r.stdout + r.stderr
    assert landed(portal) == {f"p{i}@example.com": 1 for i in range(1, 7)}
    assert set(_status(journal).values()) == {"done"}


def _renderer(p: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return "--type=renderer" in p.cmdline()
    return False


@pytest.mark.parametrize("what", ["browser", "tab"])
def test_browser_killed_mid_row(tmp_path: Path, portal: PortalServer, what: str) -> None:
    """The whole browser killed, or only its tabs' renderer processes (a crashed tab: the browser lives on). The
    kill may come before the Save went out, so a later attempt can hang in its commit step: the row after it
    (the verify) starts on a fresh page, not on one still waiting for the answer."""
    flow = contact_flow(tmp_path)
    write_csv(tmp_path / "rows.csv", contact_rows(3))
    portal.set_faults([{"match": "p2@", "mode": "hang", "seconds": 5}])
    proc = start_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url)
    journal = tmp_path / "rows.journal.sqlite"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (journal.exists() and _status(journal).get("p2") == "committing"):
            time.sleep(0.05)
        assert _status(journal).get("p2") == "committing"
        browsers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "chrom" in p.name().lower()]
        if what == "tab":
            browsers = [p for p in browsers if _renderer(p)]
        assert browsers
        for p in browsers:
            with contextlib.suppress(psutil.NoSuchProcess):  # gone with its parent
                p.kill()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert proc.returncode == 0, stdout + stderr
    assert landed(portal) == {f"p{i}@example.com": 1 for i in range(1, 4)}
    assert outcomes(tmp_path / "rows.outcomes.csv")["p2"]["status"] == "done"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no {prefix!r} line from {proc.args}")


@pytest.mark.parametrize("mode", ["cdp", "connect"])
def test_remote_browsers(tmp_path: Path, portal: PortalServer, mode: str) -> None:
    """--cdp: a Chromium started with --remote-debugging-port; --connect: `playwright launch-server`."""
    from webmem.browser import launch as browsers
    from webmem.browser.config import load_settings

    exe = browsers.find_browser(load_settings()) or "chromium"
    if mode == "cdp":
        port = _free_port()
        remote = subprocess.Popen(
            [exe, "--headless=new", f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={tmp_path / 'profile'}", *browsers.OFFLINE_ARGS,
             *(["--no-sandbox"] if os.geteuid() == 0 else []), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(endpoint + "/json/version", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
    else:
        cfg = tmp_path / "server.json"
        cfg.write_text(json.dumps({"executablePath": exe, "headless": True, "host": "127.0.0.1", "port": 0,
                                   "args": ["--no-sandbox"] if os.geteuid() == 0 else []}))
        remote = subprocess.Popen([sys.executable, "-m", "playwright", "launch-server", "--browser", "chromium",
                                   "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, start_new_session=True)
        endpoint = _wait_line(remote, "ws://")
    try:
        flow = contact_flow(tmp_path)
        write_csv(tmp_path / "rows.csv", contact_rows(2))
        r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, f"--{mode}", endpoint,
                      timeout=120)
    finally:
        kill_group(remote)  # the launcher and the browser (or node driver) it started
    assert r.returncode == 0, r.stdout + r.stderr
    assert landed(portal) == {"p1@example.com": 1, "p2@example.com": 1}


def test_secrets_come_from_the_environment_and_are_never_written(tmp_path: Path, portal: PortalServer) -> None:
    flow = contact_flow(tmp_path)
    flow.write_text(flow.read_text(encoding="utf-8").replace(
        "inputs:\n  name: {}\n", "inputs:\n  name:\n    secret: true\n    env: CONTACT_NAME\n", 1), encoding="utf-8")
    rows = [{k: v for k, v in r.items() if k != "name"} for r in contact_rows(2)]
    write_csv(tmp_path / "rows.csv", rows)
    secret = "Zed Hiddenname"
    r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, timeout=120,
                  extra_env={"CONTACT_NAME": secret})
    assert r.returncode == 0, r.stdout + r.stderr
    assert [s["data"]["name"] for s in portal.submissions("contact")] == [secret, secret]
    out = (tmp_path / "rows.outcomes.csv").read_text(encoding="utf-8")
    assert "«secret»" in out
    for written in (out, r.stdout, r.stderr, *(p.read_bytes().decode("utf-8", "replace")
                                               for p in tmp_path.glob("rows.journal.sqlite*"))):
        assert secret not in written
