"""Replay overhead: the customer-form flow replayed by webmem and by an equivalent hand-written
Playwright script, alternating in one run; prints medians and the ratio (target ≤ 1.2×), and the
median cost of one signature check and one fingerprint verification (target ≤ 10 ms each).

Run: .venv/bin/python bench/replay_overhead.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from fixtures_site.server import PortalServer
from webmem import Replayer, load_flow
from webmem.browser import launch as browser
from webmem.browser.config import load_settings
from webmem.page import inpage, signature
from webmem.page.locate import resolve

ROOT = Path(__file__).resolve().parent.parent
INPUTS = {"full_name": "Bench Mark", "email": "bench@example.com", "plan": "pro", "notes": "n"}


def hand_written(page: Page, base: str) -> None:
    page.goto(base + "/customers/new")
    page.get_by_label("Full name").fill(INPUTS["full_name"])
    page.locator("#email").fill(INPUTS["email"])
    page.get_by_label("Plan").select_option("pro")
    page.get_by_role("radio", name="Phone").check()
    page.get_by_label("VIP customer").check()
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_label("Notes").fill(INPUTS["notes"])
    page.get_by_role("button", name="Save customer").click()
    page.wait_for_url("**/customers/*")
    page.get_by_text("Customer created").wait_for()


def main(n: int = 20) -> None:
    flow = load_flow(ROOT / "flows" / "create-customer.yaml").flow
    settings = load_settings(ROOT)
    times: dict[str, list[float]] = {"webmem": [], "playwright": []}
    sig_ms: list[float] = []
    verify_ms: list[float] = []
    with PortalServer() as portal, sync_playwright() as pw:
        b = browser.launch(pw, settings)
        replayer = Replayer(settings, base_url=portal.url)
        for i in range(n * 2 + 2):
            which = "webmem" if i % 2 == 0 else "playwright"
            ctx = b.new_context()
            if which == "webmem":
                inpage.install(ctx)
            page = ctx.new_page()
            t0 = time.perf_counter()
            if which == "webmem":
                report = replayer.run(page, flow, INPUTS)
                assert report.passed, report.error
            else:
                hand_written(page, portal.url)
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= 2:  # the first pair warms up the browser
                times[which].append(elapsed)
            ctx.close()
        # micro-costs on the form page
        ctx = b.new_context()
        inpage.install(ctx)
        page = ctx.new_page()
        page.goto(portal.url + "/customers/new")
        target = flow.steps[2].target
        for _ in range(30):
            t0 = time.perf_counter()
            signature.compare(flow.pages["customers-new"].signature, signature.capture(page))
            sig_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            assert resolve(page, target, "fill").ok
            verify_ms.append((time.perf_counter() - t0) * 1000)
        b.close()
    wm, pwm = statistics.median(times["webmem"]), statistics.median(times["playwright"])
    print(f"customer form, N={n} each, alternating")
    print(f"  hand-written Playwright  median {pwm:7.1f} ms")
    print(f"  webmem replay            median {wm:7.1f} ms")
    print(f"  ratio webmem / hand-written: {wm / pwm:.2f}x  (target <= 1.2x)")
    print(f"  signature check          median {statistics.median(sig_ms):5.1f} ms  (target <= 10 ms)")
    print(f"  resolve + verify target  median {statistics.median(verify_ms):5.1f} ms  (target <= 10 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
