"""Helpers for the batch tests: a contact flow with a `verify:` block, row files, and the portal's view."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from webmem.demo_site.server import PortalServer

ROOT = Path(__file__).resolve().parent.parent
VERIFY = """
verify:
  steps:
    - goto: /contacts
    - expect:
        text: '{{ email }}'
"""
FAST_CONFIG = '{"timeouts": {"action": 2500, "navigation": 6000, "settle": 2000}}'


def contact_flow(folder: Path, verify: bool = True) -> Path:
    text = (ROOT / "flows" / "add-contact.yaml").read_text(encoding="utf-8")
    path = folder / "add-contact.yaml"
    path.write_text(text + (VERIFY if verify else ""), encoding="utf-8")
    (folder / "webmem.json").write_text(FAST_CONFIG, encoding="utf-8")
    return path


def contact_rows(n: int, prefix: str = "p") -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "name": f"Person {prefix}{i}", "email": f"{prefix}{i}@example.com",
             "role": "editor"} for i in range(1, n + 1)]


def write_csv(path: Path, rows: list[dict[str, Any]], delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


def landed(portal: PortalServer) -> dict[str, int]:
    """How many times each e-mail address was entered, per the portal's own records."""
    counts: dict[str, int] = {}
    for sub in portal.submissions("contact"):
        email = sub["data"]["email"]
        counts[email] = counts.get(email, 0) + 1
    return counts


def outcomes(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def batch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "webmem.cli", "batch", *args]


def env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def run_batch(cwd: Path, *args: str, timeout: float = 120,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(batch_cmd(*args), cwd=cwd, env={**env(), **(extra_env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def start_batch(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """In its own process group, so a test can kill it with its workers and browsers (a crashed machine)."""
    return subprocess.Popen(batch_cmd(*args), cwd=cwd, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
