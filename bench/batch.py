"""`webmem batch` throughput: the add-contact flow over N rows with 1, 2 and 4 workers, each beside a
hand-written Playwright loop doing the same fills with as many workers (one process and one browser per
worker, as batch). The two run at the same time on the same portal: the machine is shared and its load
comes and goes, so only rates taken side by side compare; the ratio counts the rows each finished while
both were running.

Prints per worker count: rows per minute of both, the ratio (goal ≥ 0.9× the hand-written loop per worker),
both loops' median time per row, and peak memory per worker (its Python process and Playwright driver;
with its browser in brackets), with the machine's load average. Then the journal's overhead per row (goal
≤ 5 ms: the claim, which also records the last row's outcome, + the durable commit point on SQLite, no
browser); per run, the time a worker held a row beyond its replay and what the row's claim and commit point
took in the run (with the other workers writing too).

With `--mode invoices`: the master-detail form of the test CRM portal (tests/portals/crm.py): each row an
invoice with 1 to 4 inline line items (a list input driving a repeat block, "Add another line" between items),
behind a sign-in. Both sides sign in once per worker: the hand-written loop at its start, `webmem batch` through
`--sign-in` (the flows it replays are learned first with `webmem do`, as a user would). Goal ≥ 1.0× per worker.

Run: .venv/bin/python bench/batch.py [--rows N | --full] [--workers 1 2 4] [--mode contacts|invoices]
     (default 100 rows; --full: 1,000)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from webmem.batch.journal import Outcome, open_journal
from webmem.batch.run import BatchOptions, run_batch
from webmem.demo_site.server import PortalServer

ROOT = Path(__file__).resolve().parent.parent


def rows(n: int, tag: str) -> list[dict[str, str]]:
    return [{"id": f"{tag}{i}", "name": f"Bench {tag}{i}", "email": f"{tag}{i}@example.com", "role": "editor"}
            for i in range(n)]


def hand_worker(base: str, data_file: str) -> None:
    """One hand-written loop (its own process and browser): the same fills, no checks beyond waiting for
    the confirmation. Prints per row when it finished (epoch s) and how long it took (ms), as JSON."""
    from playwright.sync_api import sync_playwright

    from webmem.browser import launch as browser
    from webmem.browser.config import load_settings

    data = json.loads(Path(data_file).read_text(encoding="utf-8"))
    per_row = []
    with sync_playwright() as pw:
        b = browser.launch(pw, load_settings())
        page = b.new_context().new_page()
        for r in data:
            t0 = time.perf_counter()
            page.goto(base + "/contacts")
            page.get_by_role("button", name="Add contact").click()
            page.get_by_label("Name", exact=True).fill(r["name"])
            page.get_by_label("Email").fill(r["email"])
            page.get_by_label("Role").select_option(r["role"])
            page.get_by_role("button", name="Save contact").click()
            page.wait_for_url("**/contacts?added=*")
            page.get_by_text("Contact added").wait_for()
            per_row.append((time.time(), (time.perf_counter() - t0) * 1000))
        b.close()
    print(json.dumps(per_row))


def invoice_rows(n: int, tag: str) -> list[dict[str, Any]]:
    """Invoices of 1 to 4 lines (2.5 on average), the line count varying from row to row."""
    return [{"id": f"{tag}{i}", "customer": f"Bench {tag}{i}", "date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
             "lines": [{"description": f"Item {k} of {tag}{i}", "quantity": str(1 + (i + k) % 5),
                        "unit_price": f"{5 + k}.{(i * 7 + k) % 100:02d}"} for k in range(1 + i % 4)]}
            for i in range(n)]


def hand_invoice_worker(base: str, data_file: str) -> None:
    """The hand-written loop on the CRM's invoice form: signs in once (password from CRM_PASSWORD), then per row
    fills the master fields, clicks "Add another line" for each line after the first, fills the lines by their
    formset names, saves and waits for the confirmation. Prints per row what hand_worker prints."""
    from playwright.sync_api import sync_playwright

    from webmem.browser import launch as browser
    from webmem.browser.config import load_settings

    data = json.loads(Path(data_file).read_text(encoding="utf-8"))
    per_row = []
    with sync_playwright() as pw:
        b = browser.launch(pw, load_settings())
        page = b.new_context().new_page()
        page.goto(base + "/login")
        page.get_by_label("Username").fill(os.environ["CRM_USER"])
        page.get_by_label("Password").fill(os.environ["CRM_PASSWORD"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        for r in data:
            t0 = time.perf_counter()
            page.goto(base + "/invoices/new")
            page.get_by_label("Customer").fill(r["customer"])
            page.get_by_label("Invoice date").fill(r["date"])
            for i, line in enumerate(r["lines"]):
                if i:
                    page.get_by_role("link", name="Add another line").click()
                for key in ("description", "quantity", "unit_price"):
                    page.locator(f'[name="lines-{i}-{key}"]').fill(line[key])
            page.get_by_role("button", name="Save invoice").click()
            page.wait_for_url(re.compile(r".*/invoices/\d+$"))
            page.get_by_text("Invoice saved.").wait_for()
            per_row.append((time.time(), (time.perf_counter() - t0) * 1000))
        b.close()
    print(json.dumps(per_row))


class PeakMemory:
    """Peak memory (PSS) of each child process of this one (a worker): its Python and Playwright driver, and
    with its browser."""

    def __init__(self) -> None:
        self.own: dict[int, int] = {}
        self.with_browser: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def watch(self) -> None:
        me = psutil.Process()
        # every 2 s: reading a process's PSS costs some 1.5 ms of CPU, and with 4 workers a side there are some
        # 60 processes, in the process that also serves the portal (every 0.5 s was a fifth of a CPU)
        while not self.stop.wait(2.0):
            for child in me.children():
                try:
                    tree = [child, *child.children(recursive=True)]
                    # proportional set size: pages a browser's processes share are counted once
                    sizes = [(_pss(p), "chrom" in p.name().lower()) for p in tree]
                except psutil.Error:
                    continue
                own = sum(size for size, browser in sizes if not browser)
                self.own[child.pid] = max(self.own.get(child.pid, 0), own)
                total = sum(size for size, _ in sizes)
                self.with_browser[child.pid] = max(self.with_browser.get(child.pid, 0), total)

    def per_worker(self, pids: set[int], among: bool = True) -> str:
        """The largest peak among the processes `pids` (or, not `among`, among all others)."""
        own = max((v for k, v in self.own.items() if (k in pids) == among), default=0) / 1e6
        total = max((v for k, v in self.with_browser.items() if (k in pids) == among), default=0) / 1e6
        return f"{own:4.0f} MB ({total:4.0f} MB with its browser)"


def _pss(p: psutil.Process) -> int:
    try:
        return int(p.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(p.memory_info().rss)


@dataclass
class Measured:
    took: float  # s, wall time from start to the last row (start-up included)
    rows: list[tuple[float, float]]  # per row: when it finished (epoch s), how long its entry took (ms)
    first: list[float]  # when each worker finished its first row (all of them are going from the last one)
    memory: str = ""
    outside: list[float] = field(default_factory=list)  # batch: ms a worker held a row beyond its replay
    claim: list[float] = field(default_factory=list)  # batch: ms of the row's claim (with the last row's outcome)
    commit: list[float] = field(default_factory=list)  # batch: ms of the row's durable commit point
    attempts: int = 0

    @property
    def rate(self) -> float:
        return len(self.rows) / self.took * 60


def start_hand_written(base: str, data: list[dict[str, Any]], workers: int, folder: Path,
                       mode: str = "contacts", env: dict[str, str] | None = None) -> list[subprocess.Popen[str]]:
    """The hand-written loop with `workers` processes (rows dealt out in turn), started in the background."""
    procs = []
    for w in range(workers):
        share = folder / f"hand-{workers}-{w}.json"
        share.write_text(json.dumps(data[w::workers]), encoding="utf-8")
        procs.append(subprocess.Popen([sys.executable, __file__, "--mode", mode, "--hand-worker", base, str(share)],
                                      stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, **(env or {})}))
    return procs


def finish_hand_written(procs: list[subprocess.Popen[str]], started: float) -> Measured:
    outs = [p.communicate(timeout=3600)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a hand-written worker failed (exit {[p.returncode for p in procs]})")
    per_worker = [[tuple(r) for r in json.loads(out.strip().splitlines()[-1])] for out in outs]
    rows = [r for mine in per_worker for r in mine]
    return Measured(max(t for t, _ in rows) - started, rows, [min(t for t, _ in mine) for mine in per_worker if mine],
                    attempts=len(rows))


def batch(base: str, data: list[dict[str, str]], workers: int, folder: Path) -> Measured:
    """`webmem batch` with `workers`."""
    path = folder / f"rows-{workers}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    started = time.time()
    res = run_batch(BatchOptions(flow=ROOT / "flows" / "add-contact.yaml", rows=path, workers=workers,
                                 base_url=base, heal="off", out=folder / f"rows-{workers}.outcomes.csv"))
    assert res.counts["done"] == len(data), res.counts
    return from_journal(res.journal, started)


def from_journal(journal: Path, started: float) -> Measured:
    """What a batch run's journal says: per row when it finished and how long its replay took."""
    j = open_journal(journal, next(iter(open_journal(journal, "").runs())))
    done = list(j.rows())
    j.close()
    rows = [(r["finished"], r["evidence"]["ms"]) for r in done]
    first: dict[str, float] = {}
    for r in done:
        who = r["evidence"].get("worker", "")
        first[who] = min(first.get(who, r["finished"]), r["finished"])
    return Measured(max(t for t, _ in rows) - started, rows, list(first.values()),
                    outside=[r["duration_ms"] - r["evidence"]["ms"] for r in done],
                    claim=[r["evidence"].get("claim_ms", 0) for r in done],
                    commit=[r["evidence"].get("commit_ms", 0) for r in done],
                    attempts=sum(r["attempts"] for r in done))


