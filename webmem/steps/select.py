"""`select`: choose an option of a select element, by its value or label (never "the first of two")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from webmem.errors import RecordError, StepFailed
from webmem.flow.inputs import render
from webmem.flow.model import ElementArgs, StepModel
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle

OPTIONS_JS = "options"  # a select's options as [value, label] (page/js/probes.js)


def option_values(options: list[list[str]], wanted: str) -> list[str]:
    """The values of the select options `wanted` names: by value, else by label, else by label in any
    case. More than one is ambiguous, and the caller must not pick."""
    chosen = [v for v, _ in options if v == wanted]
    if not chosen:
        chosen = [v for v, label in options if label == wanted]
    if not chosen:
        chosen = [v for v, label in options if label.lower() == wanted.strip().lower()]
    return chosen


class SelectArgs(ElementArgs):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    value: str = Field(description="an option's label or value")


class SelectStep(StepModel):
    select: SelectArgs


class Select(OnElement):
    """Choose an option of a select element by its value or label."""

    tool: ClassVar[str] = "select"
    value: str = Field(description="the option's value or label, or an input placeholder")


class SelectKind(StepKind):
    name = "select"
    on_recorder = True
    on_mcp = True
    model = SelectStep
    action = Select
    roles = frozenset({"combobox", "listbox"})
    navigates = True
    needs_enabled = True
    sets_state = True

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        loc = require(res)
        wanted = run.render(step.select.value)
        intent = step.select.target.intent
        from webmem.page import inpage  # (the page layer: imported where a step acts)

        options: list[list[str]] = res.state.get("options") or inpage.on_element(loc, OPTIONS_JS)
        chosen = option_values(options, wanted)
        if len(chosen) != 1:
            labels = ", ".join(label for _, label in options)
            problem = "no option" if not chosen else "more than one option"
            raise StepFailed(run.redact(f"{intent}: {problem} matches {wanted!r} (options: {labels})"))
        loc.select_option(value=chosen[0], timeout=run.timeouts.action)

        def stuck(got: str | None) -> bool:
            if got != chosen[0]:
                raise StepFailed(f"{intent}: the selection did not stick", res)
            return False  # nothing was done again

        # the read-back rides along with the next step's probe where it can
        if not run.read_back_later(index, res, stuck):
            stuck(loc.input_value())

    def kept(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = rec.parameterise(str(params.get("value") or ""))
        rec.typed.append(render(template, rec.values))
        return {"value": template}

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = self.kept(rec, handle, params)["value"]
        wanted = render(template, rec.values)
        timeout = rec.timeouts.action
        from webmem.page import inpage  # (the page layer: imported where a step acts)

        options = inpage.on_element(handle, OPTIONS_JS)
        if options is None:
            try:
                handle.select_option(value=wanted, timeout=timeout)
            except Exception:  # the agent may name the option by its label
                handle.select_option(label=wanted, timeout=timeout)
        else:  # choose here: asking Playwright for a missing option would wait out the whole timeout
            chosen = option_values(options, wanted)
            if len(chosen) != 1:
                shown = ", ".join(v for v, _ in options if v)
                problem = "no option" if not chosen else "more than one option"
                raise RecordError(f"{problem} matches {template!r} in this select (options: {shown})")
            handle.select_option(value=chosen[0], timeout=timeout)
        return {"value": template}
