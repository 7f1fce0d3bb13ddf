"""`webmem demo`: the main job end to end on the built-in demo portal, offline.

Starts the portal on a free 127.0.0.1 port, replays the example flows in flows/ with example inputs,
then switches the portal to a changed page version and replays again with local healing, showing
the repair as a diff, and finally prints what landed server-side.
"""

from __future__ import annotations

import difflib
import json
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from webmem.config import load_settings
from webmem.flowfile import load_flow
from webmem.heal import make_healer, write_back
from webmem.replay import RunOptions, run_flow
from webmem.session import open_page

EXAMPLES = [
    ("create-customer.yaml", {"full_name": "Ada Lovelace", "email": "ada@example.com", "plan": "enterprise"}),
    ("company-application.yaml", {"company": "Analytical Engines", "country": "United Kingdom",
                                  "contact_name": "Charles Babbage", "phone": "+44 20 7946 0000"}),
    ("add-contact.yaml", {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}),
    ("sign-in.yaml", {"password": "demo-pass-123"}),
]


def run_demo(flows_dir: Path, console: Console | None = None) -> int:
    from fixtures_site.server import PortalServer
    from webmem.cli import print_step

    console = console or Console(highlight=False)
    settings = load_settings()
    failures = 0
    with PortalServer() as portal, open_page(settings) as page:
        console.print(f"[bold]demo portal[/bold] at {portal.url} (variant baseline)\n")
        for name, inputs in EXAMPLES:
            ff = load_flow(flows_dir / name)
            console.print(f"[bold]replay[/bold] {name}: {ff.flow.task}")
            report = run_flow(page, ff.flow, inputs, RunOptions.from_settings(
                settings, base_url=portal.url, on_step=print_step), path=str(ff.path))
            console.print(f"  → {report.status} in {report.duration_ms:.0f} ms, {report.llm_calls} model calls\n")
            failures += not report.passed

        portal.set_variant("labels_reworded")
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "create-customer.yaml"
            shutil.copy(flows_dir / "create-customer.yaml", copy)
            ff = load_flow(copy)
            console.print("[bold]the page changed[/bold] (variant labels_reworded: labels and the button reworded); "
                          "replay with local healing, writing the repair into a copy of the flow")
            healer = make_healer("local", settings)
            report = run_flow(page, ff.flow, {"full_name": "Alan Turing", "email": "alan@example.com"},
                              RunOptions.from_settings(settings, base_url=portal.url, on_step=print_step,
                                                       healer=healer), path=str(copy))
            if report.passed:
                write_back(ff, report, write=True, propose=None)
                diff = difflib.unified_diff((flows_dir / "create-customer.yaml").read_text().splitlines(True),
                                            copy.read_text().splitlines(True), "flows/create-customer.yaml",
                                            "healed/create-customer.yaml", n=1)
                console.print(f"  → passed, {report.healed_steps} steps healed locally in "
                              f"{healer.heal_ms if healer else 0:.0f} ms, 0 model calls; the flow's diff:")
                console.print("".join(diff), markup=False, highlight=False)
            else:
                failures += 1
                console.print(f"  → failed: {report.error}")

        console.print("[bold]what landed[/bold] (GET /api/submissions):")
        for sub in portal.submissions():
            console.print(f"  #{sub['id']} {sub['kind']:<9} {sub['variant']:<16} {json.dumps(sub['data'])}",
                          markup=False)
    return 1 if failures else 0
