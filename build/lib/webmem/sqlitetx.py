"""The one SQLite write transaction webmem uses (the flow store's index and statistics, the batch journal).

`BEGIN IMMEDIATE` takes the write lock before the first read, so two writers never both read, then both write
(a lock upgrade SQLite refuses with "locked" instead of waiting). A wait for another writer is the
connection's busy timeout, set where it opens. On an error the transaction is rolled back only if it is still
open: SQLite rolls some back itself (a full disk, an I/O error), and a second ROLLBACK would raise over the
error that mattered.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection, durable: bool = False) -> Iterator[None]:
    """One write transaction on `conn` (opened with `isolation_level=None`). `durable`: its commit waits for
    the disk (synchronous=FULL fsyncs the WAL; NORMAL, the connections' setting, leaves that to the next
    checkpoint and survives only a process crash)."""
    if durable:
        conn.execute("PRAGMA synchronous=FULL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        if durable:
            conn.execute("PRAGMA synchronous=NORMAL")
