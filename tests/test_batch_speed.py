"""What keeps a batch worker fast without dropping a check: a passed row's drifted page states are kept for the
next rows (real Chromium, the real portal), and only the commit point waits for the disk (real SQLite)."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page

from webmem.batch.enter import adopt, replay_row
from webmem.batch.journal import Outcome, open_journal
from webmem.browser.config import load_settings
from webmem.flow.flowfile import load_flow

from .batch_helpers import ROOT


def test_a_passed_row_teaches_the_next_rows_the_page_as_it_grew(page: Page, portal) -> None:
    """The contact list outgrows the size the flow learned: that row verifies every target the careful way;
    kept in memory, the drifted states let the next row take the fast path again. The flow file is untouched."""
    path = ROOT / "flows" / "add-contact.yaml"
    before = path.read_text(encoding="utf-8")
    flow = load_flow(path, round_trip=False).flow
    settings = load_settings()

    def row(i: int) -> list[str | None]:
        nonlocal flow
        values = {"name": f"Row {i}", "email": f"row{i}@example.com", "role": "editor"}
        report = replay_row(page, flow, values, settings, base_url=portal.url, heal="off", artifacts=None)
        assert report.passed, report.error
        flow = adopt(flow, report)
        return [s.page_match for s in report.steps if s.page]

    seen = [row(i) for i in range(8)]
    drifted = next(i for i, matches in enumerate(seen) if any("targets verified" in (m or "") for m in matches))
    assert drifted < 7, seen  # the list did outgrow the learned size within these rows
    assert set(seen[drifted + 1]) == {"exact"}, seen
    assert len(portal.submissions("contact")) == 8
    assert path.read_text(encoding="utf-8") == before


def test_only_the_commit_point_waits_for_the_disk(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "j.sqlite", "run")
    j.start_run("flow", "rows")
    j.add_rows([(1, "r1", {"name": "x"}, None)])
    statements: list[str] = []
    j.conn.set_trace_callback(statements.append)
    claim = j.claim("w", 30, verify=False)
    assert claim is not None
    assert not any("synchronous" in s for s in statements)  # a lost claim leaves the row pending
    statements.clear()
    j.committing(claim.key, "w")
    assert statements[0] == "PRAGMA synchronous=FULL" and statements[1] == "BEGIN IMMEDIATE"
    assert statements[-2:] == ["COMMIT", "PRAGMA synchronous=NORMAL"]
    statements.clear()
    j.finish(claim.key, "w", "done")
    assert not any("synchronous" in s for s in statements)  # a lost 'done' leaves it committing: verified
    assert j.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    assert j.counts()["done"] == 1
    j.close()


def test_a_claim_records_the_last_rows_outcome_in_its_own_transaction(tmp_path: Path) -> None:
    """A worker writes a row's outcome with its next claim: one write lock per row fewer, the same rows."""
    j = open_journal(tmp_path / "j.sqlite", "run")
    j.start_run("flow", "rows")
    j.add_rows([(1, "r1", {"name": "x"}, None), (2, "r2", {"name": "y"}, None)])
    first = j.claim("w", 30, verify=False)
    assert first is not None
    j.committing(first.key, "w")
    before = time.time()
    statements: list[str] = []
    j.conn.set_trace_callback(statements.append)
    second = j.claim("w", 30, verify=False, outcome=Outcome(first.key, "done", evidence={"ms": 1.0}))
    assert second is not None and second.key == "r2"
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1
    done = {r["key"]: r for r in j.rows()}
    assert done["r1"]["status"] == "done" and done["r1"]["finished"] >= before
    assert done["r1"]["evidence"] == {"ms": 1.0} and done["r2"]["status"] == "running"
    # the last claim finds no row and still records the outcome; a retry goes back to pending with its backoff
    assert j.claim("w", 30, verify=False, outcome=Outcome("r2", "failed", error="boom", retry_after=60)) is None
    r2 = next(r for r in j.rows() if r["key"] == "r2")
    assert r2["status"] == "pending" and r2["error"] == "boom"
    assert j.remaining(verify=False) == 1
    j.close()
