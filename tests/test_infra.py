"""The shared plumbing: one SQLite write transaction, one heal-mode check with one default per entry point, and
the batch run's options said once for it and its workers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from webmem.batch.journal import open_journal
from webmem.playback.heal import DEFAULT_HEAL, MODES, parse_heal
from webmem.sqlitetx import immediate


def test_an_error_inside_a_transaction_sqlite_already_rolled_back_is_the_one_raised(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j.sqlite", "run")
    try:
        with pytest.raises(KeyError, match="the error that matters"), journal.transaction():
            journal.conn.execute("ROLLBACK")  # as SQLite does itself on a full disk or an I/O error
            raise KeyError("the error that matters")
        with journal.durable_transaction():  # usable again, and durable only for its own commit
            assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        journal.close()


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE t (v INTEGER)")
    with pytest.raises(RuntimeError), immediate(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError
    with immediate(conn):
        conn.execute("INSERT INTO t VALUES (2)")
    assert conn.execute("SELECT v FROM t").fetchall() == [(2,)] and not conn.in_transaction
    conn.close()


def test_one_heal_mode_check_and_one_default(tmp_path: Path) -> None:
    from webmem.batch.run import BatchOptions
    from webmem.batch.worker import WorkerConfig, WorkerOptions
    from webmem.cache.memory import Memory
    from webmem.playback.heal import make_healing
    from webmem.playback.replayer import Replayer

    assert [parse_heal(m) for m in MODES] == ["off", "local", "llm"]
    with pytest.raises(ValueError, match="heal must be one of off, local, llm, not 'fast'") as said:
        parse_heal("fast")
    for refuse in (lambda: Memory(tmp_path, heal="fast"),  # type: ignore[arg-type]
                   lambda: make_healing("fast", Replayer().settings)):
        with pytest.raises(ValueError) as again:
            refuse()
        assert str(again.value) == str(said.value)
    # a batch run from Python heals as `webmem batch` does, and its workers get its options, not copies of them
    opts = BatchOptions(flow=tmp_path / "f.yaml", rows=tmp_path / "rows.csv")
    assert opts.heal == DEFAULT_HEAL == "local"
    assert set(WorkerOptions.model_fields) < set(BatchOptions.model_fields)
    assert set(WorkerOptions.model_fields) < set(WorkerConfig.model_fields)
