"""SQLite persistence for form submissions (one connection per call: thread-safe enough)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    variant TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SubmissionStore:
    def __init__(self, path: str) -> None:
        self.path = path
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "data": json.loads(row["data"]),
            "variant": row["variant"],
            "created": row["created"],
        }

    def add(self, kind: str, data: dict[str, Any], variant: str) -> int:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO submissions (kind, data, variant, created) VALUES (?, ?, ?, ?)",
                (kind, json.dumps(data), variant, created),
            )
            return int(cur.lastrowid or 0)

    def get(self, sub_id: int, kind: str | None = None) -> dict[str, Any] | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
        if row is None or (kind is not None and row["kind"] != kind):
            return None
        return self._row(row)

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        with closing(self._connect()) as conn:
            if kind:
                sql = "SELECT * FROM submissions WHERE kind = ? ORDER BY id"
                rows = conn.execute(sql, (kind,)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM submissions ORDER BY id").fetchall()
        return [self._row(r) for r in rows]

    def delete_submissions(self) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM submissions")

    def reset(self) -> None:
        """Clear submissions *and* counters: a clean slate between test runs."""
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM submissions")
            conn.execute("DELETE FROM counters")

    def bump(self, name: str) -> int:
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row["value"])

    def counter(self, name: str) -> int:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row["value"]) if row else 0
