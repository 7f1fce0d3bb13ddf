"""`goto`: open a URL of the flow's site (a path relative to the base URL, or a full URL)."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from pydantic import Field, field_validator

from webmem.errors import OriginError
from webmem.flow.model import StepModel
from webmem.flow.urlpattern import check_web_url, url_problem
from webmem.steps.base import Action, Replay, StepKind


class GotoStep(StepModel):
    goto: str

    @field_validator("goto")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("goto needs a URL")
        return check_web_url(v)


class Goto(Action):
    """Open a URL on this site (a path like /customers or a full URL of the same origin)."""

    tool: ClassVar[str] = "goto"
    url: str = Field(description="a path or a full URL of this site")


class GotoKind(StepKind):
    name = "goto"
    opens_address = True
    on_mcp = True
    model = GotoStep
    action = Goto
    navigates = True

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        from playwright.sync_api import Error as PlaywrightError

        from webmem.page import pwerrors  # (the page layer: imported where a step acts)

        url = run.url_for(step.goto)
        if problem := url_problem(url, absolute=True):  # an input may have filled in file:// or javascript:
            raise OriginError(f"goto: {problem}")
        run.guard_origin(url)
        if run.at_start(index, url):
            return  # the caller has the page open here already
        for attempt in range(2):
            try:
                run.page.goto(url, wait_until="load", timeout=run.timeouts.navigation)
                return
            except PlaywrightError as exc:
                # a navigation the page still had under way (a form post that hung) can cut a goto short:
                # opening a page is safe to repeat, once that one has finished
                if attempt or not pwerrors.says(exc, pwerrors.NAVIGATION_INTERRUPTED):
                    raise
                with contextlib.suppress(PlaywrightError):
                    run.page.wait_for_load_state("load", timeout=run.timeouts.navigation)

    def carry_out(self, rec: Any, action: Any, handle: Any) -> tuple[str, str | None]:
        from urllib.parse import urljoin

        from webmem.errors import InvalidAction
        from webmem.flow.urlpattern import origin_of

        page = rec.page
        target = urljoin(page.url, action.url)
        home = origin_of(rec.base_url or page.url)
        if origin_of(target) != home:
            raise InvalidAction(f"goto: {action.url} leaves this site ({home})")
        step = rec.goto(target)
        return f"ok: now at {page.url}", step.goto
