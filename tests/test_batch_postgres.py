"""`webmem batch --journal postgresql://…` against a real PostgreSQL server started on 127.0.0.1: workers
in separate processes (as on separate machines) share a run; a killed one's rows come back by lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from webmem.demo_site.server import PortalServer

from .batch_helpers import (
    FAST_CONFIG,
    contact_flow,
    contact_rows,
    kill_group,
    landed,
    run_batch,
    start_batch,
    write_csv,
)
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


PG_SECRET = "Pg-S3cret"  # the server trusts 127.0.0.1, so any password connects: what matters is where it shows


def test_no_printed_dsn_or_libpq_error_shows_its_password(tmp_path: Path, pg: PostgresServer) -> None:
    from webmem.batch.journal import open_journal

    in_userinfo = pg.url.replace("webmem@", f"webmem:{PG_SECRET}@")
    in_query = f"{pg.url}?password={PG_SECRET}"
    j = open_journal(in_userinfo, "taken")
    j.start_run("f.yaml", "rows.csv")
    j.close()
    flow = contact_flow(tmp_path)
    write_csv(tmp_path / "rows.csv", contact_rows(1))
    said = []
    for args, says in [
        ((str(flow), "rows.csv", "--journal", in_userinfo, "--run", "taken"), "is already journaled"),
        (("--status", in_query, "--run", "nosuch"), "no run named 'nosuch'"),
        (("--status", in_userinfo.replace("@", "%zz@")), "cannot connect to the journal database"),  # libpq's parse
        (("--status", f"host=127.0.0.1 port={pg.port} password={PG_SECRET}"), "no such journal"),
    ]:
        proc = run_batch(tmp_path, *args, timeout=60)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2 and says in text and "***" in text, text
        said.append(text)
    assert not [t for t in said if PG_SECRET.lower() in t.lower()], said


GET_SIGN_IN = """<title>sign in</title><form method=get action=/got>
<input id=q name=q aria-label=Query><input id=pw name=pw type=password aria-label=Password>
<button id=go>Go</button></form>"""


def test_a_get_sign_in_leaves_its_secret_in_no_journal_row_outcome_or_summary(tmp_path: Path, hostile,
                                                                             pg: PostgresServer) -> None:
    secret = "hz-S3cret~x"
    hostile.pages["/"] = GET_SIGN_IN
    hostile.pages["/got"] = "<title>got</title><p>thanks</p>"
    flow = tmp_path / "get.yaml"
    flow.write_text(f"webmem: 1\nname: get-sign-in\ntask: sign in\nbase_url: {hostile.url}\n"
                    "inputs:\n  q: {type: string}\n  pw: {secret: true, env: HZ_PW}\nsteps:\n  - goto: /\n"
                    "  - fill: {target: {intent: the query, selectors: ['css=#q']}, value: '{{ q }}'}\n"
                    "  - fill: {target: {intent: the password, selectors: ['css=#pw']}, value: '{{ pw }}'}\n"
                    "  - click: {target: {intent: go, selectors: ['css=#go']}}\n    expect: {text: thanks}\n",
                    encoding="utf-8")
    (tmp_path / "webmem.json").write_text(FAST_CONFIG, encoding="utf-8")
    write_csv(tmp_path / "rows.csv", [{"id": "r1", "q": "zebra"}])
    journal = f"{pg.url}?password={PG_SECRET}"
    proc = run_batch(tmp_path, str(flow), "rows.csv", "--journal", journal, "--run", "get", "--out", "out.csv",
                     extra_env={"HZ_PW": secret})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any("hz-S3cret" in path for _, path, _ in hostile.requests)  # the form did put it in the URL
    assert f"journal: {pg.url}?password=***" in proc.stdout, proc.stdout
    with psycopg.connect(pg.url) as db:
        stored = db.execute("SELECT evidence, error FROM batch_rows WHERE run = 'get'").fetchall()
    assert "/got?q=zebra&pw=" in str(stored), stored  # the evidence keeps the URL, its secret masked
    written = str(stored) + (tmp_path / "out.csv").read_text() + proc.stdout + proc.stderr
    for leak in (secret, "S3cret", PG_SECRET):
        assert leak.lower() not in written.lower(), written