def overlap_rates(a: Measured, b: Measured) -> tuple[float, float, float]:
    """Rows per minute of each while both were running with all their workers (from the moment every worker of
    both had finished a row to the moment the first loop was done): the same machine, the same load, the same
    growing portal. And the window's length (s)."""
    start = max(*a.first, *b.first)
    end = min(max(t for t, _ in a.rows), max(t for t, _ in b.rows))
    span = max(end - start, 1e-9)
    count = [sum(1 for t, _ in m.rows if start < t <= end) for m in (a, b)]
    return count[0] / span * 60, count[1] / span * 60, span


def journal_overhead(n: int, folder: Path) -> float:
    """ms per row for the journal alone, as a worker writes it: claim (with the last row's outcome), the durable
    commit point."""
    j = open_journal(folder / "overhead.sqlite", "bench")
    j.start_run("flow", "rows")
    j.add_rows((i, f"r{i}", {"name": "x"}, None) for i in range(n))
    started = time.perf_counter()
    outcome = None
    for _ in range(n):
        c = j.claim("w", 30, verify=False, outcome=outcome)
        assert c is not None
        j.committing(c.key, "w")
        outcome = Outcome(c.key, "done", evidence={"url": "http://x"})
    j.record("w", outcome)
    took = time.perf_counter() - started
    j.close()
    return took / n * 1000


