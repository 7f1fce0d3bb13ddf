"""`wait_for`: wait until a target, a text or a URL shows (content that loads late). Agents' waits are
carried out but not recorded: replay waits for every element anyway, so the flow stays the shortest path."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from webmem.flow.model import Expect, StepModel, Strict, Target
from webmem.flow.urlpattern import check_web_url
from webmem.steps.base import Action, Replay, StepKind, require


class WaitArgs(Strict):
    target: Target | None = None
    text: str | None = None
    url: str | None = None
    page: str | None = None
    timeout_ms: int | None = None

    @field_validator("url")
    @classmethod
    def _web_url(cls, v: str | None) -> str | None:
        return v if v is None else check_web_url(v)

    @model_validator(mode="after")
    def _something(self) -> WaitArgs:
        if not any((self.target, self.text, self.url)):
            raise ValueError("wait_for needs a target, text or url")
        return self


class WaitStep(StepModel):
    wait_for: WaitArgs


class WaitFor(Action):
    """Wait until a text shows on the page (for content that loads late)."""

    tool: ClassVar[str] = "wait_for"
    text: str
    timeout_ms: int = Field(5000, ge=0, le=30000)


class WaitForKind(StepKind):
    name = "wait_for"
    model = WaitStep
    action = WaitFor
    navigates = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        from playwright.sync_api import ElementHandle

        args = step.wait_for
        el, timeout = require(res), args.timeout_ms or run.timeouts.action
        if isinstance(el, ElementHandle):  # the very element a probe verified
            el.wait_for_element_state("visible", timeout=timeout)
        else:
            el.wait_for(state="visible", timeout=timeout)

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        args = step.wait_for
        # a wait waits its whole timeout (an expectation is judged soon after the page settles)
        run.expect(Expect(url=args.url, text=args.text), timeout=args.timeout_ms or run.timeouts.action)

    def carry_out(self, rec: Any, action: Any, handle: Any) -> tuple[str, str | None]:
        rec.page.get_by_text(action.text).first.wait_for(state="visible", timeout=action.timeout_ms)
        return f"ok: {action.text!r} is showing", None
