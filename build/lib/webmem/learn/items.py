"""Learning a `repeat` block from a demonstration of two items: the steps of item 0 and of item 1 (each the
same actions on the same kind of element, in another row) become one item template.

Where the two items' steps agree they are kept as they are. Where they differ only in numbers that count
the rows — a formset's `lines-0-description` and `lines-1-description`, a table's `tr:nth-of-type(2)` and
`tr:nth-of-type(3)` — each such number becomes the item's index: `{{ lines.index }}` where item 0 showed 0,
`{{ lines.index+K }}` where it showed K (item 1 shows K + 1). Nothing about a portal's markup is assumed:
the two demonstrated items are the evidence. A selector that does not generalise so is dropped (it found
one row's element by something else); a fingerprint field that does not is left out (it is evidence about
one row only, such as its position among the form's controls). A value, URL or expectation that differs
any other way is no item template: the demonstration is refused, saying where.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from webmem.errors import RecordError
from webmem.flow.model import StepModel
from webmem.steps import STEPS

_NUMBER = re.compile(r"(\d+)")
_LOOSE = ("fingerprint", "intent", "healed")  # evidence about one element: a disagreement drops the field


class NotAnItem(RecordError):
    """The two demonstrated items are not the same steps in two rows."""


def index_template(over: str, a: str, b: str) -> str | None:
    """`a` (item 0's) with each number that is one more in `b` (item 1's) as the item's index; None where
    the two differ otherwise."""
    pa, pb = _NUMBER.split(a), _NUMBER.split(b)
    if len(pa) != len(pb):
        return None
    out = []
    for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if x == y:
            out.append(x)
        elif i % 2 and int(y) == int(x) + 1 and str(int(x)) == x:  # a number (odd parts), counting the rows
            out.append("{{ " + over + ".index" + (f"+{x}" if int(x) else "") + " }}")
        else:
            return None
    return "".join(out)


def _merge(over: str, a: Any, b: Any, where: str, loose: bool) -> Any:
    """Item 0's and item 1's versions of one part of a step, as one template (None: dropped, if `loose`)."""
    if a == b:
        return a
    if isinstance(a, str) and isinstance(b, str) and (t := index_template(over, a, b)) is not None:
        return t
    if isinstance(a, dict) and isinstance(b, dict):
        out = {}
        for key in a:
            if key not in b:
                if loose or key == "selectors":
                    continue
                raise NotAnItem(f"{where}.{key}: only item 0's step has it")
            if key == "selectors":
                out[key] = _selectors(over, a[key], b[key], where)
                continue
            merged = _merge(over, a[key], b[key], f"{where}.{key}", loose or key in _LOOSE)
            if merged is not None or not loose and key not in _LOOSE:
                out[key] = merged
        return out
    if isinstance(a, list) and isinstance(b, list):
        if loose:  # a fingerprint's classes: what both rows showed
            return [x for x in a if x in b]
        if len(a) != len(b):
            raise NotAnItem(f"{where}: item 0 has {len(a)}, item 1 has {len(b)}")
        return [_merge(over, x, y, f"{where}[{i}]", loose) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    if loose:
        return None
    raise NotAnItem(f"{where}: item 0's {a!r} and item 1's {b!r} are not one item's template "
                    "(an item's values must come from its fields)")


def _selectors(over: str, a: list[str], b: list[str], where: str) -> list[str]:
    out = []
    for sa in a:
        for sb in b:
            t = sa if sa == sb else index_template(over, sa, sb) or index_template(over, _first_of_kind(sa, sb), sb)
            if t is not None and t not in out:
                out.append(t)
                break
    if not out:
        raise NotAnItem(f"{where}: no selector finds both items' elements by their row's index or data "
                        f"(item 0: {', '.join(a)}; item 1: {', '.join(b)})")
    return out


_CSS_PLACE = re.compile(r"^(.*):nth-of-type\((\d+)\)$")
_XPATH_PLACE = re.compile(r"^(.*)\[(\d+)\]$")


def _first_of_kind(a: str, b: str) -> str:
    """Item 0's positional selector with the places it left out (an element then the only one of its tag
    among its siblings: the first of its kind) written in where item 1's has them: item 0's card was alone
    (`section > div > input`) when item 1's was the second (`section:nth-of-type(2) > div > input`)."""
    engine, _, pa_text = a.partition("=")
    other, _, pb_text = b.partition("=")
    if engine != other or engine not in ("css", "xpath"):
        return a
    sep, place = (" > ", _CSS_PLACE) if engine == "css" else ("/", _XPATH_PLACE)
    pa, pb = pa_text.split(sep), pb_text.split(sep)
    if len(pa) != len(pb):
        return a
    out = []
    for x, y in zip(pa, pb, strict=True):
        m = place.match(y)
        if m and m.group(1) == x and m.group(2) == "2":  # item 1's the second of its kind: item 0's the first
            x = y[: m.start(2)] + "1" + y[m.end(2):]
        out.append(x)
    return engine + "=" + sep.join(out)


