"""The flow store without a browser: task identity, the index and its staleness, variant choice by
signature then track record, quarantine, and a store that survives a process killed mid-write."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webmem.cache import stats
from webmem.cache.memory import Lookup, Memory
from webmem.cache.quickread import plain_data, quick_flow
from webmem.cache.store import FlowStore, task_key, task_template, text_digest
from webmem.errors import WebmemError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.model import InputSpec, Signature
from webmem.page import signature
from webmem.steps.goto import GotoStep

from .conftest import FLOWS, ROOT

URL = "http://127.0.0.1:8000/customers/new"


def customer(**update: object) -> Flow:
    return flowfile.load_flow(FLOWS / "create-customer.yaml").flow.model_copy(update=update)


def with_start_signature(flow: Flow, tokens: list[str]) -> Flow:
    pages = {k: v.model_copy(update={"signature": signature.from_tokens(tokens)}) for k, v in flow.pages.items()}
    return flow.model_copy(update={"pages": pages})


def sig_of(flow: Flow) -> Signature:
    page = next(s.page for s in flow.steps if s.page)
    sig = flow.pages[page].signature
    assert sig is not None
    return sig


# ---- task identity ------------------------------------------------------------------------------


def test_task_identity_leaves_input_values_out() -> None:
    a = task_template("Create a customer named Ada Lovelace (ada@example.com)",
                      {"full_name": "Ada Lovelace", "email": "ada@example.com"})
    b = task_template("create a customer named  Bob,  (bob@example.com)",
                      {"full_name": "Bob", "email": "bob@example.com"})
    assert a == "Create a customer named {{ full_name }} ({{ email }})"
    assert task_key(a) == task_key(b) == "create a customer named {full_name} {email}"
    assert task_key(a) != task_key(task_template("Delete a customer named Ada", {"full_name": "Ada"}))
    # whole words only; one-character values in their exact case, never "a" or "I"
    assert task_template("Approve the process", {"p": "pro", "x": "a"}) == "Approve the process"
    assert task_template("Add 5 items for X, a friend", {"n": "5", "who": "X", "y": "x"}) == \
        "Add {{ n }} items for {{ who }}, a friend"
    # one pass: a value that is also a word of a placeholder put in by another value is not replaced again
    assert task_template("Create Ada with email ada@example.com", {"name": "Ada", "email": "ada@example.com",
                                                                   "contact": "email"}) == \
        "Create {{ name }} with {{ contact }} {{ email }}"


# ---- the index ----------------------------------------------------------------------------------


def test_index_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    (tmp_path / "a.data.yaml").write_text("- full_name: x\n")  # pytest data, not a flow
    (tmp_path / "notes.yaml").write_text("just: yaml\n")  # not a flow either
    store = FlowStore(tmp_path)
    [entry] = store.refresh()
    assert (entry.path, entry.key, entry.start) == ("a.yaml", task_key(customer().task), "/customers/new")
    assert entry.inputs == {"full_name": True, "email": True, "plan": False, "start_date": False, "notes": False}
    assert store.candidates(entry.key, URL) == [entry]
    assert store.candidates(entry.key, "http://127.0.0.1:8000/customers") == []
    assert store.candidates(entry.key, "http://127.0.0.1:9999/customers/new") == []  # another origin

    index = tmp_path / ".webmem" / "index.sqlite"
    for damage in (b"{ not json", b"SQLite format 3\x00" + b"\xff" * 200):  # a damaged index is only a cache
        del store  # (its connection closed: damage while another process has it open is read through the WAL)
        gc.collect()
        index.write_bytes(damage)
        store = FlowStore(tmp_path)
        assert [e.path for e in store.refresh()] == ["a.yaml"]
        assert [e.path for e in FlowStore(tmp_path).refresh()] == ["a.yaml"]  # read back from the rebuilt index
        assert index.read_bytes().startswith(b"SQLite format 3\x00") and index.read_bytes() != damage

    # a file edited in place (the folder's mtime does not move) is re-read at lookup
    path = tmp_path / "a.yaml"
    path.write_text(path.read_text().replace("task: Create a customer", "task: Remove a customer"))
    assert store.candidates(entry.key, URL) == []
    (tmp_path / "broken.yaml").write_text("webmem: 1\nname: x\nsteps: 3\n")
    assert {e.path: bool(e.error) for e in store.entries()} == {"a.yaml": False, "broken.yaml": True}


# ---- choosing a flow ----------------------------------------------------------------------------


def choose(memory: Memory, now: Signature, keys: set[str] | None = None) -> tuple[str | None, Lookup]:
    look = memory.lookup(customer().task, dict.fromkeys(keys or {"full_name", "email"}, "x"), URL, now)
    return (look.pick.entry.path if look.pick else None), look


def test_variants_are_chosen_by_signature_then_track_record(tmp_path: Path) -> None:
    base = customer()
    other_tokens = [*sig_of(base).tokens[:10], "checkbox|i accept the terms|input|checkbox|terms"]
    flowfile.save_flow(base.model_copy(update={"name": "a"}), tmp_path / "a.yaml")
    flowfile.save_flow(with_start_signature(base.model_copy(update={"name": "b"}), other_tokens), tmp_path / "b.yaml")
    memory = Memory(tmp_path, agent="heuristic")
    assert choose(memory, sig_of(base))[0] == "a.yaml"
    assert choose(memory, signature.from_tokens(other_tokens))[0] == "b.yaml"
    unrelated = signature.from_tokens(["heading|something else|h1||"])
    assert choose(memory, unrelated)[0] is None  # not the start page of either: a miss, never a guess

    # two variants equally like the page: the better track record wins
    flowfile.save_flow(base.model_copy(update={"name": "c"}), tmp_path / "c.yaml")
    with stats.updating(tmp_path) as s:
        s.of("a.yaml").record_run(False, 100, False, "x", "boom", 3)
        s.of("c.yaml").record_run(True, 100, False, "x", None, 3)
    assert choose(memory, sig_of(base))[0] == "c.yaml"

    # a flow that cannot take the given inputs does not fit
    path, result = choose(memory, sig_of(base), {"full_name", "email", "shoe_size"})
    assert path is None and "does not fit these inputs" in result.notes[0]


def test_quarantine_after_repeated_failures_until_the_file_changes(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    store = FlowStore(tmp_path)
    [entry] = store.refresh()
    memory = Memory(tmp_path, agent="heuristic", quarantine_after=3)
    for n in range(3):
        assert choose(memory, sig_of(customer()))[0] == "a.yaml"
        with stats.updating(tmp_path) as s:
            s.of("a.yaml").record_run(False, 50, False, entry.digest, f"failure {n}", 3)
    path, result = choose(memory, sig_of(customer()))
    assert path is None and "quarantined" in result.skipped[0] and "failure 2" in result.skipped[0]
    assert stats.load(tmp_path).flows["a.yaml"].consecutive_failures == 3

    # re-recorded or edited: the changed file gets its chance again
    text = (tmp_path / "a.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text.replace("name: a\n", "name: a  # fixed by hand\n"))
    assert choose(memory, sig_of(customer()))[0] == "a.yaml"


def test_unreadable_statistics_are_reported_not_overwritten(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    path = stats.stats_path(tmp_path)
    path.parent.mkdir(exist_ok=True)
    path.write_text("{ half written")
    with pytest.raises(WebmemError, match="stats.json: the flow statistics are not readable"):
        choose(Memory(tmp_path, agent="heuristic"), sig_of(customer()))
    assert path.read_text() == "{ half written"


RECORDER = """
import sys
from pathlib import Path
from webmem.cache import stats
root, n = Path(sys.argv[1]), int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # both start at once
for i in range(n):
    with stats.updating(root) as s:  # what `do` writes at the end of a run
        s.of("a.yaml").record_run(i % 2 == 0, 10.0, False, "d", "boom", 1000)
        s.of(f"own-{sys.argv[3]}.yaml").record_run(True, 1.0, False, "d", None, 3)
        s.totals.hits += 1
