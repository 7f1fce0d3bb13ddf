"""Healing cost and coverage on the demo portal.

1. Time added per locally healed step: the customer flow with only its first selector per target
   (so every step needs tier-2 similarity healing) on a reworded page (target ≤ 150 ms per step).
2. One run over every variant with --heal local: healed / failed safely / wrong (must be 0) / model calls.

Run: .venv/bin/python bench/heal.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from webmem import Replayer, load_flow
from webmem.browser import launch as browser
from webmem.browser.config import load_settings
from webmem.demo_site.server import PortalServer
from webmem.demo_site.variants import VARIANTS
from webmem.page import inpage

ROOT = Path(__file__).resolve().parent.parent
INPUTS = {"full_name": "Bench Heal", "email": "bench@example.com", "plan": "enterprise", "notes": "n"}


def main() -> None:
    settings = load_settings(ROOT)
    with PortalServer() as portal, sync_playwright() as pw:
        b = browser.launch(pw, settings)

        def fresh_page():
            ctx = b.new_context()
            inpage.install(ctx)
            return ctx, ctx.new_page()

        replayer = Replayer(settings, heal="local", base_url=portal.url)
        per_step: list[float] = []
        run_ms: dict[str, list[float]] = {"baseline": [], "labels_reworded": []}
        for i in range(10):  # side by side: the same flow unhealed on the learned page, healed on a changed one
            variant = "labels_reworded" if i % 2 else "baseline"
            portal.set_variant(variant)
            flow = load_flow(ROOT / "flows" / "create-customer.yaml").flow
            for step in flow.steps:
                if step.target:
                    step.target.selectors = step.target.selectors[:1]
            ctx, page = fresh_page()
            report = replayer.run(page, flow, INPUTS)
            assert report.passed, report.error
            run_ms[variant].append(report.duration_ms)
            if report.healed_steps:
                per_step.append(report.heal_ms / report.healed_steps)
            ctx.close()
        print(f"local heal, time added per healed step: median {statistics.median(per_step):.1f} ms "
              "(target <= 150 ms)")
        healed, plain = statistics.median(run_ms["labels_reworded"]), statistics.median(run_ms["baseline"])
        print(f"a healed run (6 steps healed) vs the same run unhealed: {healed:.0f} ms vs {plain:.0f} ms, "
              f"{healed / plain:.2f}x (target <= 1.5x)")

        # a refused step: the step that stops on `missing_field` beside the same step passing on baseline
        passing: list[list[float]] = []
        refused: list[tuple[int, float]] = []
        for i in range(6):
            portal.set_variant("missing_field" if i % 2 else "baseline")
            ctx, page = fresh_page()
            report = replayer.run(page, load_flow(ROOT / "flows" / "create-customer.yaml").flow, INPUTS)
            ctx.close()
            if i % 2:
                [stop] = [s for s in report.steps if s.status == "failed"]
                refused.append((stop.index, stop.duration_ms))
            else:
                passing.append([s.duration_ms for s in report.steps])
        at = refused[0][0]
        ok_ms = statistics.median(run[at - 1] for run in passing)
        refused_ms = statistics.median(ms for _, ms in refused)
        print(f"a refused step (missing_field, step {at}) vs the same step passing: {refused_ms:.0f} ms vs "
              f"{ok_ms:.0f} ms, +{refused_ms - ok_ms:.0f} ms (target <= +500 ms)")

        totals = {"passed": 0, "healed steps": 0, "failed safely": 0, "wrong": 0, "model calls": 0}
        print(f"\n{'variant':<18}{'outcome':<16}{'healed':>7}{'heal ms':>9}{'run ms':>9}")
        for name in VARIANTS:
            portal.set_variant(name)
            portal.reset()
            flow = load_flow(ROOT / "flows" / "create-customer.yaml").flow
            ctx, page = fresh_page()
            t0 = time.perf_counter()
            report = replayer.run(page, flow, INPUTS)
            run_ms = (time.perf_counter() - t0) * 1000
            ctx.close()
            subs = portal.submissions("customer")
            right = bool(subs) and all(subs[0]["data"].get(k) == v for k, v in INPUTS.items())
            wrong = (report.passed and not right) or bool(portal.submissions("newsletter")) or portal.deleted_all > 0
            outcome = "WRONG" if wrong else ("passed" if report.passed else "failed safely")
            totals["passed" if report.passed and not wrong else "wrong" if wrong else "failed safely"] += 1
            totals["healed steps"] += report.healed_steps
            totals["model calls"] += report.llm_calls
            print(f"{name:<18}{outcome:<16}{report.healed_steps:>7}{report.heal_ms:>9.0f}{run_ms:>9.0f}")
        b.close()
    print("\ntotals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
