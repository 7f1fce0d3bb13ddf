"""`webmem batch` throughput: the add-contact flow over N rows with 1, 2 and 4 workers, beside a
hand-written Playwright loop doing the same fills (one browser, one page), in one run. Prints rows per
minute, the ratio per worker (goal ≥ 0.9× the hand-written loop), journal overhead per row (goal
≤ 5 ms: claim + committing + finish on SQLite, no browser) and peak memory per worker process.

Run: .venv/bin/python bench/batch.py [ROWS] [WORKERS...]      (default: 1000 rows, 1 2 4 workers)
"""

from __future__ import annotations

import csv
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from fixtures_site.server import PortalServer
from webmem.batch.journal import open_journal
from webmem.batch.run import BatchOptions, run_batch
from webmem.browser import launch as browser
from webmem.browser.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def rows(n: int, tag: str) -> list[dict[str, str]]:
    return [{"id": f"{tag}{i}", "name": f"Bench {tag}{i}", "email": f"{tag}{i}@example.com", "role": "editor"}
            for i in range(n)]


def hand_written(base: str, data: list[dict[str, str]]) -> float:
    started = time.perf_counter()
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
    print(f"  hand-written loop: median {sorted(per_row)[len(per_row) // 2]:.0f} ms per row")
    return time.perf_counter() - started


def peak_rss(stop: threading.Event, peaks: dict[int, int]) -> None:
    """Peak resident memory of each worker process (Python + its Playwright driver, not Chromium)."""
    me = psutil.Process()
    while not stop.wait(0.2):
        for child in me.children():
            try:
                tree = [child, *(c for c in child.children(recursive=True) if "chrom" not in c.name().lower())]
                rss = sum(p.memory_info().rss for p in tree)
            except psutil.Error:
                continue
            peaks[child.pid] = max(peaks.get(child.pid, 0), rss)


def batch(base: str, data: list[dict[str, str]], workers: int, folder: Path) -> tuple[float, int]:
    path = folder / f"rows-{workers}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    peaks: dict[int, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=peak_rss, args=(stop, peaks), daemon=True)
    watcher.start()
    started = time.perf_counter()
    res = run_batch(BatchOptions(flow=ROOT / "flows" / "add-contact.yaml", rows=path, workers=workers,
                                 base_url=base, heal="off"))
    took = time.perf_counter() - started
    stop.set()
    watcher.join()
    assert res.counts["done"] == len(data), res.counts
    j = open_journal(res.journal, next(iter(open_journal(res.journal, "").runs())))
    # per row: the time a worker held it beyond the replay itself (claim to finish, minus replay)
    outside = sorted(r["duration_ms"] - r["evidence"]["ms"] for r in j.rows())
    replay = sorted(r["evidence"]["ms"] for r in j.rows())
    j.close()
    print(f"  {workers} worker(s): median replay {replay[len(replay) // 2]:.0f} ms per row, worker overhead "
          f"beyond the replay {outside[len(outside) // 2]:.1f} ms per row")
    return took, max(peaks.values(), default=0)


def journal_overhead(n: int, folder: Path) -> float:
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


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1000
    counts = [int(a) for a in argv[1:]] or [1, 2, 4]
    with PortalServer() as portal, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # the portal starts empty for each measurement: its contact list grows with every row entered
        hand = hand_written(portal.url, rows(n, "h"))
        assert len(portal.submissions("contact")) == n
        hand_rate = n / hand * 60
        print(f"{n} rows on the demo portal (times include browser start-up)")
        print(f"hand-written Playwright loop, 1 browser: {hand:7.1f} s  {hand_rate:7.0f} rows/min")
        for w in counts:
            portal.reset()
            took, peak = batch(portal.url, rows(n, f"w{w}-"), w, folder)
            assert len(portal.submissions("contact")) == n  # every row exactly once
            rate = n / took * 60
            print(f"webmem batch, {w} worker(s):            {took:7.1f} s  {rate:7.0f} rows/min  "
                  f"{rate / w / hand_rate:4.2f}× the loop per worker  peak {peak / 1e6:5.0f} MB per worker")
        print(f"journal overhead per row (SQLite claim + committing + finish): {journal_overhead(2000, folder):.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