"""


def test_processes_recording_at_once_lose_no_count(tmp_path: Path) -> None:
    """Batch workers and `webmem do` record runs at the same time: every count lands."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", RECORDER, str(tmp_path), "150", str(k)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for k in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    record = stats.load(tmp_path)
    assert record.totals.hits == 300
    assert (record.flows["a.yaml"].runs, record.flows["a.yaml"].successes) == (300, 150)
    assert record.flows["own-0.yaml"].runs == record.flows["own-1.yaml"].runs == 150
    assert stats.of_flows(tmp_path, ["own-1.yaml", "none.yaml"]) == {"own-1.yaml": record.flows["own-1.yaml"]}


OPENER = """
import sys, time
from pathlib import Path
from webmem.cache import stats
root, start = Path(sys.argv[1]), float(sys.argv[2])
while time.time() < start:
    pass
with stats.updating(root) as s:
    s.totals.hits += 1
"""


def test_processes_making_the_statistics_at_once_all_count(tmp_path: Path) -> None:
    """Processes that make a store's statistics database at the same instant (switching it to WAL, creating
    its tables) all get in: SQLite's "locked" there comes at once, not after its busy timeout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(8):
        root = tmp_path / str(round_)
        start = str(time.time() + 1.0)
        procs = [subprocess.Popen([sys.executable, "-c", OPENER, str(root), start], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
        assert stats.load(root).totals.hits == 4


def test_statistics_of_earlier_versions_are_carried_over(tmp_path: Path) -> None:
    """A stats.json written by an earlier webmem is read into the database once: nothing recorded is lost,
    and the file is kept (renamed) rather than removed."""
    old = stats.StoreStats()
    old.of("a.yaml").record_run(False, 120.0, True, "abc", "boom", 1)  # quarantined at once
    old.of("b.yaml").learn_calls = 7
    old.totals.hits, old.totals.saved_tokens = 12, 3456
    path = stats.stats_path(tmp_path)
    path.parent.mkdir()
    path.write_text(old.model_dump_json(indent=2))
    assert stats.load(tmp_path) == old
    assert not path.exists() and path.with_name("stats.json.old").read_text() == old.model_dump_json(indent=2)
    with stats.updating(tmp_path) as s:
        s.of("b.yaml").record_run(True, 10.0, False, "d", None, 3)
        s.totals.hits += 1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # and another process reads the same
    shown = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from webmem.cache import "
                            "stats; print(stats.load(Path(sys.argv[1])).model_dump_json())", str(tmp_path)],
                           env=env, capture_output=True, timeout=60, check=True).stdout
    again = stats.StoreStats.model_validate_json(shown)
    assert again.totals.hits == 13 and again.totals.saved_tokens == 3456
    assert again.flows["a.yaml"] == old.flows["a.yaml"] and again.flows["a.yaml"].is_quarantined("abc")
    assert (again.flows["b.yaml"].learn_calls, again.flows["b.yaml"].runs) == (7, 1)


def test_damaged_statistics_database_is_reported_and_kept(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    path = stats.db_path(tmp_path)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(WebmemError, match="stats.sqlite: the flow statistics are not readable"):
        choose(Memory(tmp_path, agent="heuristic"), sig_of(customer()))
    with pytest.raises(WebmemError, match="move the file away"), stats.updating(tmp_path):
        pass
    assert path.read_bytes() == b"SQLite format 3\x00" + b"\xff" * 200
    path.rename(tmp_path / "moved-away.sqlite")  # moved away: counting starts afresh
    with stats.updating(tmp_path) as s:
        s.totals.misses += 1
    assert stats.load(tmp_path).totals.misses == 1


# ---- a killed process -----------------------------------------------------------------------------

WRITER = """
import sys, itertools
from pathlib import Path
from webmem.flow import flowfile
from webmem.cache import stats
from webmem.cache.store import FlowStore
root = Path(sys.argv[1])
base = flowfile.load_flow(sys.argv[2]).flow
store = FlowStore(root)
for n in itertools.count():
    # what `do` writes: a new flow, a spliced flow in place, the index, the statistics
    flowfile.save_flow(base.model_copy(update={"name": f"f{n % 7}", "task": f"task {n % 5}"}), root / f"f{n % 7}.yaml")
    flowfile.update_flow(root / "f0.yaml", lambda ff: ff.doc.__setitem__("task", f"task {n}"))
    store.refresh()
    with stats.updating(root) as s:
        s.of(f"f{n % 7}.yaml").record_run(n % 3 == 0, 10.0, False, "d", None, 3)
        s.totals.hits += 1
    if n == 0:
        print("ready", flush=True)  # one whole round written: from here on, any moment is mid-update
