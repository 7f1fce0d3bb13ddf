"""Recording numbers for the closing note: digest size per portal page, model calls per recording, and
recording wall time vs replay wall time of the same flow (scripted model answering at once, and with a
simulated model latency). Starts the portal and the scripted OpenAI-compatible server itself.

    .venv/bin/python bench/record.py [--latency 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.openai_server import ScriptedOpenAI  # noqa: E402
from tests.test_record import CASES  # noqa: E402
from webmem import replay  # noqa: E402
from webmem.browser import launch as browser  # noqa: E402
from webmem.browser.config import load_settings  # noqa: E402
from webmem.demo_site.server import PortalServer  # noqa: E402
from webmem.learn.agents import HeuristicAgent, LLMAgent, record_task  # noqa: E402
from webmem.learn.agents import digest as dg  # noqa: E402
from webmem.llm import Model  # noqa: E402
from webmem.page import inpage  # noqa: E402


def digest_sizes(page, url: str) -> list[tuple[str, int, int]]:
    rows = []

    def measure(label: str) -> None:
        d = dg.take(page)
        rows.append((label, len(d.elements), d.tokens))

    for path in ("/", "/customers", "/customers/new", "/wizard/1", "/contacts", "/login"):
        page.goto(url + path)
        measure(path)
    page.goto(url + "/contacts")
    page.get_by_role("button", name="Add contact").click()
    measure("/contacts (dialog open)")
    page.goto(url + "/wizard/1")
    page.fill("#company", "ACME")
    page.select_option("#country", "gb")
    page.get_by_role("button", name="Next").click()
    measure("/wizard/2")
    page.fill("#contact_name", "C")
    page.fill("#phone", "1")
    page.get_by_role("button", name="Next").click()
    measure("/wizard/3")
    page.goto(url + "/login")
    page.fill("#username", "demo")
    page.fill("#password", "demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/records")
    measure("/records (signed in)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=1.0, help="simulated model latency in seconds")
    args = ap.parse_args()
    settings = load_settings()
    with PortalServer() as portal, ScriptedOpenAI() as llm, sync_playwright() as pw:
        os.environ["OPENAI_BASE_URL"] = llm.base_url
        os.environ["OPENAI_API_KEY"] = "bench"
        b = browser.launch(pw, settings)

        def fresh_page():
            ctx = b.new_context()
            inpage.install(ctx)
            return ctx, ctx.new_page()

        def record_then_replay(path: str, task: str, values: dict, agent, name: str):
            """Record on a fresh page, replay the flow on another; the recording and the replay's seconds."""
            ctx, page = fresh_page()
            res = record_task(page, portal.url + path, task, values, agent=agent, name=name)
            assert res.done, res.summary
            ctx.close()
            ctx, page = fresh_page()
            t0 = time.monotonic()
            rep = replay(page, res.flow, values, base_url=portal.url)
            replay_s = time.monotonic() - t0
            assert rep.passed, rep.error
            ctx.close()
            return res, replay_s

        ctx, page = fresh_page()
        print("digest size (≈ chars/4 tokens)")
        for label, n, tokens in digest_sizes(page, portal.url):
            print(f"  {label:<26} {n:>3} elements {tokens:>5} tokens")
        ctx.close()

        print(f"\n{'recording':<22} {'calls':>5} {'tokens':>7} {'record s':>9} {'replay s':>9}")
        for case, (path, task, values, script, _kind, _again) in CASES.items():
            for latency in (0.0, args.latency):
                llm.latency = latency
                llm.load(*script)
                res, replay_s = record_then_replay(path, task, values, LLMAgent(Model("scripted")), case)
                label = f"{case} (llm, {latency:g} s)"
                print(f"{label:<22} {res.model_calls:>5} {res.tokens:>7} {res.wall_ms / 1000:>9.2f} {replay_s:>9.2f}")
        for case, values in (("customer", CASES["customer"][2]), ("wizard", {**CASES["wizard"][2], "confirm": "yes"})):
            res, replay_s = record_then_replay(CASES[case][0], "bench", values, HeuristicAgent(), case)
            print(f"{case + ' (heuristic)':<22} {0:>5} {0:>7} {res.wall_ms / 1000:>9.2f} {replay_s:>9.2f}")
        b.close()


if __name__ == "__main__":
    main()
