"""A batch run: check every row, journal the good ones, start the workers, watch them, write outcomes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from webmem.batch.check import check_row
from webmem.batch.journal import Journal, is_url, mask_dsn, open_journal
from webmem.batch.rows import Row, read_rows, with_children
from webmem.batch.worker import WORKER_ENV, WorkerConfig, WorkerOptions
from webmem.browser.launch import find_browser
from webmem.errors import Drifted, InputError, JournalError
from webmem.flow.flowfile import load_flow
from webmem.flow.inputs import REDACTED
from webmem.playback.signin import SignIn
from webmem.steps.upload import check_uploads

OUTCOME_COLUMNS = ["id", "row", "status", "attempts", "error", "values", "screenshot", "duration_ms"]
SHOW_BAD = 50  # bad rows named one by one; past that, counted


class BatchOptions(WorkerOptions):
    """A batch run: the rows, the journal and the outcomes, and how its workers enter rows (`WorkerOptions`)."""

    flow: Path
    rows: Path
    journal: str | None = None
    resume: bool = False
    out: Path | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    fail_fast: bool = False
    run: str | None = None
    children: dict[str, Path] = Field(default_factory=dict)  # list input -> a file of its child rows
    parent_key: str = "parent"  # ...and the column of a child row that holds its parent row's id

    def out_path(self) -> Path:
        return self.out or self.rows.with_name(self.rows.name.split(".")[0] + ".outcomes.csv")

    def journal_where(self) -> str:
        if self.journal:
            return self.journal
        out = self.out_path()
        return str(out.with_name(out.name.removesuffix(".csv").removesuffix(".outcomes") + ".journal.sqlite"))


@dataclass
class BadRow:
    n: int
    key: str
    error: str


@dataclass
class BatchResult:
    counts: dict[str, int]
    bad: list[BadRow]
    bad_total: int
    out: Path
    journal: str
    seconds: float
    drifted: int = 0  # rows that landed but healed or drifted, with --fail-on-heal / --fail-on-drift

    @property
    def exit_code(self) -> int:
        if self.bad_total:
            return 2
        if self.counts["failed"] or self.counts["uncertain"] or self.counts["pending"]:
            return 1
        return Drifted.exit_code if self.drifted else 0


def parse_rate(text: str | None) -> float | None:
    """`30/min`, `2/s`, `100/h` or a bare number (per minute)."""
    if not text:
        return None
    amount, _, unit = text.strip().partition("/")
    per = {"": 1.0, "m": 1.0, "min": 1.0, "s": 1 / 60, "sec": 1 / 60, "h": 60.0, "hour": 60.0}.get(unit.strip())
    try:
        value = float(amount)
    except ValueError:
        value = -1.0
    if per is None or value <= 0:
        raise InputError(f"--rate {text!r}: expected rows per time, e.g. 30/min, 2/s or 500/h")
    return value / per


def default_run_name(opts: BatchOptions, flow_name: str) -> str:
    return opts.run or f"{flow_name}:{opts.rows.name}"


def prepare(opts: BatchOptions) -> tuple[Journal, list[BadRow], int]:
    """Check the flow and every row (no browser yet) and journal them. Raises InputError on bad input
    as a whole (unreadable file, --fail-fast on a bad row, no good rows, a run that exists without
    --resume)."""
    flow = load_flow(opts.flow, round_trip=False).flow
    settings = opts.settings()
    check_uploads(flow, settings.files_dir)  # a path the flow wrote: before any row
    if not (opts.connect or opts.cdp):
        find_browser(settings)  # a browser that is not there is said once, with where its path came from
    if opts.sign_in is not None:
        SignIn.load(opts.sign_in)  # a sign-in flow that cannot run (a secret not set) is said before any row
    run = default_run_name(opts, flow.name)
    journal = open_journal(opts.journal_where(), run)
    created = journal.start_run(str(opts.flow), str(opts.rows))
    if not created and not opts.resume:
        journal.close()
        raise InputError(f"{mask_dsn(opts.journal_where())}: run {run!r} is already journaled; "
                         "pass --resume to continue it")
    bad: list[BadRow] = []
    bad_total = 0
    env = dict(os.environ)
    unknown_cols: set[str] = set()

    def checked(rows: Iterator[Row]) -> Iterator[tuple[int, str, dict[str, Any] | None, str | None]]:
        nonlocal bad_total
        for row in rows:
            try:
                yield row.n, row.key, check_row(flow, row, opts.mapping, env), None
            except InputError as exc:
                bad_total += 1
                message = f"row {row.n} ({row.key}): {exc}"
                if opts.fail_fast:
                    raise InputError(f"{opts.rows}: {message}") from None
                if len(bad) < SHOW_BAD:
                    bad.append(BadRow(row.n, row.key, str(exc)))
                unknown_cols.update(c for c in row.values if opts.mapping.get(c, c) not in flow.inputs)
                yield row.n, row.key, None, str(exc)

    try:
        rows = read_rows(opts.rows)
        if opts.children:  # a pass over the parents' ids first: a child row with no parent stops the batch here
            rows = with_children(rows, opts.children, opts.parent_key, {r.key for r in read_rows(opts.rows)})
        for n, key, other in journal.add_rows(checked(rows), fresh=created):
            bad_total += 1
            if opts.fail_fast:
                raise InputError(f"{opts.rows}: row {n}: duplicate id {key!r} (row {other} has it)")
            if len(bad) < SHOW_BAD:
                bad.append(BadRow(n, key, f"duplicate id {key!r} (row {other} has it): not entered"))
        counts = journal.counts()
        if counts["invalid"] == sum(counts.values()):
            cols = ", ".join(sorted(unknown_cols))
            hint = f" (columns the flow does not take: {cols}; --map col=input renames)" if cols else ""
            first = f"; first: row {bad[0].n}: {bad[0].error}" if bad else ""
            raise InputError(f"{opts.rows}: no row fits the flow's inputs{hint}{first}")
    except BaseException:
        if created:
            journal.drop_run()  # nothing ran: fixing the file and running again starts afresh
        journal.close()
        raise
    return journal, bad, bad_total


def run_batch(opts: BatchOptions, on_rows: Callable[[list[dict[str, Any]], dict[str, int]], None] | None = None,
              ) -> BatchResult:
    started = time.monotonic()
    journal, bad, bad_total = prepare(opts)
    try:
        journal.recover()
        flow_name = load_flow(opts.flow, round_trip=False).flow.name
        cfg = WorkerConfig(
            **opts.model_dump(include=set(WorkerOptions.model_fields)),
            flow=str(opts.flow), journal=opts.journal_where(), run=default_run_name(opts, flow_name), index=0)
        # a fresh interpreter per worker (not fork, not multiprocessing's re-import of the caller's main
        # module): each starts its own Playwright
        procs = [subprocess.Popen([sys.executable, "-m", "webmem.batch.worker"],
                                  env={**os.environ,
                                       WORKER_ENV: cfg.model_copy(update={"index": i}).model_dump_json()})
                 for i in range(max(1, opts.workers))]
        since = 0.0
        while True:
            alive = any(p.poll() is None for p in procs)
            fresh = list(journal.rows(statuses=("done", "failed", "uncertain"), since=since))
            if fresh:
                since = max(r["finished"] for r in fresh)
            if on_rows is not None:
                on_rows(fresh, journal.counts())
            if not alive:
                break
            time.sleep(0.25)
        journal.recover()  # rows of a worker that died are left in a state that says so
        counts = journal.counts()
        crashed = [p for p in procs if p.returncode not in (0, None)]
        if crashed and counts["pending"] + counts["running"] + counts["committing"] + counts["verifying"]:
            raise JournalError(f"{len(crashed)} worker(s) stopped (exit {crashed[0].returncode}) with rows left; "
                               "run again with --resume")
        out = opts.out_path()
        flow = load_flow(opts.flow, round_trip=False).flow
        write_outcomes(journal, out, [k for k, spec in flow.inputs.items() if spec.secret])
        drifted = sum(1 for r in journal.rows(statuses=("done",)) if (r["evidence"] or {}).get("drifted"))
        return BatchResult(counts, bad, bad_total, out, journal.where, time.monotonic() - started, drifted)
    finally:
        journal.close()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs: text that starts like a formula (`=HYPERLINK(...)`,
    `=cmd|...`, `@SUM`, `+1+1`, a leading tab or CR) gets a leading single quote (OWASP, CSV injection).
    The key, error and inputs columns come from data files and pages; numbers webmem computed stay numbers."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def write_outcomes(journal: Journal, path: Path, secret_inputs: list[str] | None = None) -> None:
    """One line per row, streamed to a temp file and renamed (a reader never sees half a file). Secret
    inputs are never journaled; they are shown masked."""
    masked = dict.fromkeys(secret_inputs or [], REDACTED)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(OUTCOME_COLUMNS)
            for r in journal.rows():
                w.writerow([spreadsheet_safe(cell) for cell in (
                    r["key"], r["n"], r["status"], r["attempts"], r["error"] or "",
                    json.dumps(r["inputs"] | masked, ensure_ascii=False), r["screenshot"] or "",
                    round(r["duration_ms"], 1) if r["duration_ms"] is not None else "")])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def status(where: str, run: str | None) -> list[tuple[str, dict[str, int], list[dict[str, Any]]]]:
    """Each run in a journal (or the one named): its counts and the rows that need a person."""
    shown = mask_dsn(where)
    if not is_url(where) and not Path(where).is_file():
        raise InputError(f"{shown}: no such journal")
    probe = open_journal(where, run or "")
    try:
        runs = [run] if run else probe.runs()
    finally:
        probe.close()
    if not runs:
        raise InputError(f"{shown}: no batch run in this journal")
    out = []
    for name in runs:
        j = open_journal(where, name)
        try:
            if j.run_info() is None:
                raise InputError(f"{shown}: no run named {name!r} (runs: {', '.join(j.runs()) or 'none'})")
            out.append((name, j.counts(), list(j.rows(statuses=("failed", "uncertain", "invalid")))))
        finally:
            j.close()
    return out