"""


def test_a_killed_writer_leaves_the_store_readable(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of store updates, many times over: every flow still loads, the
    statistics still parse, the index rebuilds; no temp file is taken for a flow."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.15, 0.3, 0.45, 0.6, 0.75, 0.9):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(FLOWS / "create-customer.yaml")],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for path in tmp_path.glob("*.yaml"):
            flowfile.load_flow(path)
        record = stats.load(tmp_path)
        assert record.totals.hits >= 0
        entries = FlowStore(tmp_path).refresh()
        assert entries and all(e.error is None for e in entries)
    assert stats.load(tmp_path).totals.hits > 0


def test_an_input_no_step_uses_must_keep_its_learned_value(tmp_path: Path) -> None:
    """A choice the agent clicked (not typed) is fixed in the steps: the same task with another value
    for it is not this flow."""
    flow = customer(name="a")
    flow = flow.model_copy(update={"inputs": {**flow.inputs, "tier": InputSpec(required=False, default="Gold")}})
    flowfile.save_flow(flow, tmp_path / "a.yaml")
    memory = Memory(tmp_path, agent="heuristic")
    assert memory.lookup(flow.task, {"full_name": "x", "email": "y", "tier": "gold"}, URL, sig_of(flow)).pick
    look = memory.lookup(flow.task, {"full_name": "x", "email": "y", "tier": "Silver"}, URL, sig_of(flow))
    assert look.pick is None and "learned with tier=Gold, which its steps do not vary" in look.notes[0]


def test_a_flow_file_that_cannot_be_indexed_is_listed_as_broken(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a", steps=[GotoStep(goto="http://127.0.0.1/x"), *customer().steps[1:]]),
                       tmp_path / "a.yaml")
    path = tmp_path / "a.yaml"  # a URL that the model refuses, edited in by hand
    path.write_text(path.read_text().replace("http://127.0.0.1/x", "http://[broken/x"))
    [entry] = FlowStore(tmp_path).refresh()
    assert entry.error and "step 1 (goto)" in entry.error


# ---- reading flows fast for the index -------------------------------------------------------------

ODD_SCALARS = ["yes", "No", "on", "~", "null", "NULL", "Null", "0x1F", "0o17", "017", "1_000", "+12", "1e3", "-.5",
               ".inf", "-.Inf", ".NaN", "12:30:00", "2026-12-01", "2001-12-14t21:59:43.10-05:00", "2026-12-01 10:00",
               "'quoted'", '"a\\tb\\u00e9"', "true", "True", "FALSE", "0", "-0", "0.0", "1.", "=", "<<", "- x",
               "[a, b]", "{a: 1}", "|\n    two\n    lines", ">-\n    folded\n    text", "a # comment", "'it''s'",
               "\"\"", "''"]


def agree(text: str) -> None:
    """The fast read gives the loader's flow, or leaves the file to the loader (never another flow)."""
    quick = quick_flow(text.encode("utf-8"))
    try:
        loaded = flowfile.parse_flow(text, round_trip=False)[0]
    except WebmemError:
        assert quick is None, text
        return
    assert quick is None or quick.model_dump_json() == loaded.model_dump_json(), text


