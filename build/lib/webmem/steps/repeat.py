"""`repeat`: the steps of one item of a list input, run once per item, with the "add another" steps between
items (the inline rows of a master-detail form: an invoice's lines, an order's items).

    - repeat:
        over: lines                  # a list input: [{description, quantity}, ...]
        steps:                       # one item's steps
          - fill: {target: {selectors: ['css=[name="lines-{{ lines.index }}-description"]'], ...},
                   value: '{{ lines.description }}'}
        add:                         # between items: the click that adds a row (empty where rows exist)
          - click: {target: {intent: the 'Add another line' link, ...}}

Inside the block `{{ lines.FIELD }}` is the item's field, `{{ lines.index }}` its 0-based index and
`{{ lines.index+K }}` the index plus K (the n-th row of a table whose first item row is row K). A replay
expands the block into plain steps (`plan`), so each item's steps are page-checked, verified and read back
like any other; a report names them "step 4 (repeat) item 3 step 2 (fill)". Where the item's row is found by
its index, the add steps before an item are skipped when that row is on the page already (a form that shows
three blank rows adds a fourth only for the fourth item).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from webmem.errors import StepFailed
from webmem.flow.inputs import Secrets, item_values, placeholders
from webmem.flow.model import StepModel, Strict
from webmem.steps.base import Replay, StepKind

if TYPE_CHECKING:  # at run time the union of every kind's model: webmem.flow.format rebuilds the models with it
    Step = StepModel


class RepeatArgs(Strict):
    over: str = Field(description="the list input whose items the block runs for")
    steps: list[Step] = Field(min_length=1, description="one item's steps")
    add: list[Step] = Field(default_factory=list, description="the steps before each item but the first "
                                                                "(\"add another\"); empty where the rows exist")
    add_first: bool = Field(False, description="the add steps come before the first item too (no blank row)")

    @field_validator("steps", "add")
    @classmethod
    def _flat(cls, steps: list[Any]) -> list[Any]:
        if any(s.action == "repeat" for s in steps):
            raise ValueError("a repeat block cannot hold another repeat block")
        return steps


class RepeatStep(StepModel):
    repeat: RepeatArgs


class RepeatKind(StepKind):
    name = "repeat"
    holds_steps = True
    model = RepeatStep
    navigates = True

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        raise StepFailed("a repeat block runs as its items' steps (webmem.steps.repeat.plan)")


@dataclass
class Planned:
    """One step as a run does it: a flow's step, or a step of one item of a repeat block."""

    step: Any
    top: int  # the flow step it comes from (0-based)
    values: Mapping[str, Any]
    where: str = ""  # inside a block: "item 3 step 2", "item 3 add step 1"
    # the first add step before an item: the item's first target (its row's), and how many add steps there
    # are; the add steps are skipped where that row is on the page already (a form showing blank rows)
    row: Any = None
    adds: int = 0
    # its place in the plan once a block has run (how the page looks there depends on it, not on the flow's
    # step alone): inside a block the item and step ("item 3 step 2"), after one the items each block had
    # ("lines=3 step 5"); empty before any block. A page check remembers the page as seen there (`positions`).
    at: str = ""


def plan(steps: Sequence[Any], values: Mapping[str, Any]) -> list[Planned]:
    """The steps a run does, repeat blocks expanded: per item its steps with the item's values (the add steps
    before every item but the first)."""
    out: list[Planned] = []
    counts: list[str] = []  # the blocks so far, with their items: "lines=3"
    secret = values.secret_keys if isinstance(values, Secrets) else frozenset()
    for i, step in enumerate(steps):
        done = ",".join(counts)
        if step.action != "repeat":
            out.append(Planned(step, i, values, at=f"{done} step {i + 1}" if done else ""))
            continue
        block: RepeatArgs = step.repeat
        keys = set(placeholders(block.model_dump_json()))
        items = values.get(block.over) or []
        # the item's row, where its first target is found by the item's index (a target that is the same
        # element for every item, an entry row, is always there: its add steps always run)
        first = next((j for j, s in enumerate(block.steps) if s.target is not None), None)
        by_index = first is not None and "{{ " + block.over + ".index" in block.steps[first].model_dump_json()
        for n, item in enumerate(items):
            mine = Secrets({**values, **item_values(block.over, n, item, keys)}, set(secret))
            numbered = [_numbered(s, block.over, n) for s in block.steps]
            if n or block.add_first:
                adds = [Planned(_numbered(s, block.over, n), i, mine, f"item {n + 1} add step {j}",
                                at=f"{done} item {n + 1} add step {j}".strip()) for j, s in enumerate(block.add, 1)]
                if adds and by_index:
                    assert first is not None
                    adds[0].row, adds[0].adds = numbered[first].target, len(adds)
                out += adds
            out += [Planned(s, i, mine, f"item {n + 1} step {j}", at=f"{done} item {n + 1} step {j}".strip())
                    for j, s in enumerate(numbered, 1)]
        counts.append(f"{block.over}={len(items)}")
    return out


def _numbered(step: Any, over: str, index: int) -> Any:
    """The step with the item's index written in, everywhere (a fingerprint's `id` and `name` attributes too,
    which replay compares as they are): `lines-{{ lines.index }}-quantity` is `lines-2-quantity`. A number
    is safe to write into any selector; the item's field values stay placeholders, rendered where they stand."""
    text = step.model_dump_json(exclude_none=True)
    if "{{" not in text:
        return step

    def sub(m: re.Match[str]) -> str:
        return str(index + int(m.group(1) or 0))

    numbered = re.sub(r"\{\{\s*" + re.escape(over) + r"\.index(?:\+(\d+))?\s*\}\}", sub, text)
    return step if numbered == text else type(step).model_validate_json(numbered)


def item_keys(over: str, fields: Sequence[str], used: Sequence[str]) -> set[str]:
    """The placeholders a block over `over` may use: its item fields, and of `used` the index ones."""
    return {f"{over}.{f}" for f in fields} | set(item_values(over, 0, {}, used))
