"""`webmem batch --journal postgresql://…` against a real PostgreSQL server started on 127.0.0.1: workers
in separate processes (as on separate machines) share a run; a killed one's rows come back by lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fixtures_site.server import PortalServer

from .batch_helpers import contact_flow, contact_rows, kill_group, landed, run_batch, start_batch, write_csv
from .pg_server import PostgresServer


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer()  # fails loudly (never skips) if PostgreSQL is not installed
    try:
        yield server
    finally:
        server.stop()


def _statuses(url: str, run: str) -> dict[str, str]:
    with psycopg.connect(url) as db:
        try:
            return dict(db.execute("SELECT key, status FROM batch_rows WHERE run = %s", (run,)).fetchall())
        except psycopg.errors.UndefinedTable:
            return {}


def test_two_machines_race_and_one_dies_holding_leases(tmp_path: Path, portal: PortalServer,
                                                       pg: PostgresServer) -> None:
    flow = contact_flow(tmp_path)
    write_csv(tmp_path / "rows.csv", contact_rows(6))
    args = (str(flow), "rows.csv", "--base-url", portal.url, "--journal", pg.url, "--run", "race",
            "--lease", "3", "--resume")
    # a hang keeps machine A inside a row's commit step while it is killed
    portal.set_faults([{"match": "p1@", "mode": "hang", "seconds": 4}])
    a = start_batch(tmp_path, *args)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "committing" not in _statuses(pg.url, "race").values():
            time.sleep(0.05)
        assert "committing" in _statuses(pg.url, "race").values()
        b = start_batch(tmp_path, *args, "--out", "b.csv")  # a second machine joins the run
        time.sleep(1.0)
    finally:
        kill_group(a)  # dies with its leases held
    try:
        stdout, stderr = b.communicate(timeout=150)
    finally:
        if b.poll() is None:
            kill_group(b)
    assert b.returncode == 0, stdout + stderr
    assert landed(portal) == {f"p{i}@example.com": 1 for i in range(1, 7)}
    assert set(_statuses(pg.url, "race").values()) == {"done"}
    st = run_batch(tmp_path, "--status", pg.url, "--run", "race", timeout=60)
    assert st.returncode == 0 and "6 done" in st.stdout


def test_only_the_commit_point_waits_for_the_servers_disk(pg: PostgresServer) -> None:
    from webmem.batch.journal import open_journal

    j = open_journal(pg.url, "durability")
    try:
        assert j.execute("SHOW synchronous_commit").fetchone()[0] == "off"  # claims, finishes, heartbeats
        with j.durable_transaction():
            assert j.execute("SHOW synchronous_commit").fetchone()[0] == "on"  # the commit point
        assert j.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    finally:
        j.close()