def test_the_fast_read_agrees_with_the_loader() -> None:
    for path in sorted(FLOWS.glob("*.yaml")):
        text = path.read_text()
        agree(text)
        assert quick_flow(text.encode()) is not None, path  # the flows webmem writes take the fast way
    text = (FLOWS / "create-customer.yaml").read_text()
    for scalar in ODD_SCALARS:  # the scalars YAML readers tend to disagree on, where the index reads them
        agree(text.replace("    default: pro\n", f"    default: {scalar}\n"))
        agree(text.replace("task: Create a customer with the given name, email and plan", f"task: {scalar}"))
        agree(text.replace("base_url: http://127.0.0.1:8000", f"base_url: {scalar}"))
        agree(text.replace("  - goto: /customers/new", f"  - goto: {scalar}"))
        agree(text.replace("        - button|save customer|button|", f"        - {scalar}"))
    # not plain: anchors, aliases, tags, directives, a BOM, two documents, tabs, nesting, duplicate keys
    for odd in ("webmem: 1\nname: &n x\ntask: *n\nsteps: [{goto: /}]\n", "%YAML 1.1\n---\n" + text, "\ufeff" + text,
                text + "---\nwebmem: 1\n", text.replace("name: create-customer", "name: !!str create-customer"),
                text.replace("  full_name:", "\tfull_name:"), text + "x: " + "[" * 40 + "]" * 40 + "\n",
                text.replace("name: create-customer\n", "name: a\nname: b\n")):
        agree(odd)


