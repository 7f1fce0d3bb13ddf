"""Splicing a handed-over run into its flow: what the replay did before it broke, then the agent's steps.

The spliced flow is what the finished run did, in order: the steps before the break (with the repairs
the replay made and the page signatures it saw), the broken step too if its action had run (a click
whose expected page did not come), expecting only what did hold, then whatever the agent did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webmem.flow.format import Flow
from webmem.flow.model import Expect, PageState, Signature
from webmem.playback.report import Repair, RunReport, StepReport
from webmem.steps import STEPS


@dataclass
class DonePart:
    """The replayed part of a broken run, for the agent (in words) and for the spliced flow."""

    steps: list[Any]
    pages: dict[str, PageState]
    progress: list[str]  # each done step in words, then where and why it stopped


def done_part(flow: Flow, report: RunReport, failed: StepReport) -> DonePart:
    broken = failed.index - 1
    fixes = report.repairs
    seen: dict[str, Signature] = {**report.observed, **report.page_states}
    pages = {name: PageState(url=st.url, signature=seen.get(name, st.signature)) for name, st in flow.pages.items()}
    steps = [_with_fixes(step, i, fixes) for i, step in enumerate(flow.steps[:broken])]
    progress = [describe(s) for s in steps]
    if failed.acted:
        step = _with_fixes(flow.steps[broken], broken, fixes)
        held = {k: v for k, v in step.expect.model_dump(exclude_none=True).items() if k not in failed.unmet}
        steps.append(step.model_copy(update={"expect": Expect(**held) if held else None}))
        progress.append(f"{describe(step)} was done, but then: {failed.error or 'failed'}")
    else:
        progress.append(f"stopped at: {failed.action} {failed.intent or ''} — {failed.error or 'failed'}")
    return DonePart(steps, pages, progress)


def splice(flow: Flow, done: DonePart, tail: Flow | None) -> Flow:
    """The done part, then the agent's steps, with the page states they use. The inputs stay the flow's:
    the agent was given no others."""
    steps = [*done.steps, *(tail.steps if tail else [])]
    used = {s.page for s in steps if s.page}
    merged = {**done.pages, **(tail.pages if tail else {})}
    return flow.model_copy(update={"steps": steps, "pages": {k: v for k, v in merged.items() if k in used}})


def describe(step: Any) -> str:
    """A step in words, as an agent is told what was already done."""
    if STEPS[step.action].opens_address:
        return f"goto {step.args}"
    target = step.target
    words = f"{step.action} {target.intent if target else ''}".strip()
    value = getattr(step.args, "value", None)
    return words + (f" = {value}" if value is not None else "")


def _with_fixes(step: Any, index: int, fixes: list[Repair]) -> Any:
    fix = next((f for f in fixes if f.index == index), None)
    if fix is None:
        return step
    args = step.args.model_copy(update={"target": fix.target})
    return step.model_copy(update={step.action: args})
