"""The flow file's data model (format version 1).

A flow is what an agent did once, kept as plain selector-based steps: each element step has a target
(intent + ranked selectors + fingerprint) and names the page state it acts on (URL pattern + DOM
signature). Steps are one-key mappings (`- fill: {...}`), optionally with an `expect` beside the key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

FORMAT_VERSION = 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- inputs -------------------------------------------------------------------------------------


class InputSpec(Strict):
    type: Literal["string", "number", "bool", "enum"] = "string"
    required: bool = True
    default: Any = None
    choices: list[str] | None = Field(None, description="allowed values of an enum input")
    format: Literal["email", "date"] | None = None
    secret: bool = Field(False, description="never written to a flow, report, log or trace")
    env: str | None = Field(None, description="environment variable the value may come from")
    description: str | None = None

    @model_validator(mode="after")
    def _enum_has_choices(self) -> InputSpec:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum input needs `choices`")
        return self


# ---- pages and targets --------------------------------------------------------------------------


class Signature(Strict):
    """A page state's interactive skeleton: the hash is the fast path, tokens give similarity."""

    hash: str
    tokens: list[str] = Field(default_factory=list)


class PageState(Strict):
    url: str = Field(description="URL pattern, e.g. /customers/{id}")
    signature: Signature | None = None


class Fingerprint(Strict):
    """What the element looked like when it was learned; a matched element is scored against it."""

    tag: str
    type: str | None = None
    role: str | None = None
    name: str | None = Field(None, description="accessible name")
    label: str | None = None
    placeholder: str | None = None
    text: str | None = None
    attrs: dict[str, str] = Field(default_factory=dict, description="id, name, data-testid, value, href")
    classes: list[str] = Field(default_factory=list)
    context: str | None = Field(None, description="the container: form, fieldset or dialog name")
    neighbors: str | None = Field(None, description="nearby text")
    order: int | None = Field(None, description="position among the controls of its container")


class Healed(Strict):
    """Provenance of the last repair of a target."""

    by: str = Field(description="local, or the model's name")
    tier: Literal["selector", "local", "llm", "agent"]
    old: str | None = Field(None, description="the selector that stopped working")
    score: float | None = None
    date: str | None = None


class Target(Strict):
    intent: str = Field(description="what the element is, in words for people and for LLM repair")
    selectors: list[str] = Field(min_length=1, description="best first; each matched exactly one element")
    fingerprint: Fingerprint | None = None
    healed: Healed | None = None


# ---- steps --------------------------------------------------------------------------------------


class Expect(Strict):
    url: str | None = Field(None, description="URL pattern the page must match")
    text: str | None = Field(None, description="text that must be visible")
    title: str | None = None
    gone: str | None = Field(None, description="text that must not be visible")

    @model_validator(mode="after")
    def _not_empty(self) -> Expect:
        if not any((self.url, self.text, self.title, self.gone)):
            raise ValueError("expect needs at least one of url, text, title, gone")
        return self


class ElementArgs(Strict):
    target: Target
    page: str | None = Field(None, description="the page state (a key of `pages`) this acts on")


class FillArgs(ElementArgs):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    value: str


class SelectArgs(ElementArgs):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    value: str = Field(description="an option's label or value")


class PressArgs(Strict):
    key: str
    target: Target | None = None
    page: str | None = None


class WaitArgs(Strict):
    target: Target | None = None
    text: str | None = None
    url: str | None = None
    page: str | None = None
    timeout_ms: int | None = None

    @model_validator(mode="after")
    def _something(self) -> WaitArgs:
        if not any((self.target, self.text, self.url)):
            raise ValueError("wait_for needs a target, text or url")
        return self


class ExtractArgs(ElementArgs):
    name: str = Field(alias="as", description="the result key")
    attr: str | None = Field(None, description="an attribute instead of the text")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Step(Strict):
    expect: Expect | None = None
    commit: bool = Field(False, description="the step that hands the data to the server (webmem batch)")

    @property
    def action(self) -> str:
        return next((k for k in type(self).model_fields if k not in STEP_EXTRAS), "expect")

    @property
    def args(self) -> Any:
        return getattr(self, self.action)

    @property
    def target(self) -> Target | None:
        return getattr(self.args, "target", None)

    @property
    def page(self) -> str | None:
        return getattr(self.args, "page", None)


class GotoStep(_Step):
    goto: str

    @field_validator("goto")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("goto needs a URL")
        return v


class ClickStep(_Step):
    click: ElementArgs


class FillStep(_Step):
    fill: FillArgs


class SelectStep(_Step):
    select: SelectArgs


class CheckStep(_Step):
    check: ElementArgs


class UncheckStep(_Step):
    uncheck: ElementArgs


class PressStep(_Step):
    press: PressArgs


class WaitStep(_Step):
    wait_for: WaitArgs


class ExpectStep(_Step):
    expect: Expect  # type: ignore[assignment]  # required here: the step is the assertion itself


class ExtractStep(_Step):
    extract: ExtractArgs


STEP_TYPES: dict[str, type[BaseModel]] = {
    "goto": GotoStep,
    "click": ClickStep,
    "fill": FillStep,
    "select": SelectStep,
    "check": CheckStep,
    "uncheck": UncheckStep,
    "press": PressStep,
    "wait_for": WaitStep,
    "extract": ExtractStep,
    "expect": ExpectStep,
}
ELEMENT_ACTIONS = ("click", "fill", "select", "check", "uncheck", "press", "wait_for", "extract")


STEP_EXTRAS = ("expect", "commit")  # keys a step may hold beside its action


def step_kind(raw: Any) -> str | None:
    """Which action a raw step mapping holds (the key that is not `expect`, or `expect` alone)."""
    if isinstance(raw, BaseModel):
        return raw.action  # type: ignore[attr-defined]
    if not isinstance(raw, dict):
        return None
    keys = [k for k in raw if k not in STEP_EXTRAS]
    if not keys:
        return "expect" if "expect" in raw else None
    return keys[0] if len(keys) == 1 and keys[0] in STEP_TYPES else None


Step = Annotated[
    Annotated[GotoStep, Tag("goto")]
    | Annotated[ClickStep, Tag("click")]
    | Annotated[FillStep, Tag("fill")]
    | Annotated[SelectStep, Tag("select")]
    | Annotated[CheckStep, Tag("check")]
    | Annotated[UncheckStep, Tag("uncheck")]
    | Annotated[PressStep, Tag("press")]
    | Annotated[WaitStep, Tag("wait_for")]
    | Annotated[ExtractStep, Tag("extract")]
    | Annotated[ExpectStep, Tag("expect")],
    Discriminator(
        step_kind,
        custom_error_type="step_action",
        custom_error_message="a step is a mapping with exactly one action key: "
        + ", ".join(STEP_TYPES),
    ),
]


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
    steps: list[Step] = Field(min_length=1)
    verify: Verify | None = None

    @model_validator(mode="after")
    def _pages_exist(self) -> Flow:
        for i, step in enumerate(self.steps, 1):
            page = step.page
            if page is not None and page not in self.pages:
                raise ValueError(f"step {i} ({step.action}): page {page!r} is not defined under `pages`")
        return self


def json_schema() -> dict[str, Any]:
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "webmem flow file"
    return schema