def track_overhead(n: int, folder: Path) -> float:
    """ms per row for the track record as a worker writes it (every row's run counts, one transaction each)."""
    from webmem.cache import stats
    from webmem.playback.report import RunReport

    flow = folder / "track" / "add-contact.yaml"
    flow.parent.mkdir(exist_ok=True)
    flow.write_bytes((ROOT / "flows" / "add-contact.yaml").read_bytes())
    report = RunReport(flow="add-contact", status="passed", duration_ms=900.0)
    started = time.perf_counter()
    for _ in range(n):
        stats.record_replay(flow, report)
    return (time.perf_counter() - started) / n * 1000


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:4.1f}/{five:4.1f} on {os.cpu_count()} CPUs"


def print_pair(w: int, n: int, before: str, hand: Measured, ours: Measured) -> tuple[float, float]:
    """One worker count's lines: both sides, then their rates while both ran. The two rates."""
    med = statistics.median
    h_rate, b_rate, span = overlap_rates(hand, ours)
    print(f"\n{w} worker(s) each  [{before} at the start, {load()} at the end]")
    for name, m in (("hand-written loop", hand), ("webmem batch", ours)):
        print(f"  {name:17s}: {m.took:6.1f} s for {n} rows with start-up, {m.rate:5.0f} rows/min; "
              f"median {med(ms for _, ms in m.rows):5.0f} ms per row; {m.attempts - n} retried; "
              f"peak {m.memory} per worker")
    print(f"  while both ran ({span:.0f} s): loop {h_rate:5.0f} rows/min, batch {b_rate:5.0f} rows/min "
          f"({h_rate / w:4.0f} and {b_rate / w:4.0f} per worker): "
          f"batch at {b_rate / h_rate:4.2f}× the hand-written loop; a worker held a row "
          f"{med(ours.outside):.1f} ms beyond its replay; its claim took {med(ours.claim):.1f} ms "
          f"(median; mean {statistics.fmean(ours.claim):.1f}), its durable commit point "
          f"{med(ours.commit):.1f} ms (mean {statistics.fmean(ours.commit):.1f})")
    return h_rate, b_rate


