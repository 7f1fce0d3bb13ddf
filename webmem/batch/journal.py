"""The run journal: per row pending -> running -> committing -> done / failed / uncertain, with attempts,
the error, timings and page evidence. SQLite (WAL) on one machine, PostgreSQL to share a run between
machines. Workers claim rows from it, so it is also what hands out the work.

Exactly-once rules live here: a row abandoned while `running` (before its commit point) goes back to
pending; a row abandoned while `committing` becomes `uncertain` (it may have landed) and is only ever
re-entered after the flow's `verify:` proved it did not land.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from webmem.errors import JournalError
from webmem.extras import require
from webmem.sqlitetx import immediate

ACTIVE = ("running", "committing", "verifying")
FINAL = ("done", "failed", "uncertain", "invalid")
STATUSES = ("pending", *ACTIVE, *FINAL)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_runs (
    run TEXT PRIMARY KEY, flow TEXT NOT NULL, rows_file TEXT NOT NULL, created DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_rows (
    run TEXT NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    worker TEXT,
    lease_until DOUBLE PRECISION,
    not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
    started DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    duration_ms DOUBLE PRECISION,
    evidence TEXT,
    screenshot TEXT,
    checked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, key)
);
CREATE INDEX IF NOT EXISTS batch_rows_status ON batch_rows (run, status, n);
CREATE INDEX IF NOT EXISTS batch_rows_finished ON batch_rows (run, finished);
"""


@dataclass
class Claim:
    key: str
    n: int
    inputs: dict[str, Any]
    attempts: int
    verify: bool  # a verify job for an uncertain row, not an entry


@dataclass
class Outcome:
    """How a row ended, as `Journal.finish` records it. `retry_after` (seconds) puts it back to pending with a
    backoff."""

    key: str
    status: str
    error: str | None = None
    evidence: dict[str, Any] | None = None
    screenshot: str | None = None
    retry_after: float | None = None


