"""The parts a flow file is made of: inputs, page states, targets (intent + ranked selectors +
fingerprint), expectations, and what every step has in common. The step kinds themselves are declared in
`webmem.steps`; the whole file is `webmem.flow.format.Flow`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from webmem.flow.selector import check_selector
from webmem.flow.urlpattern import check_web_url

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A name for a flow or page state made from words: `Create a customer` -> `create-a-customer`."""
    return _SLUG.sub("-", text.lower()).strip("-") or "page"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- inputs -------------------------------------------------------------------------------------


class InputSpec(Strict):
    type: Literal["string", "number", "bool", "enum", "file", "list"] = "string"
    required: bool = True
    default: Any = None
    choices: list[str] | None = Field(None, description="allowed values of an enum input")
    format: Literal["email", "date"] | None = None
    secret: bool = Field(False, description="never written to a flow, report, log or trace")
    env: str | None = Field(None, description="environment variable the value may come from")
    description: str | None = None
    items: dict[str, InputSpec] | None = Field(None, description="a list input's item fields (a `repeat` block "
                                                                 "runs its steps once per item)")

    @model_validator(mode="after")
    def _enum_has_choices(self) -> InputSpec:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum input needs `choices`")
        if self.type == "list":
            if not self.items:
                raise ValueError("a list input needs `items` (its fields)")
            if any(spec.type == "list" for spec in self.items.values()):
                raise ValueError("a list input's items hold plain fields, not lists")
            if self.secret or any(spec.secret for spec in self.items.values()):
                raise ValueError("a list input cannot be secret")
        elif self.items is not None:
            raise ValueError("only a list input has `items`")
        return self


# ---- pages and targets --------------------------------------------------------------------------


class Signature(Strict):
    """A page state's interactive skeleton: the hash is the fast path, tokens give similarity."""

    hash: str
    tokens: list[str] = Field(default_factory=list)
    format: int = Field(1, description="how the tokens were made; signatures of another format are not compared")


class PageState(Strict):
    url: str = Field(description="URL pattern, e.g. /customers/{id}")
    signature: Signature | None = None

    @field_validator("url")
    @classmethod
    def _web_url(cls, v: str) -> str:
        return check_web_url(v)


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
    row: str | None = Field(None, description="the header of its row, list item or card (what sets it apart from "
                                              "identical controls beside it)")
    order: int | None = Field(None, description="position among the controls of its container")


# where a repair came from: a healing tier of webmem.playback.heal (`TIERS`); declared here once because flow
# files record it (a run handed over to the agent is spliced in as recorded steps, never as a repair)
TierName = Literal["selector", "local", "llm"]


class Healed(Strict):
    """Provenance of the last repair of a target."""

    by: str = Field(description="local, or the model's name")
    tier: TierName
    old: str | None = Field(None, description="the selector that stopped working")
    score: float | None = None
    date: str | None = None


class Target(Strict):
    intent: str = Field(description="what the element is, in words for people and for LLM repair")
    selectors: list[str] = Field(min_length=1, description="best first; each matched exactly one element")
    fingerprint: Fingerprint | None = None
    healed: Healed | None = None

    @field_validator("selectors")
    @classmethod
    def _known_selectors(cls, selectors: list[str]) -> list[str]:
        for selector in selectors:
            check_selector(selector)  # a SelectorError is a ValueError: reported as this field's problem
        return selectors


# A data-bound target rendered for one run (`page.locate.render_target`): what it is bound to is part of the
# value, in fields of its own, so a dump and re-validate keeps it. These hold the run's input values: they are
# never written to a flow file (a Step's target is a `Target`; a rendered one is made afresh for each run).


class BoundFingerprint(Fingerprint):
    """A data-bound fingerprint rendered with a run's values, and the data its element must show."""

    data: dict[str, list[str]] = Field(default_factory=dict, description="field -> the input values it must show")
    whole: set[str] = Field(default_factory=set, description="...of which these are the datum and nothing else")


def data_of(fp: Fingerprint | None) -> dict[str, list[str]]:
    """The data a (rendered) fingerprint's element must show: none unless it is data-bound."""
    return fp.data if isinstance(fp, BoundFingerprint) else {}


def whole_of(fp: Fingerprint | None) -> set[str]:
    """The fields of a (rendered) fingerprint that were the datum and nothing else."""
    return fp.whole if isinstance(fp, BoundFingerprint) else set()


class RenderedTarget(Target):
    """A target with its `{{ input }}` placeholders rendered for a run."""

    fingerprint: BoundFingerprint | None = None
    bound: set[str] = Field(default_factory=set, description="its selectors that held a placeholder (as rendered)")


# ---- steps --------------------------------------------------------------------------------------


class Expect(Strict):
    url: str | None = Field(None, description="URL pattern the page must match")
    text: str | None = Field(None, description="text that must be visible")
    title: str | None = None
    gone: str | None = Field(None, description="text that must not be visible")

    @field_validator("url")
    @classmethod
    def _web_url(cls, v: str | None) -> str | None:
        return v if v is None else check_web_url(v)

    @model_validator(mode="after")
    def _not_empty(self) -> Expect:
        if not any((self.url, self.text, self.title, self.gone)):
            raise ValueError("expect needs at least one of url, text, title, gone")
        return self


class ElementArgs(Strict):
    target: Target
    page: str | None = Field(None, description="the page state (a key of `pages`) this acts on")


STEP_EXTRAS = ("expect", "commit")  # keys a step may hold beside its action


class StepModel(Strict):
    """What every step has: one action key (declared by its step kind), an optional `expect` and `commit`."""

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
