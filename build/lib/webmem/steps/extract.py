"""`extract`: read an element's value, text or an attribute as a named result of the task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from webmem.flow.model import ElementArgs, StepModel
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle

READ_JS = "readText"  # a field's value, else the element's text (page/js/probes.js)


class ExtractArgs(ElementArgs):
    name: str = Field(alias="as", description="the result key")
    attr: str | None = Field(None, description="an attribute instead of the text")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExtractStep(StepModel):
    extract: ExtractArgs


class Extract(OnElement):
    """Read an element's text as a named result of the task."""

    tool: ClassVar[str] = "extract"
    as_: str = Field(alias="as", description="the result's name, e.g. record_id")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExtractKind(StepKind):
    name = "extract"
    reads_only = True
    model = ExtractStep
    action = Extract

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        loc, args = require(res), step.extract  # found and verified: it is there, nothing to wait for
        if args.attr:
            got = loc.get_attribute(args.attr)
        elif res.state.get("value") is not None:
            got = loc.input_value()
        else:
            got = " ".join(loc.inner_text().split())
        run.extracted[args.name] = got

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        name = str(params["as"])
        from webmem.page import inpage  # (the page layer: imported where a step acts)

        rec.extracted[name] = inpage.on_element(handle, READ_JS)
        return {"as": name}

    def carry_out(self, rec: Any, action: Any, handle: ElementHandle | None) -> tuple[str, str | None]:
        assert handle is not None
        got = rec.extract(handle, action.as_)
        return f"ok: {action.as_} = {got!r}", action.as_
