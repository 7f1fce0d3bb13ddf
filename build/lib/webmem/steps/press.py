"""`press`: press a key with an element focused, or on the page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from webmem.flow.model import StepModel, Strict, Target
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle


class PressArgs(Strict):
    key: str
    target: Target | None = None
    page: str | None = None


class PressStep(StepModel):
    press: PressArgs


class Press(OnElement):
    """Press a key (e.g. Enter) with an element focused."""

    tool: ClassVar[str] = "press"
    key: str = Field("Enter", description="a key name such as Enter, Tab, Escape, ArrowDown")


class PressKind(StepKind):
    name = "press"
    commits = True
    on_recorder = True
    on_mcp = True
    model = PressStep
    action = Press
    navigates = True
    confirms = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        require(res).press(step.press.key, timeout=run.timeouts.action)

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        run.page.keyboard.press(step.press.key)

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        key = str(params.get("key") or "Enter")
        handle.press(key, timeout=rec.timeouts.action)
        return {"key": key}
