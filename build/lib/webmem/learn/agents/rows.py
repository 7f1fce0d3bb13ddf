"""The offline agent's repeated rows: a list input (`lines: [{description, quantity}, ...]`) goes into the
form's inline rows, one item per row — fill row 1, click the page's "Add another ..." control, fill row 2, and
so on. `scope` tells the recording loop which item (or "add another") the next action belongs to, so the
Recorder learns the items as one `repeat` block.

A row is either a table row whose cells are named by their column headers, or a group of labelled fields: the
smallest container (a card, a fieldset, a div) that holds one control for every item field, each known by its
own label (or the words beside it, or its `name` without the row's number), repeated with the same labels
for every item. Nothing in a page's markup is assumed beyond that shape.

Nothing is guessed: an item field that matches no column or label (or two equally), groups of fields that are
not labelled alike, a page with no free row and no single "add" control, or an add that brought no new row
stops the recording, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webmem.errors import AgentError
from webmem.learn.agents.base import InputView
from webmem.learn.agents.digest import Digest, Element
from webmem.learn.agents.words import similarity, tokens
from webmem.steps import Action
from webmem.steps.click import Click
from webmem.steps.fill import Fill
from webmem.steps.select import Select

BAR = 0.6  # an item field and a column header (or a field's label) this alike: that column (field)
TIE = 0.05  # two columns (fields) this close for one item field: ambiguous
AVOID = {"delete", "remove", "cancel", "clear", "reset", "close", "back"}
ADD_WORDS = {"another", "more", "row", "line", "item", "new", "entry"}

Row = dict[str, Element]  # item field -> the control in its column (or labelled so in its group)
RowKey = tuple[int, int]  # a table row: (table, row); a group of labelled fields: (-1, its container's number)
GROUP = -1


@dataclass
class ListFill:
    view: InputView
    n: int = 0  # the item being entered
    row: RowKey | None = None  # the row it goes to
    pending: list[str] = field(default_factory=list)  # its fields left to enter
    used: list[RowKey] = field(default_factory=list)
    added_for: int = -1  # the item an "add another" was clicked for
    add_known: bool = False  # its add control is learned (clicked, or learned unclicked where rows were there)

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.view.value or [])


class RowFiller:
    """Enters the list inputs, item by item, after the form's other inputs and before its submit."""

    def __init__(self, views: list[InputView]):
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
                                     f"row appeared{self.unmatched(digest, lf)}")
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
        where = f"the column {el.column!r}" if lf.row[0] != GROUP else f"the field {self.label(el)!r} of its group"
        why = f"item {lf.n + 1} of {key!r}: {name!r} goes to {where}"
        if el.fp.tag == "select" or el.options:
            return Select(element=el.index, value=value, why=why)
        if el.role in {"checkbox", "radio", "switch"}:
            raise AgentError(f"input {key!r}: the item field {name!r} goes to a {el.role}; only text and select "
                             "cells are entered in rows")
        return Fill(element=el.index, value=value, why=why)

    def fields(self, lf: ListFill) -> list[str]:
        spec = lf.view.spec.items or {}
        return list(spec) or list(lf.items[0])

    def rows(self, digest: Digest, lf: ListFill) -> dict[RowKey, Row]:
        """The rows that hold a control for every field of the list's items, in page order: a table's inline
        rows where there are such, else groups of labelled fields."""
        return self.table_rows(digest, lf) or self.groups(digest, lf)

    def table_rows(self, digest: Digest, lf: ListFill) -> dict[RowKey, Row]:
        """The table rows that hold a column for every field of the list's items, in page order."""
        by_row: dict[RowKey, list[Element]] = {}
        for el in digest.elements:
            if el.row_at is not None and el.column and el.is_field and el.enabled:
                by_row.setdefault(el.row_at, []).append(el)
        out: dict[RowKey, Row] = {}
        for at, cells in by_row.items():
            row: Row = {}
            for name in self.fields(lf):
                ranked = sorted(((similarity(tokens(name), tokens(el.column or "")), el)
                                 for el in cells), key=lambda r: -r[0])
                if not ranked or ranked[0][0] < BAR:
                    break
                if len(ranked) > 1 and ranked[1][0] >= ranked[0][0] - TIE:
                    raise AgentError(f"input {lf.view.key!r}: the item field {name!r} matches two columns equally "
                                     f"well ({ranked[0][1].column!r} and {ranked[1][1].column!r}); refusing to guess")
                row[name] = ranked[0][1]
            else:
                out[at] = self.distinct(lf, row, "column")
        return out

    def groups(self, digest: Digest, lf: ListFill) -> dict[RowKey, Row]:
        """The groups of labelled fields that each hold one item: the smallest containers holding a control
        that matches every item field by its label, in page order, all labelled alike."""
        names = self.fields(lf)
        controls = [el for el in digest.elements if el.is_field and el.enabled and el.boxes]
        scores = {name: {el.index: sc for el in controls if (sc := self.score(lf, name, el)) >= BAR}
                  for name in names}
        if not all(scores.values()):
            return {}
        covered: dict[int, set[str]] = {}  # container -> the item fields it holds a control for
        for el in controls:
            for name in names:
                if el.index in scores[name]:
                    for box in el.boxes:
                        covered.setdefault(box, set()).add(name)
        full = {box for box, held in covered.items() if len(held) == len(names)}
        # an item's group is the smallest such container: one that holds another is the form around the items
        outer = {box for el in controls for i, box in enumerate(el.boxes) if full.intersection(el.boxes[:i])}
        found: list[tuple[int, RowKey, Row]] = []
        for box in full - outer:
            members = [el for el in controls if box in el.boxes]
            row: Row = {}
            for name in names:
                ranked = sorted(((scores[name][el.index], el) for el in members if el.index in scores[name]),
                                key=lambda r: -r[0])
                if len(ranked) > 1 and ranked[1][0] >= ranked[0][0] - TIE:
                    raise AgentError(
                        f"input {lf.view.key!r}: the item field {name!r} matches two fields of one item equally well "
                        f"({self.label(ranked[0][1])!r} and {self.label(ranked[1][1])!r}); refusing to guess")
                row[name] = ranked[0][1]
            found.append((min(el.index for el in members), (GROUP, box), self.distinct(lf, row, "field")))
        found.sort(key=lambda f: f[0])
        shapes: dict[tuple[str, ...], tuple[str, ...]] = {}  # the labels of a group's fields, as shown
        for _, _, row in found:
            labels = tuple(self.label(row[name]) for name in names)
            shapes.setdefault(tuple(label.lower() for label in labels), labels)
        if len(shapes) > 1:
            seen = "; ".join(", ".join(repr(label) for label in shape) for shape in shapes.values())
            raise AgentError(f"input {lf.view.key!r}: the groups of fields its items could go to are not labelled "
                             f"alike ({seen}); refusing to guess which hold its items")
        return {at: row for _, at, row in found}

    def distinct(self, lf: ListFill, row: Row, what: str) -> Row:
        """The row, if no control is the best match of two item fields."""
        seen: dict[int, str] = {}
        for name, el in row.items():
            if el.index in seen:
                where = el.column if what == "column" else self.label(el)
                raise AgentError(f"input {lf.view.key!r}: the item fields {seen[el.index]!r} and {name!r} both match "
                                 f"the {what} {where!r} best; refusing to guess")
            seen[el.index] = name
        return row

    @staticmethod
    def label(el: Element) -> str:
        """A control's label as a person reads it in its group: its label or accessible name, its placeholder,
        else the words beside it (a label the markup did not tie to it)."""
        fp = el.fp
        return (fp.label or fp.name or fp.placeholder or fp.neighbors or "").rstrip(" *:").strip()

    def score(self, lf: ListFill, name: str, el: Element) -> float:
        """How well an item field names a control: by its label, or its `name` attribute without the row's
        number and the list's name (`lines-0-unit_price` is `unit price`), a little less sure."""
        key = tokens(name)
        attr = [t for t in tokens(el.fp.attrs.get("name", "")) if not t.isdigit()
                and t not in tokens(lf.view.key)]
        return max(similarity(key, tokens(self.label(el))), 0.95 * similarity(key, attr))

    def unmatched(self, digest: Digest, lf: ListFill) -> str:
        """Why no row was found, in words: the item fields no control's column or label matches."""
        controls = [el for el in digest.elements if el.is_field and el.enabled]
        parts = []
        for name in self.fields(lf):
            best = max(controls, key=lambda el: self.score(lf, name, el), default=None)
            if best is None or self.score(lf, name, best) < BAR:
                parts.append(f"{name!r} (closest: {self.label(best) if best else 'nothing'!r}, "
                             f"score {self.score(lf, name, best) if best else 0.0:.2f} < {BAR})")
        return f" (no column or labelled field matches the item field {', '.join(parts)})" if parts else ""

    def add_controls(self, digest: Digest, lf: ListFill) -> list[Element]:
        """The links or buttons that add a row ("Add another line", "Add item", "+ Add row"): one, if the page
        is clear."""
        def words(el: Element) -> set[str]:
            return set(tokens(el.fp.name or el.fp.text or ""))

        found = [el for el in digest.elements if el.role in {"link", "button"} and el.enabled
                 and el.fp.type != "submit" and "add" in words(el) and not words(el) & AVOID]
        named = [el for el in found if words(el) & (ADD_WORDS | set(tokens(lf.view.key)))]
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