def print_summary(summary: list[tuple[int, float, float]]) -> None:
    print("\nsummary: rows/min while both ran; the ratio per worker (batch with N workers against the loop with "
          "N workers)")
    for w, h_rate, b_rate in summary:
        print(f"  {w} worker(s): loop {h_rate:5.0f}  batch {b_rate:5.0f}  per worker {h_rate / w:4.0f} and "
              f"{b_rate / w:4.0f}  ratio {b_rate / h_rate:4.2f}×")


def webmem_cli(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `webmem` command as a user runs it (in `folder`, secrets in the environment)."""
    return subprocess.run([sys.executable, "-m", "webmem.cli", *args], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", **env}, timeout=3600)


def learn_invoice_flows(base: str, user: str, folder: Path, env: dict[str, str]) -> tuple[Path, Path] | str:
    """The sign-in and the invoice flow (shown 2 lines), learned with `webmem do` and no model as a user would;
    or why they could not be."""
    store = folder / "flows"
    learned = []
    demo = folder / "invoice-inputs.json"
    demo.write_text(json.dumps({k: v for k, v in invoice_rows(3, "learn-")[1].items() if k != "id"}), "utf-8")
    for what, args in (("sign-in", ["--task", "Sign in to the CRM", "-i", f"username={user}", "--secret",
                                    "password=CRM_PASSWORD"]),
                       ("invoice", ["--task", "Add an invoice", "--inputs-file", str(demo)])):
        url = base + ("/login" if what == "sign-in" else "/invoices/new")
        sign_in = ["--sign-in", str(learned[0])] if learned else []
        proc = webmem_cli(folder, env, "do", url, *args, *sign_in, "--agent", "heuristic", "--store", str(store),
                          "--report", str(folder / f"{what}.json"))
        if proc.returncode != 0:
            said = [ln.strip("│╭╮╰╯─ ") for ln in (proc.stderr + proc.stdout).splitlines()]
            return f"`webmem do` could not learn the {what} (exit {proc.returncode}): " + \
                next((ln for ln in reversed(said) if ln), "")
        learned.append(store / json.loads((folder / f"{what}.json").read_text("utf-8"))["flow"])
    return learned[0], learned[1]


def batch_cli(data: list[dict[str, Any]], workers: int, folder: Path, flows: tuple[Path, Path],
              env: dict[str, str]) -> Measured:
    """`webmem batch` with `workers` and `--sign-in`, rows as JSON Lines (a list input per row)."""
    path = folder / f"invoices-{workers}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    journal = folder / f"invoices-{workers}.journal.sqlite"
    started = time.time()
    proc = webmem_cli(folder, env, "batch", str(flows[1]), str(path), "--workers", str(workers), "--sign-in",
                      str(flows[0]), "--heal", "off", "--journal", str(journal),
                      "--out", str(folder / f"invoices-{workers}.outcomes.csv"))
    if proc.returncode != 0:
        raise SystemExit(f"webmem batch failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return from_journal(journal, started)


def check_invoices(stored: list[dict[str, Any]], data: list[dict[str, Any]]) -> None:
    """Every invoice entered exactly once, with its lines as given and in order."""
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for inv in stored:
        by_customer.setdefault(inv["customer"], []).append(inv)
    for r in data:
        found = by_customer.get(r["customer"], [])
        assert len(found) == 1, f"{r['customer']}: entered {len(found)} times"
        got = [(ln["description"], str(ln["quantity"]), ln["unit_price"]) for ln in found[0]["lines"]]
        assert got == [(ln["description"], ln["quantity"], ln["unit_price"]) for ln in r["lines"]], (r, got)
        assert found[0]["date"] == r["date"], (r, found[0])


def main_invoices(n: int, workers: list[int]) -> None:
    sys.path.insert(0, str(ROOT))  # tests/ is not installed: the portal lives with the tests
    from tests.portals.crm import CrmServer

    env = {"CRM_USER": CrmServer.user, "CRM_PASSWORD": CrmServer.password}
    print(f"{n} invoices (1 to 4 lines each) on the test CRM per loop, both loops running at once, each worker "
          f"signed in once; {load()}")
    summary = []
    with CrmServer() as crm, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        flows = learn_invoice_flows(crm.url, crm.user, folder, env)
        if isinstance(flows, str):
            print(f"the webmem side cannot run yet, only the hand-written loop: {flows}")
        for w in workers:
            crm.reset()  # an empty portal each time, and its sign-ins counted from 0
            before = load()
            hand_data, our_data = invoice_rows(n, f"h{w}-"), invoice_rows(n, f"b{w}-")
            with PeakMemory() as peaks:
                started = time.time()
                procs = start_hand_written(crm.url, hand_data, w, folder, "invoices", env)
                hand_pids = {p.pid for p in procs}
                ours = batch_cli(our_data, w, folder, flows, env) if not isinstance(flows, str) else None
                hand = finish_hand_written(procs, started)
            check_invoices(crm.invoices(), hand_data + (our_data if ours else []))
            hand.memory = peaks.per_worker(hand_pids)
            if ours is None:
                print(f"\n{w} worker(s): hand-written loop {hand.took:6.1f} s for {n} invoices with start-up, "
                      f"{hand.rate:5.0f} rows/min ({hand.rate / w:4.0f} per worker); median "
                      f"{statistics.median(ms for _, ms in hand.rows):5.0f} ms per row; peak {hand.memory} per "
                      f"worker; {crm.signins} sign-ins  [{before} at the start, {load()} at the end]")
                continue
            ours.memory = peaks.per_worker(hand_pids, among=False)
            summary.append((w, *print_pair(w, n, before, hand, ours)))
            print(f"  sign-ins: {crm.signins} for {2 * w} workers (goal: one per worker)")
        if summary:
            print_summary(summary)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--full", action="store_true", help="1,000 rows, as the issue measures")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--mode", choices=["contacts", "invoices"], default="contacts",
                    help="the demo portal's contact form, or the test CRM's invoice form with inline lines")
    ap.add_argument("--hand-worker", nargs=2, metavar=("BASE", "ROWS_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.hand_worker:
        (hand_invoice_worker if args.mode == "invoices" else hand_worker)(*args.hand_worker)
        return
    n = 1000 if args.full else args.rows
    if args.mode == "invoices":
        main_invoices(n, args.workers)
        return
    print(f"{n} rows on the demo portal per loop, both loops running at once; {load()}")
    summary = []
    with PortalServer() as portal, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for w in args.workers:
            portal.reset()  # an empty portal each time: its contact list grows with every row entered
            before = load()
            with PeakMemory() as peaks:
                started = time.time()
                procs = start_hand_written(portal.url, rows(n, f"h{w}-"), w, folder)
                hand_pids = {p.pid for p in procs}
                ours = batch(portal.url, rows(n, f"b{w}-"), w, folder)
                hand = finish_hand_written(procs, started)
            landed = [s["data"]["email"] for s in portal.submissions("contact")]
            assert len(landed) == len(set(landed)) == 2 * n, "every row exactly once"
            hand.memory = peaks.per_worker(hand_pids)
            ours.memory = peaks.per_worker(hand_pids, among=False)
            summary.append((w, *print_pair(w, n, before, hand, ours)))
        print_summary(summary)
        print(f"journal overhead per row (SQLite claim with the last row's outcome + durable commit point): "
              f"{journal_overhead(2000, folder):.2f} ms  [{load()}]")
        print(f"track record per row (the row's run counted in the flow's store, one transaction, no fsync): "
              f"{track_overhead(500, folder):.2f} ms  [{load()}]")


if __name__ == "__main__":
    main(sys.argv[1:])
