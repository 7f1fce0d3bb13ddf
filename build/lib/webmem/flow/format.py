"""The flow file's top-level model (format version 1): inputs, page states and steps, the step kinds taken
from the registry in `webmem.steps`.

A flow is what an agent did once, kept as plain selector-based steps: each element step has a target
(intent + ranked selectors + fingerprint) and names the page state it acts on (URL pattern + DOM
signature). Steps are one-key mappings (`- fill: {...}`), optionally with an `expect` beside the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from webmem.flow.inputs import placeholders
from webmem.flow.model import STEP_EXTRAS, InputSpec, PageState, StepModel, Strict
from webmem.flow.selector import check_selector
from webmem.flow.urlpattern import check_web_url
from webmem.steps import KINDS, STEPS
from webmem.steps.repeat import RepeatArgs, RepeatStep, item_keys

FORMAT_VERSION = 1


def step_kind(raw: Any) -> str | None:
    """Which action a raw step mapping holds (the key that is not `expect` or `commit`, or `expect` alone)."""
    if isinstance(raw, BaseModel):
        return raw.action  # type: ignore[attr-defined]
    if not isinstance(raw, dict):
        return None
    keys = [k for k in raw if k not in STEP_EXTRAS]
    if not keys:
        return "expect" if "expect" in raw else None
    return keys[0] if len(keys) == 1 and keys[0] in STEPS else None


if TYPE_CHECKING:
    Step = StepModel
else:
    Step = Annotated[
        Union[tuple(Annotated[k.model, Tag(k.name)] for k in KINDS)],  # noqa: UP007 - built from the registry
        Discriminator(
            step_kind,
            custom_error_type="step_action",
            custom_error_message="a step is a mapping with exactly one action key: " + ", ".join(STEPS),
        ),
    ]


# a repeat block holds steps: its model refers to the union it is part of
for _model in (RepeatArgs, RepeatStep):
    _model.model_rebuild(_types_namespace={"Step": Step})


class Handler(Strict):
    """An interruption the page shows only sometimes (a cookie banner, a confirmation popup): whenever `when`
    is visible as a step acts, `do` dismisses it first (Playwright's `page.add_locator_handler`)."""

    when: str = Field(description="a selector: the overlay is up while it is visible")
    do: list[Step] = Field(min_length=1, description="the steps that dismiss it (element steps, no page)")
    url: str | None = Field(None, description="the URL pattern of the page it was learned on: it dismisses the "
                            "overlay there only (a look-alike raised elsewhere is left alone and named); none: "
                            "on any page of the flow (a handler written by hand)")

    @field_validator("url")
    @classmethod
    def _web_url(cls, v: str | None) -> str | None:
        return v if v is None else check_web_url(v)

    @field_validator("when")
    @classmethod
    def _selector(cls, when: str) -> str:
        check_selector(when)
        return when

    @field_validator("do")
    @classmethod
    def _element_steps(cls, steps: list[Any]) -> list[Any]:
        for step in steps:
            if step.target is None or step.page is not None:
                raise ValueError(f"a handler's `do` holds element steps with a target and no page, not {step.action}")
        return steps


class Verify(Strict):
    """How `webmem batch` proves a row whose commit step was cut short did land: these steps, run with
    the row's inputs, pass only if the record exists (e.g. open a list, expect the row's key)."""

    steps: list[Step] = Field(min_length=1)


class Flow(Strict):
    webmem: int = Field(FORMAT_VERSION, description="format version")
    name: str
    task: str = Field(description="the task in words; with the start URL, the flow's identity")
    base_url: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    pages: dict[str, PageState] = Field(default_factory=dict)
    handlers: list[Handler] = Field(default_factory=list, description="overlays that appear sometimes")
    steps: list[Step] = Field(min_length=1)
    verify: Verify | None = None

    @field_validator("base_url")
    @classmethod
    def _web_base(cls, v: str | None) -> str | None:
        return v if v is None else check_web_url(v, absolute=True)

    def _steps(self, inner: bool = True) -> list[tuple[str, StepModel]]:
        """Every step the flow runs, named as an error should name it (with `inner`, a repeat block's too)."""
        verify = self.verify.steps if self.verify is not None else []
        out: list[tuple[str, StepModel]] = []
        for i, s in enumerate(self.steps, 1):
            out.append((f"step {i}", s))
            if inner and isinstance(s, RepeatStep):
                out += [(f"step {i} (repeat) item step {j}", inner) for j, inner in enumerate(s.repeat.steps, 1)]
                out += [(f"step {i} (repeat) add step {j}", inner) for j, inner in enumerate(s.repeat.add, 1)]
        return out + [(f"verify step {i}", s) for i, s in enumerate(verify, 1)]

    @model_validator(mode="after")
    def _placeholders_declared(self) -> Flow:
        """A `{{ key }}` anywhere in a step (a value, a URL, an expectation, a data-bound selector) must name a
        declared input: caught when the file loads, not after the browser started. Inside a repeat block over a
        list input, also its items' fields (`{{ lines.quantity }}`) and index (`{{ lines.index }}`)."""
        def check(where: str, step: StepModel, known: set[str]) -> None:
            for key in dict.fromkeys(placeholders(step.model_dump_json())):
                if key not in known:
                    raise ValueError(f"{where} ({step.action}): placeholder {{{{ {key} }}}} is not a declared "
                                     "input" + (" (an item's field or index is known inside its repeat block only)"
                                                if "." in key else "")
                                     + f" (declared: {', '.join(self.inputs) or 'none'})")

        for where, step in self._steps(inner=False):
            if not isinstance(step, RepeatStep):
                check(where, step, set(self.inputs))
                continue
            over = step.repeat.over
            spec = self.inputs.get(over)
            if spec is None or spec.type != "list":
                raise ValueError(f"{where} (repeat): `over: {over}` is not a declared list input "
                                 f"(declared: {', '.join(self.inputs) or 'none'})")
            known = set(self.inputs) | item_keys(over, list(spec.items or {}),
                                                 placeholders(step.model_dump_json()))
            for j, inner in enumerate(step.repeat.steps, 1):
                check(f"{where} (repeat) item step {j}", inner, known)
            for j, inner in enumerate(step.repeat.add, 1):
                check(f"{where} (repeat) add step {j}", inner, known)
        return self

    @model_validator(mode="after")
    def _pages_exist(self) -> Flow:
        for where, step in self._steps():
            page = step.page
            if page is not None and page not in self.pages:
                raise ValueError(f"{where} ({step.action}): page {page!r} is not defined under `pages`")
        return self


def json_schema() -> dict[str, Any]:
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "webmem flow file"
    return schema
