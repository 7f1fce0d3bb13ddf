"""What a run reports: per step status, selector, score and timing; totals; model calls."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from webmem.flow.model import Signature, Target, TierName

StepStatus = Literal["ok", "healed", "repaired", "failed", "skipped"]


class HealInfo(BaseModel):
    tier: TierName
    by: str
    old_selector: str | None = None
    new_selector: str | None = None
    score: float | None = None
    candidates: list[str] = Field(default_factory=list)


class Repair(BaseModel):
    """A repaired target, written back into the flow once the run has passed."""

    index: int = Field(description="0-based step index")
    target: Target = Field(description="the target learned afresh, with its provenance")
    info: HealInfo


DriftKind = Literal["fallback", "page", "heal"]
# how a page check says it matched, where that is no drift (the learned state, or nothing to compare)
UNDRIFTED = frozenset({"exact", "unchecked", "signed in already"})


class Drift(BaseModel):
    """One way a step did not run as learned: a fallback selector found its element (`fallback`), its page was
    not the learned page state exactly (`page`), or its target was healed (`heal`). `what` says what drifted."""

    kind: DriftKind
    what: str


class StepReport(BaseModel):
    index: int = Field(description="1-based step number")
    action: str
    item: str | None = Field(None, description="inside a repeat block: which item's step, e.g. 'item 3 step 2'")
    intent: str | None = None
    status: StepStatus
    selector: str | None = None
    score: float | None = None
    page: str | None = None
    page_match: str | None = Field(None, description="exact, similar (score) or different (score)")
    duration_ms: float = 0.0
    error: str | None = None
    heal: HealInfo | None = None
    candidates: list[str] = Field(default_factory=list, description="for a failed step: what was on the page")
    acted: bool = Field(False, description="for a failed step: its action was carried out, its expect was not met")
    unmet: list[str] = Field(default_factory=list, description="for a failed expectation: the fields that did not hold")
    screenshot: str | None = None
    handled: list[str] = Field(default_factory=list, description="overlays the flow's handlers dismissed during "
                               "this step: what they clicked, on which overlay, at which URL")
    stale: list[str] = Field(default_factory=list, description="the target's selectors that were probed and no "
                             "longer find its element (another one did)")
    drift: list[Drift] = Field(default_factory=list, description="how the step did not run as learned (a fallback "
                               "selector, a page unlike the learned state, a heal)")

    def where(self) -> str:
        """The step as every report names it: `step 3`, or `step 4 item 2 step 1` inside a repeat block."""
        return f"step {self.index}" + (f" {self.item}" if self.item else "")

    def described(self) -> str:
        """`step 3 (fill, the 'Email' field)`."""
        return f"{self.where()} ({self.action}" + (f", {self.intent}" if self.intent else "") + ")"


class RunReport(BaseModel):
    flow: str
    path: str | None = None
    status: Literal["passed", "failed", "unconfirmed"] = Field(
        description="unconfirmed: committed, unconfirmed (the commit step acted, then something after it failed: "
                    "the data may have landed; check before entering it again)")
    steps: list[StepReport] = Field(default_factory=list)
    extracted: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    duration_ms: float = 0.0
    llm_calls: int = 0
    llm_tokens: int = 0
    healed_steps: int = 0
    signed_in: int = Field(0, description="how often the run signed in (its sign-in flow, where a page asked)")
    handled: int = Field(0, description="how often the flow's handlers clicked an overlay away (each step's "
                         "`handled` says what and where)")
    heal_ms: float = 0.0
    flow_changed: bool = False
    patch: str | None = None
    write_error: str | None = Field(None, description="the run passed but its repairs could not be written")
    stats_error: str | None = Field(None, description="the run's track record could not be written (webmem list)")
    drift_error: str | None = Field(None, description="the run passed but drifted or healed where the caller "
                                    "asked to fail on it (--fail-on-drift / --fail-on-heal)")
    html: str | None = Field(None, description="the HTML report written for this run (--html)")
    # what healing learned, for writing back and splicing (not part of the JSON report)
    repairs: list[Repair] = Field(default_factory=list, exclude=True)
    page_states: dict[str, Signature] = Field(default_factory=dict, exclude=True,
                                              description="page states to store as they are now")
    observed: dict[str, Signature] = Field(default_factory=dict, exclude=True,
                                           description="page states that did not match the learned ones exactly")
    positions: dict[str, Signature] = Field(
        default_factory=dict, exclude=True,
        description="a passed run's page states as they showed at a place in the plan of a repeat block "
                    "(`page@item 3 step 1`): for later runs in the same process (batch), never written to the flow")

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def unconfirmed(self) -> bool:
        return self.status == "unconfirmed"

    def __repr__(self) -> str:
        return f"RunReport(flow={self.flow!r}, status={self.status!r}, error={self.error!r})"

    def failed_step(self) -> StepReport | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def drifted(self) -> list[StepReport]:
        """The steps that drifted (a fallback selector, a page unlike the learned one, a heal)."""
        return [s for s in self.steps if s.drift]

    def healed(self) -> list[StepReport]:
        return [s for s in self.steps if s.heal is not None]


def drift_of(step: StepReport, first: str | None) -> list[Drift]:
    """How a step did not run as learned; `first`: its target's first selector as rendered for the run."""
    found: list[Drift] = []
    if step.heal is not None:
        found.append(Drift(kind="heal", what=f"healed ({step.heal.tier}): {step.heal.old_selector} -> "
                                             f"{step.heal.new_selector}"))
    elif step.selector is not None and first is not None and step.selector != first and first in step.stale:
        # (the fast path of a page in its learned state takes any selector that verifies: no fallback there)
        found.append(Drift(kind="fallback", what=f"fallback selector {step.selector} found the element "
                                                 f"(the first, {first}, no longer does)"))
    if step.page_match and step.page_match not in UNDRIFTED:
        found.append(Drift(kind="page", what=f"page {step.page or ''} {step.page_match}".replace("  ", " ")))
    return found


FailOn = Literal["heal", "drift"]


def drift_failure(report: RunReport, fail_on: FailOn | None) -> str | None:
    """Why a passed run fails the caller's policy (`heal`: any heal; `drift`: any drift, heals included), or
    None. One line naming the steps and what drifted."""
    if fail_on is None or not report.passed:
        return None
    steps = report.healed() if fail_on == "heal" else report.drifted()
    if not steps:
        return None
    what = "; ".join(s.where() + ": " + ", ".join(
        d.what for d in s.drift if fail_on == "drift" or d.kind == "heal") for s in steps)
    verb = "healed" if fail_on == "heal" else "drifted"
    return f"flow {report.flow} passed but {len(steps)} step(s) {verb} (--fail-on-{fail_on}): {what}"
