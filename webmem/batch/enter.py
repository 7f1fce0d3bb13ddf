"""Replaying one row: the one place batch calls the replayer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from webmem.browser.config import Settings
from webmem.flow.format import Flow
from webmem.flow.inputs import consumed
from webmem.flow.model import PageState, Signature
from webmem.playback.heal import HealMode
from webmem.playback.replayer import Replayer, Screenshots
from webmem.playback.report import FailOn, RunReport
from webmem.playback.signin import SignIn


def verify_flow(flow: Flow) -> Flow | None:
    """The flow's `verify:` steps as a flow of their own (same inputs, pages and base URL)."""
    if flow.verify is None:
        return None
    checks = flow.model_copy(update={"name": f"{flow.name} (verify)", "steps": flow.verify.steps, "verify": None})
    # the inputs its steps do not use are no values it was learned with (the row's are checked on the flow)
    used = consumed(checks)
    inputs = {k: s if k in used else s.model_copy(update={"default": None, "required": False})
              for k, s in flow.inputs.items()}
    return checks.model_copy(update={"inputs": inputs})


def adopt(flow: Flow, report: RunReport) -> Flow:
    """`flow` as a passed run of it left it: its healed targets and the page states that drifted (a list
    that grew past its learned size), as a write-back would store them, in memory only. The next rows then
    find the page in its learned state instead of verifying every target the careful way, and a heal is not
    paid for again on every row."""
    if not report.passed:
        return flow
    steps = list(flow.steps)
    for fix in report.repairs:
        step = steps[fix.index] if fix.index < len(steps) else None
        if step is not None and step.target is not None:
            args = step.args.model_copy(update={"target": fix.target})
            steps[fix.index] = step.model_copy(update={step.action: args})
    adopted = with_pages(flow.model_copy(update={"steps": steps}) if report.repairs else flow, report.page_states)
    return with_positions(adopted, report.positions)


def with_pages(flow: Flow, states: Mapping[str, Signature]) -> Flow:
    """`flow` with the signatures of its page states named in `states` replaced."""
    if not any(k in flow.pages for k in states):
        return flow
    pages = {k: v.model_copy(update={"signature": states[k]}) if k in states else v for k, v in flow.pages.items()}
    return flow.model_copy(update={"pages": pages})


def with_positions(flow: Flow, seen: Mapping[str, Signature]) -> Flow:
    """`flow` with how its page states showed at places of a repeat block's plan (`page@item 3 step 1`, the
    report's `positions`) as page states of their own, which a page check at that place takes as exact: the
    rows of an invoice with three lines look the same on every row, but unlike the two the flow was learned
    with. In memory only: a flow file never holds them (they vary with the data, a reviewer would see churn)."""
    if not seen:
        return flow
    added = {key: PageState(url=flow.pages[key.partition("@")[0]].url, signature=sig) for key, sig in seen.items()
             if key.partition("@")[0] in flow.pages}
    return flow.model_copy(update={"pages": {**flow.pages, **added}})


def replay_row(page: Page, flow: Flow, values: Mapping[str, Any], settings: Settings, *,
               base_url: str | None, heal: HealMode, artifacts: Path | None,
               on_step_start: Callable[[int], None] | None = None, path: str | None = None,
               sign_in: SignIn | None = None, counted: bool = False, fail_on: FailOn | None = None,
               html: Path | None = None, screenshots: Screenshots = "each") -> RunReport:
    """One row through `flow`. `counted`: the run counts in the track record of the flow file `path` (a
    row's entry does, in one transaction of its own; a `verify:` check is no run of the flow)."""
    replayer = Replayer(settings, heal=heal, base_url=base_url, artifacts=artifacts, on_step_start=on_step_start,
                        sign_in=sign_in, track=counted, fail_on=fail_on, html=html, screenshots=screenshots)
    return replayer.run(page, flow, values, path=path, source=path if counted else None)
