"""`check` / `uncheck`: put a checkbox, radio or switch in the desired state (never a toggle), read back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from playwright.sync_api import ElementHandle

from webmem.errors import StepFailed
from webmem.flow.model import ElementArgs, StepModel
from webmem.steps.base import Action, OnElement, Replay, StepKind, require


class CheckStep(StepModel):
    check: ElementArgs


class UncheckStep(StepModel):
    uncheck: ElementArgs


class Check(OnElement):
    """Tick a checkbox or choose a radio option."""

    tool: ClassVar[str] = "check"


class Uncheck(OnElement):
    """Untick a checkbox."""

    tool: ClassVar[str] = "uncheck"


class CheckKind(StepKind):
    name = "check"
    model: ClassVar[type[StepModel]] = CheckStep
    action: ClassVar[type[Action] | None] = Check
    roles = frozenset({"checkbox", "radio", "switch"})
    needs_enabled = True
    sets_state = True
    want = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        loc = require(res)
        loc.set_checked(self.want, timeout=run.timeouts.action)
        if loc.is_checked() != self.want:
            raise StepFailed(f"{step.target.intent}: could not {self.name} it", res)

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        handle.set_checked(self.want, timeout=rec.t.action)
        return {}


class UncheckKind(CheckKind):
    name = "uncheck"
    model = UncheckStep
    action = Uncheck
    roles = frozenset({"checkbox", "switch"})
    want = False
