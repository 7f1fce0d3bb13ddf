"""Replay overhead: every portal flow (customer, wizard, contact, sign-in) replayed by webmem and by an
equivalent hand-written Playwright script, alternating in one run; prints medians and the ratio per flow
(target <= 1.1x), and the median cost of one signature check and of resolving + verifying one target
(target <= 5 ms each). The machine's load average is printed with the numbers: compare only within a run.

Run: .venv/bin/python bench/replay_overhead.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from webmem import Replayer, load_flow
from webmem.browser import launch as browser
from webmem.browser.config import load_settings
from webmem.demo_site.app import DEMO_PASSWORD, DEMO_USER
from webmem.demo_site.server import PortalServer
from webmem.page import inpage, signature
from webmem.page.locate import resolve
from webmem.steps import STEPS

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER = {"full_name": "Bench Mark", "email": "bench@example.com", "plan": "pro", "notes": "n"}
WIZARD = {"company": "Bench Co", "country": "fr", "contact_name": "Ada King", "phone": "+33 1 23"}
CONTACT = {"name": "Alan Turing", "email": "alan@example.com", "role": "admin"}
SIGN_IN = {"username": DEMO_USER, "password": DEMO_PASSWORD}


def customer(page: Page, base: str) -> None:
    page.goto(base + "/customers/new")
    page.get_by_label("Full name").fill(CUSTOMER["full_name"])
    page.locator("#email").fill(CUSTOMER["email"])
    page.get_by_label("Plan").select_option("pro")
    page.get_by_role("radio", name="Phone").check()
    page.get_by_label("VIP customer").check()
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_label("Notes").fill(CUSTOMER["notes"])
    page.get_by_role("button", name="Save customer").click()
    page.wait_for_url("**/customers/*")
    page.get_by_text("Customer created").wait_for()


def wizard(page: Page, base: str) -> None:
    page.goto(base + "/wizard/1")
    page.get_by_label("Company name").fill(WIZARD["company"])
    page.get_by_label("Country").select_option(WIZARD["country"])
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Contact name").fill(WIZARD["contact_name"])
    page.get_by_label("Phone").fill(WIZARD["phone"])
    page.get_by_role("button", name="Next").click()
    page.get_by_label("I confirm these details are correct").check()
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_url("**/wizard/done/*")
    page.get_by_text("Application submitted").wait_for()


def contact(page: Page, base: str) -> None:
    page.goto(base + "/contacts")
    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("Name").fill(CONTACT["name"])
    page.get_by_label("Email").fill(CONTACT["email"])
    page.get_by_label("Role").select_option(CONTACT["role"])
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url("**/contacts?added=*")
    page.get_by_text("Contact added").first.wait_for()


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(SIGN_IN["username"])
    page.get_by_label("Password").fill(SIGN_IN["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/records")
    page.get_by_text("Records").first.wait_for()


# flow name: (file, inputs, the hand-written script)
FLOWS: dict[str, tuple[str, dict[str, str], Callable[[Page, str], None]]] = {
    "customer": ("create-customer.yaml", CUSTOMER, customer),
    "wizard": ("company-application.yaml", WIZARD, wizard),
    "contact": ("add-contact.yaml", CONTACT, contact),
    "sign-in": ("sign-in.yaml", SIGN_IN, sign_in),
}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(n: int = 20) -> None:
    settings = load_settings(ROOT)
    flows = {name: load_flow(ROOT / "flows" / file).flow for name, (file, _, _) in FLOWS.items()}
    times: dict[str, dict[str, list[float]]] = {name: {"webmem": [], "playwright": []} for name in FLOWS}
    sig_ms: list[float] = []
    verify_ms: list[float] = []
    print(f"before: {load()}")
    with PortalServer() as portal, sync_playwright() as pw:
        b = browser.launch(pw, settings)
        replayer = Replayer(settings, base_url=portal.url)
        for i in range(n * 2 + 2):
            which = "webmem" if i % 2 == 0 else "playwright"
            for name, (_, inputs, script) in FLOWS.items():
                ctx = b.new_context()
                if which == "webmem":
                    inpage.install(ctx)
                page = ctx.new_page()
                t0 = time.perf_counter()
                if which == "webmem":
                    report = replayer.run(page, flows[name], inputs)
                    assert report.passed, report.error
                else:
                    script(page, portal.url)
                elapsed = (time.perf_counter() - t0) * 1000
                if i >= 2:  # the first pair warms up the browser
                    times[name][which].append(elapsed)
                ctx.close()
        # micro-costs on the form page
        ctx = b.new_context()
        inpage.install(ctx)
        page = ctx.new_page()
        page.goto(portal.url + "/customers/new")
        flow = flows["customer"]
        targets = [(s.target, STEPS[s.action]) for s in flow.steps if s.target is not None and s.action != "click"]
        for _ in range(10):
            t0 = time.perf_counter()
            signature.compare(flow.pages["customers-new"].signature, signature.capture(page))
            sig_ms.append((time.perf_counter() - t0) * 1000)
            for target, kind in targets:
                t0 = time.perf_counter()
                assert resolve(page, target, kind.fits).ok
                verify_ms.append((time.perf_counter() - t0) * 1000)
        b.close()
    print(f"after:  {load()}")
    print(f"portal flows, N={n} each, webmem replay and hand-written Playwright alternating")
    print(f"{'flow':<10} {'by hand ms':>11} {'webmem ms':>10} {'ratio':>7}  (target <= 1.1x)")
    for name, t in times.items():
        wm, pwm = statistics.median(t["webmem"]), statistics.median(t["playwright"])
        print(f"{name:<10} {pwm:>11.1f} {wm:>10.1f} {wm / pwm:>6.2f}x")
    print(f"signature check          median {statistics.median(sig_ms):5.1f} ms  (target <= 5 ms)")
    print(f"resolve + verify target  median {statistics.median(verify_ms):5.1f} ms  (target <= 5 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
