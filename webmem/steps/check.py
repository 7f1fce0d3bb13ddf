"""`check` / `uncheck`: put a checkbox, radio or switch in the desired state (never a toggle), read back.

A `check` bound to an input (`value: '{{ vip }}'`) sets the state the input says (yes/no/true/false/1/0):
ticked for yes, unticked for no. That is how a yes/no column lands on every row, not only the rows that say
what the demonstration said."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from webmem.errors import StepFailed
from webmem.flow.inputs import parse_bool, render
from webmem.flow.model import ElementArgs, StepModel
from webmem.steps.base import Action, OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle


class CheckArgs(ElementArgs):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    value: str | None = Field(None, description="the state as a template, e.g. '{{ vip }}': yes/no/true/false/1/0 "
                                                "(none: ticked)")


class CheckStep(StepModel):
    check: CheckArgs


class UncheckStep(StepModel):
    uncheck: ElementArgs


class Check(OnElement):
    """Tick a checkbox or choose a radio option. For a checkbox or switch whose state an input gives (yes/no),
    pass that input's placeholder as `value`: the box is set to what the input says, on every run."""

    tool: ClassVar[str] = "check"
    value: str | None = Field(None, description="for a yes/no input: its placeholder, such as {{ vip }}")


class Uncheck(OnElement):
    """Untick a checkbox."""

    tool: ClassVar[str] = "uncheck"


class CheckKind(StepKind):
    name = "check"
    on_recorder = True
    on_mcp = True
    model: ClassVar[type[StepModel]] = CheckStep
    action: ClassVar[type[Action] | None] = Check
    roles = frozenset({"checkbox", "radio", "switch"})
    needs_enabled = True
    sets_state = True
    want = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        from playwright.sync_api import Error as PlaywrightError

        from webmem.page import pwerrors  # (the page layer: imported where a step acts)

        template = getattr(step.args, "value", None)
        want = self.want if template is None else state_of(run.render(template), step.args.target.intent)
        loc = require(res)
        try:  # Playwright reads the state back after clicking, and raises if the click did not change it
            loc.set_checked(want, timeout=run.timeouts.action)
        except PlaywrightError as exc:
            if not pwerrors.says(exc, pwerrors.CHECK_DID_NOT_TAKE):
                raise
            raise StepFailed(f"{step.target.intent}: could not {'tick' if want else 'untick'} it", res) from exc

    def kept(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        value = params.get("value")
        return {} if value is None or self.name != "check" else {"value": rec.bind_state(str(value))}

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        value = params.get("value")
        if value is None or self.name != "check":
            handle.set_checked(self.want, timeout=rec.timeouts.action)
            return {}
        template = rec.bind_state(str(value))
        handle.set_checked(state_of(render(template, rec.values), "the checkbox"), timeout=rec.timeouts.action)
        return {"value": template}


def state_of(value: str, what: str) -> bool:
    """The state a rendered value says, or StepFailed naming the element."""
    state = parse_bool(value)
    if state is None:
        raise StepFailed(f"{what}: {value!r} says neither yes nor no (yes/no/true/false/1/0)")
    return state


class UncheckKind(CheckKind):
    name = "uncheck"
    on_recorder = True
    on_mcp = True
    model = UncheckStep
    action = Uncheck
    roles = frozenset({"checkbox", "switch"})
    want = False
