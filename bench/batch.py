"""`webmem batch` throughput: the add-contact flow over N rows with 1, 2 and 4 workers, each beside a
hand-written Playwright loop doing the same fills with as many workers (one process and one browser per
worker, as batch), measured side by side in one run: the machine is shared, so ratios count, not rates.

Prints per worker count: rows per minute of both, the ratio (goal ≥ 0.9× the hand-written loop per worker),
both loops' median time per row, and peak memory per worker (its Python process and Playwright driver;
with its browser in brackets). Then the journal's overhead per row (goal ≤ 5 ms: claim + the durable
commit point + finish on SQLite, no browser) and the time a worker holds a row beyond its replay. Each line
carries the machine's load average as it was measured.

Run: .venv/bin/python bench/batch.py [--rows N | --full] [--workers 1 2 4]   (default 100 rows; --full: 1,000)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from fixtures_site.server import PortalServer
from webmem.batch.journal import open_journal
from webmem.batch.run import BatchOptions, run_batch

ROOT = Path(__file__).resolve().parent.parent


def rows(n: int, tag: str) -> list[dict[str, str]]:
    return [{"id": f"{tag}{i}", "name": f"Bench {tag}{i}", "email": f"{tag}{i}@example.com", "role": "editor"}
            for i in range(n)]


def hand_worker(base: str, data_file: str) -> None:
    """One hand-written loop (its own process and browser): the same fills, no checks beyond waiting for
    the confirmation. Prints its per-row times (ms) as JSON."""
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
            per_row.append((time.perf_counter() - t0) * 1000)
        b.close()
    print(json.dumps(per_row))


class PeakMemory:
    """Peak memory (PSS) of each worker process: its Python and Playwright driver, and with its browser."""

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
        while not self.stop.wait(0.5):
            for child in me.children():
                try:
                    tree = [child, *child.children(recursive=True)]
                    # proportional set size: pages a browser's processes share are counted once
                    sizes = [(_pss(p), "chrom" in p.name().lower()) for p in tree]
                except psutil.Error:
                    continue
                own = sum(rss for rss, browser in sizes if not browser)
                self.own[child.pid] = max(self.own.get(child.pid, 0), own)
                total = sum(rss for rss, _ in sizes)
                self.with_browser[child.pid] = max(self.with_browser.get(child.pid, 0), total)

    def per_worker(self) -> str:
        own = max(self.own.values(), default=0) / 1e6
        total = max(self.with_browser.values(), default=0) / 1e6
        return f"{own:4.0f} MB ({total:4.0f} MB with its browser)"


def _pss(p: psutil.Process) -> int:
    try:
        return int(p.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(p.memory_info().rss)


def hand_written(base: str, data: list[dict[str, str]], workers: int, folder: Path) -> tuple[float, list[float], str]:
    """The hand-written loop with `workers` processes, rows dealt out in turn: wall time (start-up
    included, as batch's), per-row times, peak memory per worker."""
    procs = []
    with PeakMemory() as peaks:
        started = time.perf_counter()
        for w in range(workers):
            share = folder / f"hand-{workers}-{w}.json"
            share.write_text(json.dumps(data[w::workers]), encoding="utf-8")
            procs.append(subprocess.Popen([sys.executable, __file__, "--hand-worker", base, str(share)],
                                          stdout=subprocess.PIPE, text=True, cwd=ROOT))
        outs = [p.communicate(timeout=3600)[0] for p in procs]
        took = time.perf_counter() - started
    if any(p.returncode for p in procs):
        raise SystemExit(f"a hand-written worker failed (exit {[p.returncode for p in procs]})")
    per_row = [ms for out in outs for ms in json.loads(out.strip().splitlines()[-1])]
    return took, per_row, peaks.per_worker()


def batch(base: str, data: list[dict[str, str]], workers: int, folder: Path) -> tuple[float, list[float], str,
                                                                                       list[float]]:
    """`webmem batch` with `workers`: wall time, per-row replay times, peak memory per worker, and per row
    the time a worker held it beyond its replay (claim, pacing, page check, finish)."""
    path = folder / f"rows-{workers}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    with PeakMemory() as peaks:
        started = time.perf_counter()
        res = run_batch(BatchOptions(flow=ROOT / "flows" / "add-contact.yaml", rows=path, workers=workers,
                                     base_url=base, heal="off"))
        took = time.perf_counter() - started
    assert res.counts["done"] == len(data), res.counts
    j = open_journal(res.journal, next(iter(open_journal(res.journal, "").runs())))
    done = list(j.rows())
    j.close()
    replay = [r["evidence"]["ms"] for r in done]
    outside = [r["duration_ms"] - r["evidence"]["ms"] for r in done]
    return took, replay, peaks.per_worker(), outside


def journal_overhead(n: int, folder: Path) -> float:
    """ms per row for the journal alone: claim, the durable commit point, finish."""
    j = open_journal(folder / "overhead.sqlite", "bench")
    j.start_run("flow", "rows")
    j.add_rows((i, f"r{i}", {"name": "x"}, None) for i in range(n))
    started = time.perf_counter()
    for _ in range(n):
        c = j.claim("w", 30, verify=False)
        assert c is not None
        j.committing(c.key, "w")
        j.finish(c.key, "w", "done", evidence={"url": "http://x"})
    took = time.perf_counter() - started
    j.close()
    return took / n * 1000


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:4.1f}/{five:4.1f} on {os.cpu_count()} CPUs"


