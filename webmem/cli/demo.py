"""`webmem demo`: the main job end to end on the built-in demo portal, offline.

Starts the portal on a free 127.0.0.1 port and works through the behaviour cache with a fresh flow
store: a task done the first time is learned by the agent (a miss), the same task with other inputs is
replayed with no model (a hit, timed side by side), and after the portal switches to a changed page
version it is healed and the flow's diff shown. Then the example flows in flows/ are replayed (a
wizard, a dialog, a sign-in with a secret), and what landed server-side is printed.

The agent is the offline heuristic one, or the LLM agent when OPENAI_API_KEY is set.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from playwright.sync_api import Page
from rich.console import Console
from rich.markup import escape

from webmem.browser.config import Settings, load_settings
from webmem.browser.session import open_page
from webmem.cache.memory import DoResult, Memory
from webmem.cli.console import out, print_action, print_result, print_step
from webmem.flow.flowfile import load_flow
from webmem.playback.replayer import Replayer

DEFAULT_MODEL = "gpt-4o-mini"
TASK = "Create a customer named {name} on the {plan} plan"
CUSTOMERS = [("Ada Lovelace", "ada@example.com", "enterprise"), ("Alan Turing", "alan@example.com", "pro"),
             ("Grace Hopper", "grace@example.com", "free")]
EXAMPLES = [
    ("company-application.yaml", {"company": "Analytical Engines", "country": "United Kingdom",
                                  "contact_name": "Charles Babbage", "phone": "+44 20 7946 0000"}),
    ("add-contact.yaml", {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}),
    ("sign-in.yaml", {"password": "demo-pass-123"}),
]


def run_demo(flows_dir: Path, console: Console | None = None, store: Path | None = None) -> int:
    from webmem.demo_site.server import PortalServer
    from webmem.flow.inputs import Redactor

    console = console or out  # the command line's: whole lines to a pipe, no emoji codes, no highlighting
    settings = load_settings()
    agent, model = ("openai", settings.model or DEFAULT_MODEL) if os.environ.get("OPENAI_API_KEY") else \
        ("heuristic", None)
    failures = 0
    with PortalServer() as portal, open_page(settings) as page, tempfile.TemporaryDirectory() as tmp:
        store = store or Path(tmp) / "flows"
        console.print(f"[bold]demo portal[/bold] at {portal.url}; flow store {escape(str(store))}; agent {agent}"
                      f"{f' ({model})' if model else ''}\n")
        memory = Memory(store, agent=agent, model=model, settings=settings, on_step=print_step,
                        on_action=lambda log: print_action(log, Redactor()),
                        on_event=lambda text: console.print(f"[bold]→[/bold] {escape(text)}", soft_wrap=True))

        def do(name: str, email: str, plan: str, what: str) -> DoResult:
            console.print(f"[bold]do[/bold] {escape(TASK.format(name=name, plan=plan))!r} [dim]— {what}[/dim]")
            res = memory.do(page, TASK.format(name=name, plan=plan),
                            {"full_name": name, "email": email, "plan": plan}, url=portal.url + "/customers/new")
            print_result(res)
            console.print()
            return res

        first = do(*CUSTOMERS[0], "the first time: a miss, the agent learns it")
        second = do(*CUSTOMERS[1], "the same task, other inputs: a hit, no model")
        results = [first, second]
        if first.ok and second.ok:
            console.print(f"[bold]side by side[/bold]: learning took {first.duration_ms / 1000:.2f} s and "
                          f"{first.model_calls} model calls; the hit {second.duration_ms / 1000:.2f} s and "
                          f"{second.model_calls} model calls ({first.duration_ms / second.duration_ms:.1f}× faster)\n")
        portal.set_variant("labels_reworded")
        console.print("[bold]the page changed[/bold] (variant labels_reworded: labels and the button reworded)")
        results.append(do(*CUSTOMERS[2], "a hit on a changed page: healed locally, the flow rewritten"))
        failures += sum(not r.ok for r in results)
        portal.set_variant("baseline")

        failures += replay_examples(page, settings, flows_dir, portal.url, console)

        console.print("[bold]what landed[/bold] (GET /api/submissions):")
        for sub in portal.submissions():
            console.print(f"  #{sub['id']} {sub['kind']:<9} {sub['variant']:<16} {json.dumps(sub['data'])}",
                          markup=False)
    return 1 if failures else 0


def replay_examples(page: Page, settings: Settings, flows_dir: Path, base_url: str, console: Console) -> int:
    """Replay the hand-checked example flows (a wizard, a dialog, a secret); returns the failures."""
    failures = 0
    replayer = Replayer(settings, base_url=base_url, on_step=print_step)
    for name, inputs in EXAMPLES:
        ff = load_flow(flows_dir / name)
        console.print(f"[bold]replay[/bold] {escape(f'{name}: {ff.flow.task}')}")
        report = replayer.run(page, ff, inputs)
        console.print(f"  → {report.status} in {report.duration_ms:.0f} ms, {report.llm_calls} model calls\n")
        failures += not report.passed
    return failures
