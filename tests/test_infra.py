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


def test_loading_a_flow_imports_no_playwright() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = ("import pkgutil, importlib, sys, webmem.flow\n"
            "for m in pkgutil.iter_modules(webmem.flow.__path__): importlib.import_module('webmem.flow.' + m.name)\n"
            "from webmem import load_flow, Flow, FlowFormatError\n"
            "load_flow(sys.argv[1])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'playwright'))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code, str(root / "flows" / "add-contact.yaml")], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_no_import_cycles_among_webmem_modules() -> None:
    """Every import counts, those inside functions and under TYPE_CHECKING too: a cycle is a layer that knows
    the one above it."""
    import grimp

    graph = grimp.build_graph("webmem", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.append((module, *back))
    assert cycles == []


def test_public_calls_raise_webmem_errors(tmp_path: Path) -> None:
    import webmem
    from webmem.errors import RecordError, UsageError, WebmemError
    from webmem.learn.agents import make_agent
    from webmem.learn.items import NotAnItem

    for call in (lambda: webmem.Replayer(write=True, propose=tmp_path / "x.patch"),
                 lambda: webmem.Memory(tmp_path, heal="fast"),  # type: ignore[arg-type]
                 lambda: make_agent("nobody")):
        with pytest.raises(UsageError):
            call()
    assert issubclass(NotAnItem, RecordError) and issubclass(RecordError, WebmemError)
    # every error class is in the package's public face and in the errors module's tree
    import webmem.errors as errors
    tree = errors.__doc__ or ""
    for name, cls in vars(errors).items():
        if isinstance(cls, type) and issubclass(cls, WebmemError):
            assert getattr(webmem, name) is cls and name in webmem.__all__
            assert f" {name} " in tree or f"    {name}\n" in tree, name