@settings(max_examples=80, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.sampled_from(["    default: pro\n", "task: Create a customer with the given name, email and plan\n",
                        "        - button|save customer|button|\n", "  - goto: /customers/new\n"]),
       st.text(alphabet="&*!|>-[]{}:,.~0123456789eEoxX_+ \n\tab'\"#%@`?\\", max_size=30))
def test_the_fast_read_agrees_with_the_loader_on_punctuation(line: str, junk: str) -> None:
    text = (FLOWS / "create-customer.yaml").read_text()
    head = line[: line.index(":") + 2] if not line.lstrip().startswith("-") else line[: line.index("-") + 2]
    agree(text.replace(line, head + junk + "\n"))


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.text(alphabet="ab01.:-_ \n\t\r\x0b\u2028\u00e9'\"\\#|>[]{},?~=<eExXoO", max_size=40))
def test_plain_yaml_reads_the_same_either_way(text: str) -> None:
    from ruamel.yaml import YAML

    doc = plain_data("a: 1\n" + text)
    if doc is not None:
        assert repr(doc).replace("nan", "") == repr(YAML(typ="safe").load("a: 1\n" + text)).replace("nan", "")


def test_lines_read_before_do_not_change_what_the_fast_read_gives() -> None:
    """Plain lines are remembered across files (a store's flows share most of theirs): a text reads the
    same whether its lines were seen before or not, and lines nested too deep are never remembered."""
    from webmem.cache import quickread

    text = (FLOWS / "create-customer.yaml").read_text()
    texts = [text.replace("    default: pro\n", f"    default: {scalar}\n") for scalar in ODD_SCALARS]
    texts += ["".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}x: 1\n" for depth in (20, 40)]
    cold = []
    for t in texts:
        quickread._PLAIN_LINES.clear()
        cold.append(repr(plain_data(t)))
    assert [repr(plain_data(t)) for t in reversed(texts)] == cold[::-1]  # every line seen by now
    assert cold[-2] != "None" and cold[-1] == "None"  # 21 levels read; 41 too deep for the loader
    assert not any(line.startswith(" " * 15) for line in quickread._PLAIN_LINES)


