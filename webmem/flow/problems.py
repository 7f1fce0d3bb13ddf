"""A flow file's validation errors in webmem's words: pydantic's "Extra inputs are not permitted" and "Field
required" become "unknown field (did you mean name?)" and "required, but missing", and a step whose action key
is mistyped (`fil:`) is told the action it may have meant. The field is named by where it stands
(`step 3 (fill): target.intent`), as `webmem.flow.flowfile` describes it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from webmem.flow.format import Flow
from webmem.flow.model import STEP_EXTRAS
from webmem.steps import STEPS


def say(err: ErrorDetails, where: str) -> str:
    """One validation error of a flow document, `where` naming its place."""
    kind, loc = err["type"], err["loc"]
    if kind == "step_action":
        return f"{where}: {_step_problem(err['input'])}"
    if kind == "extra_forbidden":
        return f"{where}: unknown field{did_you_mean(str(loc[-1]), _fields_at(loc[:-1]))}"
    if kind == "missing":
        return f"{where}: required, but missing"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """" (did you mean fill?)" for a word close to one of `known`, else ""."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _step_problem(raw: Any) -> str:
    actions = ", ".join(STEPS)
    if not isinstance(raw, dict):
        return f"a step is a mapping with one action key ({actions})"
    keys = [str(k) for k in raw if k not in STEP_EXTRAS]
    unknown = [k for k in keys if k not in STEPS]
    if unknown:
        known = [*STEPS, *STEP_EXTRAS]
        return "; ".join(f"unknown action {k!r}{did_you_mean(k, known)}" for k in unknown) + \
            f" (a step's action is one of: {actions})"
    if len(keys) > 1:
        return f"a step holds one action, this one {len(keys)}: {', '.join(keys)}"
    return f"a step needs an action key: one of {actions}"


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's annotation may hold (through Optional, unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _fields_at(path: Sequence[int | str]) -> list[str]:
    """The field names a flow document may hold at `path` (a pydantic error location): a step kind's tag picks
    its model; list indexes and mapping keys (an input's name, a page state's) keep the models they are in."""
    models: list[type[BaseModel]] = [Flow]
    for part in path:
        if isinstance(part, int):
            continue
        fields = [m.model_fields[part] for m in models if part in m.model_fields]
        if fields:
            models = [m for f in fields for m in _models(f.annotation)]
        elif part in STEPS and STEPS[part].model in models:  # the union's tag: the step kind
            models = [STEPS[part].model]
    return sorted({(f.alias or name) for m in models for name, f in m.model_fields.items()})