def worker_id(index: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    """SQL shared by both back ends; `%s` placeholders (SQLite's `?` are swapped in)."""

    shared = False  # rows may be held by workers on other machines: only leases tell they are dead

    def __init__(self, conn: Any, run: str, where: str):
        self.conn, self.run, self.where = conn, run, where

    # ---- plumbing -------------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql

    def execute(self, sql: str, args: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(args))

    def transaction(self) -> Any:
        raise NotImplementedError

    def durable_transaction(self) -> Any:
        """A transaction that is on disk when it commits (it survives the machine going down, not only the
        process). Only the commit point needs it: the other writes may be lost with the machine's power
        and the rules above still hold (a lost claim leaves the row pending; a lost `done` leaves it
        `committing`, hence uncertain until verified), and a durable write also makes every earlier one
        durable (the log is written in order)."""
        return self.transaction()

    def close(self) -> None:
        self.conn.close()

    # ---- setting up a run -----------------------------------------------------------------------

    def start_run(self, flow: str, rows_file: str) -> bool:
        """Register the run; False if it already exists (a resume, or a second machine joining)."""
        with self.transaction():
            row = self.execute("SELECT flow FROM batch_runs WHERE run = %s", (self.run,)).fetchone()
            if row is not None:
                return False
            self.execute("INSERT INTO batch_runs (run, flow, rows_file, created) VALUES (%s, %s, %s, %s)",
                         (self.run, flow, rows_file, time.time()))
        return True

    def add_rows(self, rows: Iterable[tuple[int, str, dict[str, Any] | None, str | None]],
                 fresh: bool = True) -> list[tuple[int, str, int]]:
        """(n, key, inputs, error) per row, written in batches; a row already journaled is left as it is
        (a resume re-reads the file), unless it was invalid and has been fixed since. Returns the rows
        whose id an earlier row of the file already has: (n, key, the other row's n); on a resume (not
        `fresh`) only within a batch, as the file may have been edited since."""
        batch: list[tuple[Any, ...]] = []
        duplicates: list[tuple[int, str, int]] = []

        def flush() -> None:
            if batch:
                with self.transaction():
                    keys = list({b[1] for b in batch})
                    marks = ", ".join(["%s"] * len(keys))
                    known = dict(self.execute(f"SELECT key, n FROM batch_rows WHERE run = %s AND key IN ({marks})",
                                              (self.run, *keys)).fetchall()) if fresh else {}
                    first: dict[str, int] = {}
                    for _, key, n, *_rest in batch:
                        other = known.get(key, first.setdefault(key, n))
                        if other != n:
                            duplicates.append((n, key, other))
                    self.conn.cursor().executemany(self._sql(
                        "INSERT INTO batch_rows (run, key, n, inputs, status, error) "
                        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run, key) DO UPDATE SET "
                        "inputs = excluded.inputs, status = excluded.status, error = excluded.error "
                        "WHERE batch_rows.status = 'invalid'"), batch)
                batch.clear()

        for n, key, inputs, error in rows:
            batch.append((self.run, key, n, json.dumps(inputs or {}), "invalid" if error else "pending", error))
            if len(batch) >= 500:
                flush()
        flush()
        return duplicates

    def drop_run(self) -> None:
        """Forget a run that never started (its file was bad as a whole)."""
        with self.transaction():
            self.execute("DELETE FROM batch_rows WHERE run = %s", (self.run,))
            self.execute("DELETE FROM batch_runs WHERE run = %s", (self.run,))

    def count(self) -> int:
        return int(self.execute("SELECT count(*) FROM batch_rows WHERE run = %s", (self.run,)).fetchone()[0])

    # ---- recovering abandoned rows ------------------------------------------------------------

    def recover(self) -> int:
        """Rows whose worker is gone: `running` -> pending, `committing` -> uncertain, `verifying` ->
        uncertain (to verify again). Returns how many rows changed."""
        now = time.time()
        with self.transaction():
            held = self.execute(
                "SELECT key, status, worker, lease_until FROM batch_rows WHERE run = %s "
                "AND status IN ('running', 'committing', 'verifying')", (self.run,)).fetchall()
            changed = 0
            for key, status, worker, lease_until in held:
                if not self._abandoned(worker, lease_until, now):
                    continue
                if status == "running":
                    self.execute("UPDATE batch_rows SET status = 'pending', worker = NULL, lease_until = NULL, "
                                 "error = %s WHERE run = %s AND key = %s",
                                 ("the worker stopped before the commit point", self.run, key))
                else:
                    error = ("the worker stopped inside the commit step: the row may have landed"
                             if status == "committing" else "the worker stopped while verifying")
                    self.execute("UPDATE batch_rows SET status = 'uncertain', worker = NULL, lease_until = NULL, "
                                 "error = %s, finished = %s WHERE run = %s AND key = %s",
                                 (error, now, self.run, key))
                changed += 1
        return changed

    def _abandoned(self, worker: str | None, lease_until: float | None, now: float) -> bool:
        if lease_until is None or lease_until < now:
            return True
        if self.shared or not worker:
            return False
        host, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        # one machine by construction: a dead process is gone now, no need to wait for its lease
        return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))

    # ---- the worker's side --------------------------------------------------------------------

    def claim(self, worker: str, lease_s: float, verify: bool, outcome: Outcome | None = None) -> Claim | None:
        """The next pending row whose backoff is over (or, if `verify`, an uncertain row to check). `outcome`:
        the worker's last row, recorded in the same transaction (one write lock per row fewer: the workers of a
        run queue for it, behind each other's commit points)."""
        with self.transaction():
            now = time.time()  # taken holding the write lock (SQLite): rows finish in the order of their times
            if outcome is not None:
                self._finish(worker, outcome, now)
            row = self.execute(self._pick("pending", "AND not_before <= %s"), (self.run, now)).fetchone()
            is_verify = False
            if row is None and verify:
                row = self.execute(self._pick("uncertain", "AND checked = 0"), (self.run,)).fetchone()
                is_verify = row is not None
            if row is None:
                return None
            key, n, inputs, attempts = row
            if is_verify:
                self.execute("UPDATE batch_rows SET status = 'verifying', worker = %s, lease_until = %s "
                             "WHERE run = %s AND key = %s", (worker, now + lease_s, self.run, key))
            else:
                attempts += 1
                self.execute("UPDATE batch_rows SET status = 'running', worker = %s, lease_until = %s, "
                             "attempts = %s, started = %s, finished = NULL WHERE run = %s AND key = %s",
                             (worker, now + lease_s, attempts, now, self.run, key))
        return Claim(key, n, json.loads(inputs), attempts, is_verify)

    def _pick(self, status: str, extra: str) -> str:
        return (f"SELECT key, n, inputs, attempts FROM batch_rows WHERE run = %s AND status = '{status}' {extra} "
                "ORDER BY n LIMIT 1")

    def committing(self, key: str, worker: str) -> None:
        """Written (and durable) before the commit step acts: from here on a crash means `uncertain`."""
        with self.durable_transaction():
            cur = self.execute("UPDATE batch_rows SET status = 'committing' WHERE run = %s AND key = %s "
                               "AND worker = %s AND status = 'running'", (self.run, key, worker))
            if cur.rowcount != 1:
                raise JournalError(f"row {key}: lost its claim before the commit step (lease expired?)")

    def finish(self, key: str, worker: str, status: str, *, error: str | None = None,
               evidence: dict[str, Any] | None = None, screenshot: str | None = None,
               retry_after: float | None = None) -> None:
        """Record a row's outcome. `retry_after` (seconds) puts a row back to pending with a backoff."""
        self.record(worker, Outcome(key, status, error, evidence, screenshot, retry_after))

    def record(self, worker: str, outcome: Outcome) -> None:
        """Record a row's outcome on its own (a worker otherwise writes it with its next claim)."""
        with self.transaction():
            self._finish(worker, outcome, time.time())

    def _finish(self, worker: str, o: Outcome, now: float) -> None:
        checked = 1 if o.status == "uncertain" and o.evidence and o.evidence.get("verified") is False else 0
        status = "pending" if o.retry_after is not None else o.status
        self.execute(
            "UPDATE batch_rows SET status = %s, error = %s, evidence = %s, screenshot = %s, worker = NULL, "
            "lease_until = NULL, not_before = %s, finished = %s, checked = %s, "
            "duration_ms = CASE WHEN started IS NULL THEN NULL ELSE (%s - started) * 1000 END "
            "WHERE run = %s AND key = %s AND worker = %s",
            (status, o.error, json.dumps(o.evidence) if o.evidence else None, o.screenshot,
             now + (o.retry_after or 0), None if status == "pending" else now, checked, now,
             self.run, o.key, worker))

    def heartbeat(self, worker: str, lease_s: float) -> None:
        with self.transaction():
            self.execute("UPDATE batch_rows SET lease_until = %s WHERE run = %s AND worker = %s",
                         (time.time() + lease_s, self.run, worker))

    def remaining(self, verify: bool) -> int:
        """Rows still to do: pending, held by a worker, or uncertain and waiting for a verify."""
        extra = " OR (status = 'uncertain' AND checked = 0)" if verify else ""
        sql = ("SELECT count(*) FROM batch_rows WHERE run = %s AND (status IN "
               "('pending', 'running', 'committing', 'verifying')" + extra + ")")
        return int(self.execute(sql, (self.run,)).fetchone()[0])

    # ---- reading a run ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        got = dict(self.execute("SELECT status, count(*) FROM batch_rows WHERE run = %s GROUP BY status",
                                (self.run,)).fetchall())
        return {s: int(got.get(s, 0)) for s in STATUSES}

    def rows(self, statuses: Iterable[str] | None = None, since: float | None = None) -> Iterator[dict[str, Any]]:
        sql = ("SELECT key, n, inputs, status, attempts, error, duration_ms, evidence, screenshot, finished "
               "FROM batch_rows WHERE run = %s")
        args: list[Any] = [self.run]
        if statuses is not None:
            wanted = list(statuses)
            sql += " AND status IN (" + ", ".join(["%s"] * len(wanted)) + ")"
            args += wanted
        if since is not None:
            sql += " AND finished > %s"
            args.append(since)
        sql += " ORDER BY finished" if since is not None else " ORDER BY n"
        cur = self.execute(sql, args)
        names = [d[0] for d in cur.description]
        for row in cur:
            item = dict(zip(names, row, strict=True))
            item["inputs"] = json.loads(item["inputs"])
            item["evidence"] = json.loads(item["evidence"]) if item["evidence"] else None
            yield item

    def run_info(self) -> dict[str, Any] | None:
        row = self.execute("SELECT flow, rows_file, created FROM batch_runs WHERE run = %s", (self.run,)).fetchone()
        return None if row is None else {"flow": row[0], "rows_file": row[1], "created": row[2]}

    def runs(self) -> list[str]:
        return [r[0] for r in self.execute("SELECT run FROM batch_runs ORDER BY created").fetchall()]