def test_a_flow_the_fast_read_leaves_is_indexed_by_the_loader(tmp_path: Path) -> None:
    flowfile.save_flow(customer(name="a", task="Create a customer & say hi!"), tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("webmem: 1\nname: &n b\ntask: *n\nsteps:\n  - goto: /x\n")
    entries = {e.path: e for e in FlowStore(tmp_path).refresh()}
    assert entries["a.yaml"].error is None and entries["a.yaml"].key == "create a customer say hi"
    assert entries["a.yaml"].digest == text_digest((tmp_path / "a.yaml").read_text())
    assert "anchors and aliases" in (entries["b.yaml"].error or "")


def test_hostile_files_in_a_store_are_listed_broken_and_the_others_still_found(tmp_path: Path) -> None:
    """Each bad file becomes one entry with an error naming what is wrong; the index is built in bounded
    time, and a lookup still finds the good flow (saying which files it could not consider)."""
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    good = (tmp_path / "a.yaml").read_text()
    bomb = "webmem: 1\na: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
        f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]\n" for i in range(1, 10))
    hostile = {
        "bomb.yaml": bomb.encode(),
        "binary.yaml": b"webmem: 1\n" + bytes(range(256)) * 8,
        "latin1.yaml": good.replace("name: a", "name: caf\u00e9").encode("latin-1"),
        "huge.yaml": b"webmem: 1\nname: x\ntask: " + b"x" * (flowfile.MAX_FLOW_BYTES + 10) + b"\n",
        "deep.yaml": ("webmem: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(1, 60))).encode(),
        "selector.yaml": good.replace("role=button[name=", "nonsense=button[name=", 1).encode(),
        "version.yaml": good.replace("webmem: 1", "webmem: 99").encode(),
    }
    for name, data in hostile.items():
        (tmp_path / name).write_bytes(data)
    started = time.monotonic()
    entries = {e.path: e for e in FlowStore(tmp_path).refresh()}
    assert time.monotonic() - started < 10
    assert entries["a.yaml"].error is None
    for name, needle in {"bomb.yaml": "anchors and aliases", "binary.yaml": "cannot read", "latin1.yaml": "cannot read",
                         "huge.yaml": "larger than", "deep.yaml": "nested more than", "selector.yaml": "nonsense=",
                         "version.yaml": "newer than this webmem reads"}.items():
        assert needle in (entries[name].error or ""), (name, entries[name].error)
    path, look = choose(Memory(tmp_path, agent="heuristic"), sig_of(customer()))
    assert path == "a.yaml"
    assert {n.split(" ")[0] for n in look.notes if "is not a valid flow file" in n} == set(hostile)


def test_a_file_put_back_with_its_old_mtime_is_read_again(tmp_path: Path) -> None:
    """Never a stale flow: a file replaced in place or by rename, of the same size, with its old mtime put
    back (cp -p, rsync -a, an editor that keeps times), is read again at the next lookup."""
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "a.yaml"
    flowfile.save_flow(customer(name="a"), path)
    store = FlowStore(tmp_path)
    [entry] = store.candidates(task_key(customer().task), URL)
    assert entry.path == "sub/a.yaml"
    st_before = path.stat()
    text = path.read_text()
    edited = text.replace("/customers/new", "/customers/old")  # same size
    assert len(edited) == len(text)
    path.write_text(edited)  # in place: no folder's mtime moves
    os.utime(path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    assert store.candidates(task_key(customer().task), URL) == []
    [moved] = store.candidates(task_key(customer().task), "http://127.0.0.1:8000/customers/old")
    assert moved.digest != entry.digest
    # by rename, with the old mtime: the folder's mtime moves, and a new process sees it too
    tmp = tmp_path / "sub" / ".a.tmp"
    tmp.write_text(text)
    os.utime(tmp, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    os.replace(tmp, path)
    for s in (store, FlowStore(tmp_path)):
        assert [e.digest for e in s.candidates(task_key(customer().task), URL)] == [entry.digest]


def test_a_new_process_trusts_the_folders_but_checks_every_file_before_a_miss(tmp_path: Path) -> None:
    """A new process opens the index without a walk over every file when no folder changed; a file edited
    in place (no folder's mtime moves) to another task is still found: before a miss, every file is checked."""
    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    flowfile.save_flow(customer(name="b", task="Delete a customer"), tmp_path / "b.yaml")
    os.utime(tmp_path, (time.time() - 10, time.time() - 10))  # (a folder changed this instant is not trusted)
    FlowStore(tmp_path).refresh()
    fresh = FlowStore(tmp_path)
    assert [e.path for e in fresh.candidates(task_key(customer().task), URL)] == ["a.yaml"]
    assert not fresh._verified  # the folders were trusted: no file was read or stat'ed but the candidate

    path = tmp_path / "b.yaml"
    path.write_text(path.read_text().replace("task: Delete a customer", "task: Archive a customer"))
    memory = Memory(tmp_path, agent="heuristic")
    look = memory.lookup("Archive a customer", {"full_name": "x", "email": "y"}, URL, sig_of(customer()))
    assert look.pick is not None and look.pick.entry.path == "b.yaml"
    # and broken in place: said so before the miss
    path.write_text("webmem: 1\nname: b\ntask: Archive a customer\nsteps: 3\n")
    look = Memory(tmp_path, agent="heuristic").lookup("Archive a customer", {}, URL, sig_of(customer()))
    assert look.pick is None and any("b.yaml is not a valid flow file" in n for n in look.notes)


CONCURRENT_SYNC = """
import sys
from pathlib import Path
from webmem.cache.store import FlowStore
store = FlowStore(Path(sys.argv[1]))
print(sorted((e.path, e.key, e.digest) for e in store.refresh() if e.error is None).__len__())
"""


def test_processes_indexing_one_store_at_once(tmp_path: Path) -> None:
    """Batch workers open one store together: each gets the whole index, one of them reads the files
    while the others wait, and the index holds every file once."""
    text = (FLOWS / "create-customer.yaml").read_text()
    for i in range(300):
        (tmp_path / f"f{i}.yaml").write_text(text.replace("task: Create a customer", f"task: Create {i} customer"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_SYNC, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == b"300", err.decode()
    store = FlowStore(tmp_path)
    assert len(store.refresh()) == 300
    assert store.candidates(task_key("Create 7 customer with the given name, email and plan"), URL)[0].path == "f7.yaml"


def test_a_store_answers_from_several_threads(tmp_path: Path) -> None:
    """A server (MCP) opens the store in one thread and answers in others."""
    import threading

    flowfile.save_flow(customer(name="a"), tmp_path / "a.yaml")
    store = FlowStore(tmp_path)
    store.refresh()
    found: list[int] = []
    threads = [threading.Thread(target=lambda: found.append(len(store.candidates(task_key(customer().task), URL)
                                                                 + store.entries()))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert found == [2, 2, 2, 2]


def agree_both(text: str) -> None:
    """Issue 22: the loader refuses with a FlowFormatError (never NotImplementedError or another crash), the
    round-trip loader (validate, show, run) and the read-only one alike; what it refuses, the fast read refuses."""
    quick = quick_flow(text.encode("utf-8"))
    for round_trip in (True, False):
        try:
            loaded = flowfile.parse_flow(text, round_trip=round_trip)[0]
        except WebmemError:
            assert quick is None, text
            continue
        assert quick is None or quick.model_dump_json() == loaded.model_dump_json(), text


ODD_DOCUMENT_LINES = ["...\n", "... # end\n", "---\n", "--- # start\n", "--- \n", "\n", "# a comment\n",
                      "task: # comment\n", "base_url: # comment\n", "  # indented comment\n", "x: y\n", "- a\n"]


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(st.sampled_from(ODD_DOCUMENT_LINES), max_size=4), st.lists(st.sampled_from(ODD_DOCUMENT_LINES),
                                                                         max_size=4))
def test_the_fast_read_refuses_what_the_loader_refuses_around_odd_documents(head: list[str], tail: list[str]) -> None:
    text = (FLOWS / "sign-in.yaml").read_text()
    agree_both("".join(head) + text + "".join(tail))
    agree_both(text.replace("task:", "".join(head) + "task:", 1))


def test_a_file_starting_with_a_document_end_is_no_flow_for_either_reader() -> None:
    text = (FLOWS / "sign-in.yaml").read_text()
    for odd in ("...\n" + text, "... # x\n" + text):
        assert quick_flow(odd.encode()) is None
        with pytest.raises(WebmemError):
            flowfile.parse_flow(odd)
    agree_both(text.replace("task:", "task: # comment\n\n  ", 1))
