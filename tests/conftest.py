"""Shared fixtures: the demo portal on a free 127.0.0.1 port (one per test session, per xdist worker),
reset to its baseline variant for every test, and a helper to run the real `webmem` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from webmem.demo_site.server import PortalServer
from webmem.page import inpage

from .hostile_site import HostileSite
from .openai_server import ScriptedOpenAI
from .portals.crm import CrmServer
from .portals.flask_admin_app import AdminPortalServer

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"


@pytest.fixture(scope="session")
def portal_server() -> Iterator[PortalServer]:
    with PortalServer() as server:
        yield server


@pytest.fixture
def portal(portal_server: PortalServer) -> Iterator[PortalServer]:
    portal_server.set_variant("baseline")
    portal_server.reset()
    yield portal_server
    portal_server.set_variant("baseline")


@pytest.fixture(scope="session")
def crm() -> Iterator[CrmServer]:
    """Our own data-entry portal (sign-in with next= and CSRF, expiring sessions, customers, invoices with
    inline lines). Shared by the session: tests tell their records apart by their own values (or reset())."""
    with CrmServer() as server:
        yield server


@pytest.fixture(scope="session")
def admin_portal() -> Iterator[AdminPortalServer]:
    """Flask-Admin (PyPI) over SQLite behind a login wall; judged by its database. Shared like `crm`."""
    with AdminPortalServer() as server:
        yield server


@pytest.fixture(scope="session")
def llm_server() -> Iterator[ScriptedOpenAI]:
    """The scripted OpenAI-compatible server the real `openai` client talks to in tests."""
    with ScriptedOpenAI() as server:
        yield server


@pytest.fixture
def llm(llm_server: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch) -> ScriptedOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    llm_server.load()
    llm_server.latency = 0.0
    return llm_server


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    inpage.install(context)
    return context


def run_webmem(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in its own process (the sync Playwright API cannot nest in one thread)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "webmem.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def webmem_cli():
    return run_webmem


def listed_runs(store: Path) -> dict[str, tuple[str, str]]:
    """What `webmem list --store STORE` shows (run in this process, no browser): flow -> (runs, success)."""
    from typer.testing import CliRunner

    from webmem.cli.app import app

    done = CliRunner().invoke(app, ["list", "--store", str(store)])
    assert done.exit_code == 0, done.output
    rows = {}
    for line in done.output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 9 and cells[1].endswith(".yaml"):
            rows[cells[1]] = (cells[4], cells[5])
    return rows


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    """A tiny site on 127.0.0.1 serving whatever pages the test sets (for the red-team tests)."""
    with HostileSite() as site:
        yield site