def generalise(over: str, first: Sequence[StepModel], second: Sequence[StepModel], what: str = "step") \
        -> list[StepModel]:
    """Item 0's and item 1's steps (the same actions, in two rows) as one item's template steps; page states
    are item 0's."""
    if [s.action for s in first] != [s.action for s in second]:
        raise NotAnItem(f"the two items were not the same steps: item 0 did {', '.join(s.action for s in first)}; "
                        f"item 1 did {', '.join(s.action for s in second)}")
    out = []
    for n, (a, b) in enumerate(zip(first, second, strict=True), 1):
        da, db = a.model_dump(mode="json", exclude_none=True), b.model_dump(mode="json", exclude_none=True)
        db[a.action]["page"] = da[a.action].get("page")  # where the item's steps act: as item 0 did
        if "expect" not in da or "expect" not in db:  # what one item's step led to, the other's did not
            da.pop("expect", None)
            db.pop("expect", None)
        merged = _merge(over, da, db, f"{what} {n} ({a.action})", loose=False)
        out.append(STEPS[a.action].model.model_validate(merged))
    return out


class Blocks:
    """A Recorder's demonstration of repeated rows: where each list input's items and "add another" steps
    start, until the second item folds them into one repeat block."""

    def __init__(self) -> None:
        self.open: tuple[str, int, int] | None = None  # (list input, item index, its first step)
        self.first: dict[str, tuple[int, int]] = {}  # list input -> item 0's steps [start, end)
        self.add_at: dict[str, int] = {}  # list input -> where its add steps start (before item 0: add_first)
        self.done: dict[str, int] = {}  # list input -> the length of the steps once its block was folded

    def start(self, over: str, index: int, at: int) -> None:
        if self.open is not None:
            raise RecordError(f"item {self.open[1]} of {self.open[0]!r} is still being recorded")
        if index == 1 and over not in self.first:
            raise RecordError(f"record item 0 of {over!r} before item 1")
        if index == 0 and (over in self.first or over in self.done):
            raise RecordError(f"item 0 of {over!r} was recorded already")
        if index >= 2 and over not in self.done:
            raise RecordError(f"record items 0 and 1 of {over!r} before item {index}")
        self.open = (over, index, at)

    def add(self, over: str, at: int) -> None:
        """An "add another" step is about to be recorded at `at`."""
        if self.open is not None:
            raise RecordError("an \"add another\" step comes between items, not inside one")
        self.add_at.setdefault(over, at)

    def attach(self, over: str, step: Any, steps: list[Any]) -> None:
        """An "add another" learned after the items (the form had their rows): the block's add, if it has none."""
        block = steps[self.done[over] - 1]
        if not STEPS[block.action].holds_steps or block.repeat.over != over:
            raise RecordError(f"the steps of {over!r} were followed by others: its add control comes right after "
                             "its items")
        if not block.repeat.add:
            block.repeat.add = [step]

    def end(self, steps: list[Any]) -> None:
        """The open item is recorded: item 0 is kept, item 1 folds the block into one step, a later item's
        steps (the block does them now) are dropped."""
        assert self.open is not None
        (over, index, at), self.open = self.open, None
        if index == 0:
            self.first[over] = (at, len(steps))
            return
        if index >= 2:
            del steps[self.done[over]:]
            return
        from webmem.steps.repeat import RepeatArgs, RepeatStep

        s0, e0 = self.first.pop(over)
        add_at = self.add_at.pop(over, e0)
        add_first = add_at < s0
        if add_first:
            add = steps[add_at:s0]
            if len(steps[e0:at]) != len(add):  # the same "add another" again before item 1
                raise NotAnItem(f"{over!r}: the steps between the items are not the ones before item 0")
        else:
            add = steps[e0:at]
        template = generalise(over, steps[s0:e0], steps[at:], what="item step")
        block = RepeatStep(repeat=RepeatArgs(over=over, steps=template, add=add, add_first=add_first))
        del steps[min(add_at, s0):]
        steps.append(block)
        self.done[over] = len(steps)
