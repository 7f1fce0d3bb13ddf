"""The offline agent's repeated rows: a list input (`lines: [{description, quantity}, ...]`) goes into a table
of inline rows whose columns are named by their headers, one item per row — fill row 1, click the page's
"Add another ..." control, fill row 2, and so on. `scope` tells the recording loop which item (or "add
another") the next action belongs to, so the Recorder learns the items as one `repeat` block.

Nothing is guessed: an item field that matches no column (or two equally), a page with no free row and no
single "add" control, or an add that brought no new row stops the recording, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webmem.errors import AgentError
from webmem.learn.agents.base import InputView
from webmem.learn.agents.digest import Digest, Element
from webmem.steps import Action
from webmem.steps.click import Click
from webmem.steps.fill import Fill
from webmem.steps.select import Select

BAR = 0.6  # an item field and a column header this alike: that column
AVOID = {"delete", "remove", "cancel", "clear", "reset", "close", "back"}
ADD_WORDS = {"another", "more", "row", "line", "item", "new", "entry"}

Row = dict[str, Element]  # item field -> the control in its column


@dataclass
class ListFill:
    view: InputView
    n: int = 0  # the item being entered
    row: tuple[int, int] | None = None  # the row it goes to (table, row)
    pending: list[str] = field(default_factory=list)  # its fields left to enter
    used: list[tuple[int, int]] = field(default_factory=list)
    added_for: int = -1  # the item an "add another" was clicked for
    add_known: bool = False  # its add control is learned (clicked, or learned unclicked where rows were there)

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.view.value or [])


class RowFiller:
    """Enters the list inputs, item by item, after the form's other inputs and before its submit."""

    def __init__(self, views: list[InputView]):
        from webmem.learn.agents.heuristic import similarity, tokens  # (heuristic imports this module)

        self.similarity, self.tokens = similarity, tokens
        self.lists = [ListFill(v) for v in views]
        for lf in self.lists:
            if len(lf.items) < 2:
                raise AgentError(f"input {lf.view.key!r}: a list input is learned from two items or more (the "
                                 "second shows how rows repeat); give at least two")
        # (list input, item index; -1: its "add another", to click; -2: to learn without clicking it)
        self.scope: tuple[str, int] | None = None
        self.contexts: set[str] = set()  # the containers of the rows entered (their form)

    def next(self, digest: Digest) -> Action | None:
        """The next action for the list inputs, or None when every item is entered."""
        lf = next((lf for lf in self.lists if lf.n < len(lf.items)), None)
        self.scope = None
        if lf is None:
            return None
        key, item = lf.view.key, lf.items[lf.n]
        rows = self.rows(digest, lf)
        if lf.row is None:
            free = [at for at, row in rows.items() if at not in lf.used and all(
                not (el.value or "") for el in row.values() if el.fp.tag != "select")]
            if free and lf.n >= 1 and not lf.add_known:
                # the form shows this item's row already: its add control is learned, not clicked (a replay
                # with more items than blank rows clicks it)
                lf.add_known = True
                found = self.add_controls(digest, lf)
                if len(found) == 1:
                    self.scope = (key, -2)
                    return Click(element=found[0].index, why=f"learn how to add a row for {key!r} (not clicked: "
                                                            "the next row is there)")
            if not free:
                if lf.added_for == lf.n:
                    raise AgentError(f"input {key!r}: clicked to add a row for item {lf.n + 1}, but no new empty "
                                     "row appeared")
                lf.added_for, lf.add_known = lf.n, True
                self.scope = (key, -1)
                return self.add_control(digest, lf)
            lf.row = free[0]
            lf.pending = [f for f in self.fields(lf) if item.get(f) is not None]
        row = rows.get(lf.row)
        if row is None:
            raise AgentError(f"input {key!r}: the row of item {lf.n + 1} is gone from the page")
        if not lf.pending:  # this item is entered: the next one
            lf.used.append(lf.row)
            lf.row, lf.n = None, lf.n + 1
            return self.next(digest)
        name = lf.pending.pop(0)
        el = row[name]
        self.scope = (key, lf.n)
        self.contexts.add(el.fp.context or "")
        value = "{{ " + f"{key}.{name}" + " }}"  # the field by name: two fields may hold the same value
        why = f"item {lf.n + 1} of {key!r}: {name!r} goes to the column {el.column!r}"
        if el.fp.tag == "select" or el.options:
            return Select(element=el.index, value=value, why=why)
        if el.role in {"checkbox", "radio", "switch"}:
            raise AgentError(f"input {key!r}: the item field {name!r} goes to a {el.role}; only text and select "
                             "cells are entered in rows")
        return Fill(element=el.index, value=value, why=why)

    def fields(self, lf: ListFill) -> list[str]:
        spec = lf.view.spec.items or {}
        return list(spec) or list(lf.items[0])

    def rows(self, digest: Digest, lf: ListFill) -> dict[tuple[int, int], Row]:
        """The table rows that hold a column for every field of the list's items, in page order."""
        by_row: dict[tuple[int, int], list[Element]] = {}
        for el in digest.elements:
            if el.row_at is not None and el.column and el.is_field and el.enabled:
                by_row.setdefault(el.row_at, []).append(el)
        out: dict[tuple[int, int], Row] = {}
        for at, cells in by_row.items():
            row: Row = {}
            for name in self.fields(lf):
                ranked = sorted(((self.similarity(self.tokens(name), self.tokens(el.column or "")), el)
                                 for el in cells), key=lambda r: -r[0])
                if not ranked or ranked[0][0] < BAR:
                    break
                if len(ranked) > 1 and ranked[1][0] >= ranked[0][0] - 0.05:
                    raise AgentError(f"input {lf.view.key!r}: the item field {name!r} matches two columns equally "
                                     f"well ({ranked[0][1].column!r} and {ranked[1][1].column!r}); refusing to guess")
                row[name] = ranked[0][1]
            else:
                out[at] = row
        return out

    def add_controls(self, digest: Digest, lf: ListFill) -> list[Element]:
        """The links or buttons that add a row ("Add another line", "Add item", "+ Add row"): one, if the page
        is clear."""
        def words(el: Element) -> set[str]:
            return set(self.tokens(el.fp.name or el.fp.text or ""))

        found = [el for el in digest.elements if el.role in {"link", "button"} and el.enabled
                 and el.fp.type != "submit" and "add" in words(el) and not words(el) & AVOID]
        named = [el for el in found if words(el) & (ADD_WORDS | set(self.tokens(lf.view.key)))]
        return named if named else found

    def add_control(self, digest: Digest, lf: ListFill) -> Action:
        """The one control that adds a row, to click."""
        pick = self.add_controls(digest, lf)
        if len(pick) != 1:
            what = "no" if not pick else "more than one"
            names = ", ".join(repr(el.title) for el in pick)
            raise AgentError(f"input {lf.view.key!r}: item {lf.n + 1} needs a new row, and {what} control adds one"
                             + (f" ({names}); refusing to guess" if pick else ""))
        return Click(element=pick[0].index, why=f"add a row for item {lf.n + 1} of {lf.view.key!r}")
