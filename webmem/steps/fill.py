"""`fill`: type a value into a text field, replacing what is there; the value is read back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from webmem.errors import StepFailed
from webmem.flow.inputs import render
from webmem.flow.model import ElementArgs, Fingerprint, StepModel
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle

# inputs Playwright fills by value though their role is not a textbox's
FILLABLE_TYPES = {"date", "time", "datetime-local", "month", "week", "password", "color", "range"}


class FillArgs(ElementArgs):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    value: str


class FillStep(StepModel):
    fill: FillArgs


class Fill(OnElement):
    """Type a value into a text field (replacing what is there). For an input type `{{ key }}`."""

    tool: ClassVar[str] = "fill"
    value: str = Field(description="the text, or an input placeholder such as {{ email }}")


class FillKind(StepKind):
    name = "fill"
    on_recorder = True
    on_mcp = True
    model = FillStep
    action = Fill
    roles = frozenset({"textbox", "searchbox", "spinbutton", "combobox"})
    needs_enabled = True
    sets_state = True

    def fits(self, fp: Fingerprint) -> bool:
        if fp.tag == "textarea" or (fp.tag == "input" and fp.type in FILLABLE_TYPES):
            return True
        return super().fits(fp)

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        value = run.render(step.fill.value)
        secret = run.redact(value) != value
        self.type_in(run, res, value, secret)
        # the read-back rides along with the next step's probe where it can (a secret's is read here, alone)
        if secret or not run.read_back_later(index, res, lambda got: self.held(run, step, res, value, got)):
            self.held(run, step, res, value, require(res).input_value(timeout=run.timeouts.action))

    def type_in(self, run: Replay, res: Any, value: str, secret: bool) -> None:
        from webmem.page import guard  # (the page layer: imported where a step acts)

        loc = require(res)
        if secret and run.origin:  # the origin is checked in the element's own frame as it is typed
            guard.fill_secret(loc, value, run.origin, run.redact, run.timeouts.action, run.page)  # type: ignore[arg-type]
        else:
            loc.fill(value, timeout=run.timeouts.action)

    def held(self, run: Replay, step: Any, res: Any, value: str, got: str | None) -> bool:
        """The field held `got` right after typing: where it differs, type once more (the first keystrokes can
        vanish before the app binds its handlers, an overlay can take the focus), and read back again. Whether
        it typed again (the page may have changed since anything else on it was read)."""
        if got == value:
            return False
        intent = step.fill.target.intent
        secret = run.redact(value) != value
        if got is None:
            raise StepFailed(f"{intent}: the field was gone right after typing into it", res)
        # a field something made read-only or disabled meanwhile (a modal that opened on its focus) is not typed
        # into again after the action's whole timeout: the step stops now, and the error names what is up (unless
        # the flow has a handler for the overlay that is up: typing again lets it dismiss the overlay first)
        from playwright.sync_api import ElementHandle

        loc = require(res)
        editable = loc.is_editable() if isinstance(loc, ElementHandle) else loc.is_editable(timeout=run.timeouts.action)
        if not editable and not run.handler_up():
            raise StepFailed(f"{intent}: the field did not keep the value typed and no longer takes typing", res)
        self.type_in(run, res, value, secret)
        got = require(res).input_value(timeout=run.timeouts.action)
        if got == value:
            return True
        if secret:  # what a secret field holds derives from the secret
            raise StepFailed(f"{intent}: the field does not hold the secret value typed into it", res)
        raise StepFailed(run.redact(f"{intent}: typed {value!r} but the field holds {got!r}"), res)

    def kept(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = rec.parameterise(str(params.get("value") or ""))
        rec.typed.append(render(template, rec.values))
        return {"value": template}

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = self.kept(rec, handle, params)["value"]
        value = render(template, rec.values)
        if rec.redact(value) != value:  # a secret: the one guarded fill replay uses (its frame on the task's site)
            from webmem.page import guard

            guard.fill_secret(handle, value, rec.origin, rec.redact, page=rec.page)
        else:
            handle.fill(value, timeout=rec.timeouts.action)
        return {"value": template}
