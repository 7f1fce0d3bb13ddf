"""Per-flow track records, kept beside the flows (in `.webmem/stats.sqlite`), never inside them: reviewers
should not see counters churn. SQLite in WAL mode, one row per flow: a lookup reads the rows of its few
candidates, and a run changes its rows and the totals in one small transaction, so processes that run at
once (batch workers, `webmem do`) never lose a count, and a killed process leaves the last whole
transaction. A `stats.json` of earlier versions is carried over once (then kept as `stats.json.old`).

Every replay of a flow file counts, whichever front end ran it (`webmem run`, `batch`, the pytest plugin, MCP,
`webmem do`): `Replayer` writes each run through `record_replay` (one transaction), and `Memory` applies the same
`count_run` inside the one transaction of its `do`. A flow file's track record lives in the store it belongs
to (`store_of`): the nearest folder, from the file's own upward, whose `.webmem/` holds a store's index or
statistics; else the file's own folder.

A flow that failed `quarantine_after` times in a row is quarantined: lookups skip it (and say so) until
it succeeds again, its file changes (re-recorded, healed or edited), or it is released by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from webmem.errors import StoreError
from webmem.flow import flowfile
from webmem.sqlitetx import immediate

if TYPE_CHECKING:
    from webmem.playback.report import RunReport

QUARANTINE_AFTER = 3


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class FlowStats(BaseModel):
    runs: int = 0
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    heals: int = Field(0, description="runs that needed a repair")
    handovers: int = 0
    last_success: str | None = None
    last_failure: str | None = None
    replay_ms_total: float = 0.0
    learn_calls: int = Field(0, description="model calls it took to learn this flow")
    learn_tokens: int = 0
    learn_ms: float = 0.0
    quarantined: str | None = Field(None, description="the file digest it was quarantined at")
    quarantine_reason: str | None = None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.runs if self.runs else None

    @property
    def mean_replay_ms(self) -> float | None:
        return self.replay_ms_total / self.runs if self.runs else None

    def is_quarantined(self, digest: str) -> bool:
        """Quarantine holds for the file as it was; a changed file gets its chance again."""
        return self.quarantined is not None and self.quarantined == digest

    def record_run(self, passed: bool, duration_ms: float, healed: bool, digest: str, error: str | None,
                   quarantine_after: int) -> None:
        self.runs += 1
        self.replay_ms_total += duration_ms
        self.heals += healed
        if passed:
            self.successes += 1
            self.consecutive_failures = 0
            self.last_success = now()
            self.quarantined = self.quarantine_reason = None
            return
        self.failures += 1
        self.consecutive_failures += 1
        self.last_failure = now()
        if self.consecutive_failures >= quarantine_after:
            self.quarantined = digest
            self.quarantine_reason = f"failed {self.consecutive_failures} times in a row; last: {error}"


class Totals(BaseModel):
    hits: int = Field(0, description="a stored flow fitted and was replayed (whatever happened next)")
    misses: int = Field(0, description="no stored flow fitted")
    healed: int = Field(0, description="hits that passed after a repair")
    handed_over: int = Field(0, description="hits that broke and that the agent finished")
    learned: int = Field(0, description="misses the agent learned")
    failed: int = Field(0, description="tasks not done")
    model_calls: int = 0
    tokens: int = 0
    saved_calls: int = Field(0, description="estimated: what the hits would have cost the agent")
    saved_tokens: int = 0


class StoreStats(BaseModel):
    version: int = 1
    totals: Totals = Field(default_factory=Totals)
    flows: dict[str, FlowStats] = Field(default_factory=dict, description="by flow file, relative to the store")

    def of(self, rel: str) -> FlowStats:
        return self.flows.setdefault(rel, FlowStats())


def stats_path(root: Path) -> Path:
    """The statistics file of earlier versions (carried over into the database once)."""
    return root / flowfile.LOCAL_DIR / "stats.json"


def db_path(root: Path) -> Path:
    return root / flowfile.LOCAL_DIR / "stats.sqlite"


SCHEMA = 1
_TABLES = (
    "CREATE TABLE IF NOT EXISTS flows (path TEXT PRIMARY KEY, data TEXT NOT NULL)",  # FlowStats as JSON
    "CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_OPEN: dict[tuple[Path, int], _DB] = {}  # by file and process: a lookup does not open the database again
_OPENING = threading.Lock()


class _DB:
    """One connection to a store's statistics, shared by the threads of one process."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
        st = path.stat()
        self.file = (st.st_dev, st.st_ino)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


def _unreadable(path: Path, why: object) -> StoreError:
    # never overwrite or remove what cannot be read: the user decides (move it away to start counting afresh)
    return StoreError(f"{path}: the flow statistics are not readable ({why}); "
                      "move the file away to start counting afresh")