class SqliteJournal(Journal):
    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?")

    # BEGIN IMMEDIATE: a claim takes the write lock before it reads, so two workers never pick the same row
    def transaction(self) -> Any:
        return immediate(self.conn)

    def durable_transaction(self) -> Any:
        return immediate(self.conn, durable=True)


class PostgresJournal(Journal):
    shared = True

    def transaction(self) -> Any:
        return self.conn.transaction()

    def durable_transaction(self) -> Any:
        return _PgDurableTx(self.conn)

    def _pick(self, status: str, extra: str) -> str:
        # several machines claim at once: each skips rows another has locked instead of waiting
        return super()._pick(status, extra) + " FOR UPDATE SKIP LOCKED"


class _PgDurableTx:
    """The connection commits without waiting for the server's disk (synchronous_commit off, set when it
    opens); this transaction waits."""

    def __init__(self, conn: Any):
        self.tx = conn.transaction()
        self.conn = conn

    def __enter__(self) -> None:
        self.tx.__enter__()
        self.conn.execute("SET LOCAL synchronous_commit = on")

    def __exit__(self, *exc: Any) -> Any:
        return self.tx.__exit__(*exc)


def is_url(where: str) -> bool:
    return where.startswith(("postgresql://", "postgres://"))


def open_journal(where: str | Path, run: str) -> Journal:
    where = str(where)
    if is_url(where):
        psycopg = require("psycopg")
        try:
            pg = psycopg.connect(where, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise JournalError(f"cannot connect to the journal database: {mask_dsn(_pg_line(exc), where)}") from None
        with pg.transaction():
            # one schema creation at a time when several machines start together
            pg.execute("SELECT pg_advisory_xact_lock(727274)")
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                pg.execute(stmt)
        # only the commit point waits for the server's disk (Journal.durable_transaction)
        pg.execute("SET synchronous_commit = off")
        return PostgresJournal(pg, run, mask_dsn(where))
    path = Path(where)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
        conn.execute("PRAGMA busy_timeout=30000")
        conn.executescript(_SCHEMA)
    except (sqlite3.Error, OSError) as exc:
        raise JournalError(mask_dsn(f"{path}: cannot open the journal: {exc}", where)) from None
    return SqliteJournal(conn, run, str(path))


def _pg_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# a URL's user:password@ ; a password=... in a URL's query or a key=value connection string (quoted or not)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/@:]*:)[^\s@]*@", re.I)
_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'\"]*)", re.I)


_NEXT_KEY = re.compile(r"\s+\w+\s*=|&")


def _passwords(dsn: str) -> tuple[list[str], list[str]]:
    """The passwords in `dsn`, and the stretches where they are (up to the next key: a password with a
    space, unquoted, reads to libpq as the password and a broken key it quotes back)."""
    found = [m.group(0).rpartition(":")[2][:-1] for m in _USERINFO.finditer(dsn)]
    spans = list(found)
    for m in _PASSWORD.finditer(dsn):
        found.append(m.group(2).strip("'"))
        rest = dsn[m.start(2):]
        end = _NEXT_KEY.search(rest)
        spans.append(rest[:end.start()] if end else rest)
    values = sorted({v for p in found if p for v in (p, unquote(p))}, key=len, reverse=True)
    return values, [s for s in spans if s]


def mask_dsn(text: str, dsn: str | None = None) -> str:
    """`text` with every PostgreSQL password in it masked: a journal's address (postgres://user:pw@host/db,
    ...?password=pw, or host=... password=pw) or a message that quotes one (libpq's parse errors quote the
    piece they could not read: `dsn` is the address the message is about, whose password goes wherever it
    shows). The one mask for every DSN webmem prints or raises."""
    secrets, spans = _passwords(text if dsn is None else f"{dsn} {text}")
    text = _PASSWORD.sub(r"\1***", _USERINFO.sub(r"\1***@", text))
    for secret in secrets:
        text = re.sub(re.escape(secret), "***", text, flags=re.I)
    parts = text.split('"')  # libpq quotes the piece of a connection string it cannot read: "piece"
    for i in range(1, len(parts) - 1, 2):
        if len(parts[i]) > 1 and any(parts[i] in span for span in spans):
            parts[i] = "***"
    return '"'.join(parts)
