"""The flow store's index on disk: one SQLite row per file (`.webmem/index.sqlite`, WAL mode), keyed by
the file's path, with the file's (mtime, size, ctime) when it was read and its entry as JSON.

Opening it reads only the paths and their (mtime, size, ctime), to compare with the folder; a lookup reads the
rows of one task. It is a cache: missing, damaged or of another version, it is made afresh from the flow
files, and a store that cannot hold it (read-only) keeps it in memory.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from webmem.cache.entry import Entry
from webmem.sqlitetx import immediate

SCHEMA = 4  # bump when what an entry holds or how files are read changes: old rows are then re-read
Stamp = tuple[int, int, int]  # (mtime_ns, size, ctime_ns) of a file when it was read

_TABLES = (
    """CREATE TABLE IF NOT EXISTS entries (
        path TEXT PRIMARY KEY,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        key TEXT,           -- the task identity of a usable flow, else NULL
        broken INTEGER NOT NULL,
        data TEXT NOT NULL  -- the Entry as JSON
    )""",
    "CREATE INDEX IF NOT EXISTS entries_key ON entries (key)",
    "CREATE INDEX IF NOT EXISTS entries_broken ON entries (broken)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class BadRow(sqlite3.DatabaseError):
    """A row whose entry does not read (damaged, or written by hand or another version): the index is a cache,
    the store makes it afresh from the files."""


def _create(conn: sqlite3.Connection) -> None:
    for statement in _TABLES:
        conn.execute(statement)


class IndexDB:
    """Rows of entries. `path` None: in memory (a store that cannot be written). One connection, used
    by one thread at a time (a server answers from several)."""

    def __init__(self, path: Path | None, timeout: float = 60.0):
        self.lock = threading.RLock()
        self.path = path
        self.conn = self._open(path, timeout) if path is not None else None
        if self.conn is None:
            self.path = None
            self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            _create(self.conn)

    @staticmethod
    def _open(path: Path, timeout: float) -> sqlite3.Connection | None:
        """The database at `path`, made afresh if it is damaged or of another schema; None if it cannot
        be had at all."""
        for attempt in range(2):
            conn = None
            try:
                conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
                conn.execute("PRAGMA synchronous=NORMAL")  # a cache: a crash may lose the last rows, never break it
                if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                    with immediate(conn):
                        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                            conn.execute("DROP TABLE IF EXISTS entries")
                            conn.execute("DROP TABLE IF EXISTS meta")
                            _create(conn)
                            conn.execute(f"PRAGMA user_version={SCHEMA}")
                conn.execute("SELECT path, mtime_ns, size, ctime_ns, key, broken, data FROM entries LIMIT 1").fetchall()
                return conn
            except sqlite3.OperationalError:  # busy past the timeout, cannot open: never remove what may be in use
                if conn is not None:
                    conn.close()
                break
            except sqlite3.DatabaseError:
                if conn is not None:
                    conn.close()
                if attempt == 0:  # damaged (not a database, a torn page): only a cache, made afresh
                    IndexDB.remove(path)
            except OSError:
                break
        return None

    @staticmethod
    def remove(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{path}{suffix}").unlink()

    @property
    def memory(self) -> bool:
        return self.path is None

    def close(self) -> None:
        assert self.conn is not None
        with self.lock:
            self.conn.close()

    def stamps(self) -> dict[str, Stamp]:
        """Every file the index holds, with its (mtime, size, ctime) as read."""
        assert self.conn is not None
        with self.lock:
            rows = self.conn.execute("SELECT path, mtime_ns, size, ctime_ns FROM entries").fetchall()
        return {p: (m, s, c) for p, m, s, c in rows}

    def folders(self) -> dict[str, int]:
        """The store's folders and their mtimes when the rows were last checked against every file."""
        assert self.conn is not None
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE name = 'folders'").fetchone()
        try:
            found = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def set_folders(self, folders: dict[str, int] | None) -> None:
        """Say the rows match every file while the folders have these mtimes (None: no longer known)."""
        assert self.conn is not None
        if folders is None:
            self.conn.execute("DELETE FROM meta WHERE name = 'folders'")
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('folders', ?)",
                              (json.dumps(folders, sort_keys=True),))

    def _entries(self, sql: str, args: tuple[object, ...] = ()) -> list[Entry]:
        assert self.conn is not None
        with self.lock:
            rows = self.conn.execute(sql, args).fetchall()
        try:
            return [Entry.model_validate_json(data) for (data,) in rows]
        except ValueError as exc:  # (pydantic's ValidationError is one)
            raise BadRow(f"an index row does not read: {str(exc).splitlines()[0]}") from None

    def with_key(self, key: str) -> list[Entry]:
        """The usable flows of one task identity."""
        return self._entries("SELECT data FROM entries WHERE key = ? ORDER BY path", (key,))

    def broken(self) -> list[Entry]:
        return self._entries("SELECT data FROM entries WHERE broken = 1 ORDER BY path")

    def all(self) -> list[Entry]:
        return self._entries("SELECT data FROM entries ORDER BY path")

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, across processes: the others wait (readers do not)."""
        assert self.conn is not None
        with self.lock, immediate(self.conn):
            yield

    def put(self, entries: Iterable[Entry], gone: Iterable[str]) -> None:
        """Store entries and forget files; call inside `writing()`."""
        assert self.conn is not None
        self.conn.executemany("DELETE FROM entries WHERE path = ?", ((p,) for p in gone))
        self.conn.executemany(
            "INSERT OR REPLACE INTO entries (path, mtime_ns, size, ctime_ns, key, broken, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((e.path, e.mtime_ns, e.size, e.ctime_ns, e.key if e.usable else None, int(e.error is not None),
              e.model_dump_json()) for e in entries))