def measure(portal: PortalServer, run: Callable[[], tuple], n: int) -> tuple:
    portal.reset()  # each measurement starts on an empty portal: its contact list grows with every row
    out = run()
    got = len(portal.submissions("contact"))
    assert got == n, f"{got} rows landed, expected {n} (every row exactly once)"
    return out


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--full", action="store_true", help="1,000 rows, as the issue measures")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--hand-worker", nargs=2, metavar=("BASE", "ROWS_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.hand_worker:
        hand_worker(*args.hand_worker)
        return
    n = 1000 if args.full else args.rows
    med = statistics.median
    print(f"{n} rows on the demo portal; times include start-up (processes, browsers); {load()}")
    with PortalServer() as portal, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = []
        for w in args.workers:
            h_took, h_rows, h_mem = measure(portal, lambda w=w: hand_written(portal.url, rows(n, f"h{w}-"), w,
                                                                             folder), n)
            h_load = load()
            b_took, b_rows, b_mem, outside = measure(portal, lambda w=w: batch(portal.url, rows(n, f"b{w}-"), w,
                                                                              folder), n)
            h_rate, b_rate = n / h_took * 60, n / b_took * 60
            results.append((w, h_rate, b_rate))
            print(f"\n{w} worker(s):")
            print(f"  hand-written loop: {h_took:7.1f} s {h_rate:6.0f} rows/min  median {med(h_rows):5.0f} ms/row  "
                  f"peak {h_mem} per worker  [{h_load}]")
            print(f"  webmem batch:      {b_took:7.1f} s {b_rate:6.0f} rows/min  median {med(b_rows):5.0f} ms/row  "
                  f"peak {b_mem} per worker  [{load()}]")
            print(f"  ratio: {b_rate / h_rate:4.2f}× the hand-written loop with {w} worker(s) (per row: "
                  f"{med(h_rows) / med(b_rows):4.2f}×); a worker held a row {med(outside):.1f} ms beyond its replay")
        print("\nsummary (rows/min; per worker = rate / workers; ratio against the loop with as many workers)")
        one = results[0][1] if results and results[0][0] == 1 else None
        for w, h_rate, b_rate in results:
            scale = f"  batch per worker vs the 1-worker loop {b_rate / w / one:4.2f}×" if one else ""
            print(f"  {w} worker(s): loop {h_rate:6.0f}  batch {b_rate:6.0f}  ratio {b_rate / h_rate:4.2f}×{scale}")
        print(f"journal overhead per row (SQLite claim + durable commit point + finish): "
              f"{journal_overhead(2000, folder):.2f} ms  [{load()}]")


if __name__ == "__main__":
    main(sys.argv[1:])