def _db(root: Path, *, create: bool) -> _DB | None:
    """The store's statistics database, made (and an old stats.json carried over) when `create`; None when
    there is none yet and it is not to be made."""
    path = db_path(root)
    key = (path.absolute(), os.getpid())  # (a forked worker opens its own connection)
    with _OPENING:
        db = _OPEN.get(key)
        try:
            st = path.stat()
        except OSError:
            st = None
        if db is not None and (st is None or (st.st_dev, st.st_ino) != db.file):  # moved away or replaced
            _OPEN.pop(key).close()
            db = None
        if db is not None:
            return db
        if st is None and not create:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = _DB(path)
            _setup_waiting(db.conn, root, path)
        except BaseException as exc:
            if db is not None:
                db.close()
            if isinstance(exc, sqlite3.OperationalError | OSError):  # busy past the timeout, or not writable
                raise StoreError(f"{path}: cannot open the flow statistics: {exc}") from None
            if isinstance(exc, sqlite3.DatabaseError):  # not a database, or damaged
                raise _unreadable(path, exc) from None
            raise
        _OPEN[key] = db
        return db


SETUP_S = 60.0  # how long a process waits for others that make or migrate the same database at once


def _setup_waiting(conn: sqlite3.Connection, root: Path, path: Path) -> None:
    """`_setup`, tried again while another process holds the database as it makes it: SQLite answers "locked" at once
    there (switching to WAL, or a lock upgrade it refuses to wait for to avoid a deadlock), not after its busy
    timeout."""
    deadline = time.monotonic() + SETUP_S
    while True:
        try:
            return _setup(conn, root, path)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _setup(conn: sqlite3.Connection, root: Path, path: Path) -> None:
    """Tables made once; a stats.json of earlier versions read into them once, in the same transaction."""
    conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    conn.execute("PRAGMA synchronous=FULL")  # not a cache: a committed run survives a power cut
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA:
        return
    old = None
    with immediate(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA:  # another process made it meanwhile
            return
        if version != 0:
            raise _unreadable(path, f"written by a newer webmem (schema {version})")
        for statement in _TABLES:
            conn.execute(statement)
        old = _read_json(stats_path(root))
        if old is not None:
            conn.executemany("INSERT OR REPLACE INTO flows (path, data) VALUES (?, ?)",
                             ((rel, fs.model_dump_json()) for rel, fs in old.flows.items()))
            conn.execute("INSERT OR REPLACE INTO totals (id, data) VALUES (1, ?)", (old.totals.model_dump_json(),))
        conn.execute(f"PRAGMA user_version={SCHEMA}")
    if old is not None:  # kept, not removed: nothing recorded is ever lost
        with contextlib.suppress(OSError):
            os.replace(stats_path(root), stats_path(root).with_name("stats.json.old"))


@contextmanager
def _synchronous(conn: sqlite3.Connection, durable: bool) -> Iterator[None]:
    if durable:  # (the connection's setting)
        yield
        return
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        conn.execute("PRAGMA synchronous=FULL")


def _read_json(path: Path) -> StoreStats | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the flow statistics: {exc}") from None
    try:
        return StoreStats.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _unreadable(path, f"{'.'.join(map(str, first['loc'])) or 'the file'}: {first['msg']}") from None


@contextmanager
def _reading(root: Path) -> Iterator[sqlite3.Connection | None]:
    """The database to read (None: no statistics yet). A store that cannot be written is read as it is."""
    try:
        db = _db(root, create=stats_path(root).exists())
    except StoreError:
        if db_path(root).exists():
            raise
        db = None  # a read-only store with a stats.json of earlier versions: read that
    if db is None:
        yield None
        return
    with db.lock:
        try:
            yield db.conn
        except sqlite3.DatabaseError as exc:
            raise _unreadable(db.path, exc) from None


def _flow(path: str, data: str) -> FlowStats:
    try:
        return FlowStats.model_validate_json(data)
    except ValidationError as exc:
        raise StoreError(f"flow statistics of {path} are not readable: {exc.errors()[0]['msg']}") from None


def load(root: Path) -> StoreStats:
    """Every track record and the totals (for listings; a lookup reads only its candidates': `of_flows`)."""
    with _reading(root) as conn:
        if conn is None:
            return _read_json(stats_path(root)) or StoreStats()
        rows = conn.execute("SELECT path, data FROM flows ORDER BY path").fetchall()
        total = conn.execute("SELECT data FROM totals WHERE id = 1").fetchone()
    return StoreStats(totals=Totals.model_validate_json(total[0]) if total else Totals(),
                      flows={path: _flow(path, data) for path, data in rows})


def of_flows(root: Path, paths: Iterable[str]) -> dict[str, FlowStats]:
    """The track records of these flow files (those that have one)."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    with _reading(root) as conn:
        if conn is None:
            old = _read_json(stats_path(root))
            return {p: old.flows[p] for p in wanted if old is not None and p in old.flows}
        found: list[tuple[str, str]] = []
        for at in range(0, len(wanted), 500):  # (SQLite's limit on parameters)
            part = wanted[at:at + 500]
            found += conn.execute(f"SELECT path, data FROM flows WHERE path IN ({','.join('?' * len(part))})",
                                  part).fetchall()
    return {path: _flow(path, data) for path, data in found}


class _Rows(MutableMapping[str, FlowStats]):
    """The per-flow rows, read as they are asked for; every row read or set is written back."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.rows: dict[str, FlowStats | None] = {}

    def _get(self, rel: str) -> FlowStats | None:
        if rel not in self.rows:
            row = self.conn.execute("SELECT data FROM flows WHERE path = ?", (rel,)).fetchone()
            self.rows[rel] = _flow(rel, row[0]) if row else None
        return self.rows[rel]

    def __getitem__(self, rel: str) -> FlowStats:
        found = self._get(rel)
        if found is None:
            raise KeyError(rel)
        return found

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self._get(rel) is not None

    def __setitem__(self, rel: str, value: FlowStats) -> None:
        self.rows[rel] = value

    def __delitem__(self, rel: str) -> None:
        self[rel]  # noqa: B018 (KeyError when there is none)
        self.rows[rel] = None

    def _paths(self) -> list[str]:
        stored = [p for (p,) in self.conn.execute("SELECT path FROM flows ORDER BY path")]
        return [p for p in dict.fromkeys([*stored, *self.rows]) if self._get(p) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths())

    def __len__(self) -> int:
        return len(self._paths())


class Changes:
    """The statistics as one run changes them: `totals`, and `flows` (rows read as they are asked for)."""

    def __init__(self, conn: sqlite3.Connection):
        row = conn.execute("SELECT data FROM totals WHERE id = 1").fetchone()
        self.totals = Totals.model_validate_json(row[0]) if row else Totals()
        self.flows = _Rows(conn)

    def of(self, rel: str) -> FlowStats:
        return self.flows.setdefault(rel, FlowStats())


@contextmanager
def updating(root: Path, durable: bool = True) -> Iterator[Changes]:
    """Read, change and write the statistics in one transaction (other writers wait; readers do not).
    `durable=False`: the commit does not wait for the disk (it survives the process, not a power cut)."""
    db = _db(root, create=True)
    assert db is not None
    with db.lock:
        try:
            with _synchronous(db.conn, durable), immediate(db.conn):
                changes = Changes(db.conn)
                yield changes
                db.conn.executemany("DELETE FROM flows WHERE path = ?",
                                    [(p,) for p, fs in changes.flows.rows.items() if fs is None])
                db.conn.executemany("INSERT OR REPLACE INTO flows (path, data) VALUES (?, ?)",
                                    [(p, fs.model_dump_json()) for p, fs in changes.flows.rows.items()
                                     if fs is not None])
                db.conn.execute("INSERT OR REPLACE INTO totals (id, data) VALUES (1, ?)",
                                (changes.totals.model_dump_json(),))
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{db.path}: cannot write the flow statistics: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise _unreadable(db.path, exc) from None


# ---- every run counts ---------------------------------------------------------------------------


def store_of(flow_file: str | os.PathLike[str]) -> tuple[Path, str]:
    """(store folder, the file's path relative to it as the store names it) for a flow file given by path: the
    nearest folder from the file's own upward whose `.webmem/` holds a store's index or statistics (a flow in a
    subfolder of a store counts in that store's `webmem list`), else the file's own folder."""
    path = Path(os.path.abspath(flow_file))
    for folder in path.parents:
        meta = folder / flowfile.LOCAL_DIR
        if (meta / "stats.sqlite").exists() or (meta / "index.sqlite").exists():
            return folder, path.relative_to(folder).as_posix()
    return path.parent, path.name


def file_digest(path: Path) -> str:
    """The digest a store's index keeps of a flow file (quarantine holds for the file as it was)."""
    with path.open("rb") as fh:
        return hashlib.sha256(fh.read(flowfile.MAX_FLOW_BYTES + 1)).hexdigest()[:16]


def count_run(changes: Changes, rel: str, report: RunReport, digest: str,
              quarantine_after: int = QUARANTINE_AFTER) -> None:
    """One replay of the flow file `rel` in its track record: the one way a run is counted."""
    changes.of(rel).record_run(report.passed, report.duration_ms, bool(report.healed_steps), digest, report.error,
                               quarantine_after)


def record_replay(flow_file: str | os.PathLike[str], report: RunReport) -> None:
    """Count one replay of a flow file in its store's track record, in one transaction (StoreError if it
    cannot be written). The transaction does not wait for the disk: a batch writes one per row, and a count
    is not worth an fsync per row (the journal's durable commit point is what guards the rows)."""
    root, rel = store_of(flow_file)
    try:
        digest = file_digest(Path(flow_file))
    except OSError as exc:
        raise StoreError(f"{flow_file}: cannot read the flow to count its run: {exc.strerror or exc}") from None
    try:
        flowfile.local_dir(root)
    except OSError as exc:
        raise StoreError(f"{root}: cannot keep the flow statistics: {exc.strerror or exc}") from None
    with updating(root, durable=False) as changes:
        count_run(changes, rel, report, digest)
