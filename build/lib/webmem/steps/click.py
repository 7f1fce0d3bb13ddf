"""`click`: click an element (a button, link, tab, menu entry...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from webmem.flow.model import ElementArgs, StepModel
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle


class ClickStep(StepModel):
    click: ElementArgs


class Click(OnElement):
    """Click an element (button, link, radio, checkbox, tab...)."""

    tool: ClassVar[str] = "click"


class ClickKind(StepKind):
    name = "click"
    commits = True
    on_recorder = True
    on_mcp = True
    model = ClickStep
    action = Click
    navigates = True
    needs_enabled = True
    confirms = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        require(res).click(timeout=run.timeouts.action)

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        handle.click(timeout=rec.timeouts.action)
        return {}
