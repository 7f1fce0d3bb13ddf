"""The offline agent: no model. For form tasks it maps each input to the best-matching editable field (by
label, accessible name, placeholder, name, id, fieldset legend and nearby text, normalised and fuzzy),
fills / selects / checks it, then presses the form's submit control; on a wizard it follows "Next" while
inputs are left for later pages. Tasks that span pages: a sign-in form (a password field it filled) is
submitted first while other inputs wait, and where no field here takes the inputs left, the one link or
button whose words read like the task ("Add member" for "Add a member") leads to the form (webmem.learn.
agents.navigate). It never guesses: an input that matches two fields equally, or nothing above the confidence
bar, or no link clearly the task's, stops the recording with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webmem.errors import AgentError
from webmem.flow.inputs import parse_bool
from webmem.learn.agents.base import (
    Done,
    Fail,
    InputView,
    Outcome,
)
from webmem.learn.agents.digest import Digest, Element
from webmem.learn.agents.navigate import Wayfinder
from webmem.learn.agents.rows import RowFiller
from webmem.learn.agents.words import similarity, tokens
from webmem.steps import Action
from webmem.steps.check import Check
from webmem.steps.click import Click
from webmem.steps.fill import Fill
from webmem.steps.select import Select
from webmem.steps.upload import Upload

BAR = 0.6  # below this an input does not match a field
TIE = 0.05  # two fields this close for one input: ambiguous
NEXT_WORDS = {"next", "continue", "proceed", "forward"}
# a control whose words hand data over ("Save and continue editing") commits: never a wizard's "Next"
COMMIT_WORDS = {"save", "submit", "send", "create", "add", "apply", "confirm", "register", "finish", "update", "book",
                "order", "pay"}
SUBMIT_WORDS = {"submit", "save", "send", "create", "add", "apply", "confirm", "sign", "log", "register", "finish",
                "done", "ok", "update", "search", "go", "book", "order", "pay"}
AVOID_WORDS = {"back", "previous", "prev", "cancel", "reset", "clear", "delete", "remove", "close", "dismiss",
               "logout", "subscribe"}
WEIGHTS = {"label": 1.0, "name": 1.0, "group": 1.0, "attr_name": 0.95, "id": 0.9, "placeholder": 0.9,
           "neighbors": 0.7}

@dataclass
class Field:
    """An editable thing an input can go to: one control, or a radio group."""

    kind: str  # text, select, checkbox, radio, file
    elements: list[Element]
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> Element:
        return self.elements[0]

    @property
    def title(self) -> str:
        return self.texts.get("group") or self.texts.get("label") or self.texts.get("name") or \
            self.texts.get("attr_name") or self.texts.get("placeholder") or f"[{self.first.index}]"

    def score(self, key: str) -> float:
        kt = tokens(key)
        return max((similarity(kt, tokens(t)) * WEIGHTS[src] for src, t in self.texts.items() if t), default=0.0)


def fields_of(digest: Digest) -> list[Field]:
    out: list[Field] = []
    radios: dict[str, Field] = {}
    for el in digest.elements:
        if not el.is_field or not el.enabled:
            continue
        fp = el.fp
        if el.role == "radio":
            group = fp.attrs.get("name") or el.group or f"radio-{el.index}"
            if group not in radios:
                radios[group] = Field("radio", [], {"group": el.group or "", "attr_name": fp.attrs.get("name", "")})
                out.append(radios[group])
            radios[group].elements.append(el)
            continue
        kind = "select" if el.options or fp.tag == "select" else "checkbox" if el.role in {"checkbox", "switch"} \
            else "file" if fp.type == "file" else "text"
        texts = {"label": fp.label or "", "name": fp.name or "", "placeholder": fp.placeholder or "",
                 "attr_name": fp.attrs.get("name", ""), "id": fp.attrs.get("id", ""),
                 "neighbors": fp.neighbors or ""}
        out.append(Field(kind, [el], texts))
    return out


def _password_field(digest: Digest) -> bool:
    return any(e.fp.type == "password" for e in digest.elements)


def _words(el: Element) -> set[str]:
    return set(tokens(el.fp.name or el.fp.text or el.fp.attrs.get("value", "")))


class HeuristicAgent:
    """Fills a form (or a wizard of forms) from inputs alone."""

    name = "heuristic"
    model_calls = 0
    tokens = 0

    def __init__(self, bar: float = BAR):
        self.bar = bar
        self.remaining: dict[str, InputView] = {}
        self.inflight: str | None = None
        self.pressed: str | None = None  # "next" or "final" after a submit-like click
        self.pressed_at: str | None = None  # the URL it was pressed on
        self.contexts: set[str] = set()  # the containers of the fields filled on this page
        self.filled: list[str] = []
        self.password = False  # a password field was filled on this page: its form signs in
        self.way = Wayfinder("")
        self.rows: RowFiller | None = None  # the list inputs: one item per table row (webmem.learn.agents.rows)

    @property
    def scope(self) -> tuple[str, int] | None:
        """Which list input's item (or, with -1, its "add another") the last action chosen belongs to."""
        return self.rows.scope if self.rows is not None else None

    def start(self, task: str, inputs: list[InputView], max_steps: int, progress: list[str] | None = None) -> None:
        self.way = Wayfinder(task, [str(v.value) for v in inputs if v.value is not None and not v.spec.secret])
        # inputs a handed-over replay already entered are done: their placeholders show in its steps
        done = " ".join(progress or [])
        lists = [v for v in inputs if v.spec.type == "list"]
        self.rows = RowFiller(lists) if lists else None
        self.remaining = {v.key: v for v in inputs if v.placeholder not in done and v not in lists}
        self.filled = [v.key for v in inputs if v.placeholder in done]

    def observe(self, outcome: Outcome) -> None:
        if self.inflight is None:
            if self.rows is not None and self.rows.scope is not None and not outcome.ok:
                raise AgentError(f"input {self.rows.scope[0]!r} could not be entered: {outcome.message}")
            return
        key, self.inflight = self.inflight, None
        if outcome.ok:
            self.filled.append(key)
            self.remaining.pop(key, None)
        else:  # never retry a field blindly: say what failed
            raise AgentError(f"input {key!r} could not be entered: {outcome.message}")

    # ---- deciding -----------------------------------------------------------------------------

    def next_action(self, digest: Digest) -> Action:
        if self.pressed is not None:
            pressed, self.pressed = self.pressed, None
            problems = [a for a in digest.alerts if a]
            if digest.url == self.pressed_at and digest.invalid:  # the browser refused to submit the form
                problems.append("the browser did not accept " + ", ".join(repr(f) for f in digest.invalid))
            if problems:
                return Fail(reason=f"the page reported a problem after submitting: {'; '.join(problems)}")
            if pressed == "final":
                where = digest.headings[0] if digest.headings else digest.url
                return Done(summary=f"filled {', '.join(self.filled) or 'nothing'} and submitted; now on {where!r}")
            if pressed == "sign-in" and digest.url == self.pressed_at and _password_field(digest):
                return Fail(reason="signing in did not get past the sign-in page")
            self.contexts, self.password = set(), False
        fields = fields_of(digest)
        planned = self._plan(fields)
        if planned:
            key, fld = planned
            self.inflight = key
            self.contexts.add(fld.first.fp.context or "")
            self.password = self.password or fld.first.fp.type == "password"
            return self._action_for(key, fld)
        if self.rows is not None:
            if (row_action := self.rows.next(digest)) is not None:
                self.contexts |= self.rows.contexts
                return row_action
            self.filled += [lf.view.key for lf in self.rows.lists if lf.view.key not in self.filled]
        return self._submit(digest, fields)

    def _plan(self, fields: list[Field]) -> tuple[str, Field] | None:
        """The next (input, field) pair on this page, in page order; raises AgentError on ambiguity."""
        pairs: list[tuple[int, str, Field]] = []
        taken: set[int] = set()
        scored = []
        for key in self.remaining:
            ranking = sorted(((f.score(key), i) for i, f in enumerate(fields)), key=lambda r: (-r[0], r[1]))
            scored.append((ranking[0][0] if ranking else 0.0, key, ranking))
        for best, key, ranking in sorted(scored, key=lambda s: -s[0]):
            if best < self.bar:
                by_value = self._by_option(key, fields)  # "plan=Pro" where only an option says "Pro"
                if by_value is not None and by_value not in taken:
                    taken.add(by_value)
                    pairs.append((fields[by_value].first.index, key, fields[by_value]))
                continue
            if len(ranking) > 1 and ranking[1][0] >= self.bar and best - ranking[1][0] < TIE:
                a, b = fields[ranking[0][1]], fields[ranking[1][1]]
                raise AgentError(
                    f"input {key!r} matches two fields equally well ({a.title!r} and {b.title!r}, score "
                    f"{best:.2f}); refusing to guess — rename the input after the field you mean")
            i = ranking[0][1]
            if i in taken:
                continue  # a better-matching input already claimed this field
            taken.add(i)
            pairs.append((fields[i].first.index, key, fields[i]))
        if not pairs:
            return None
        _, key, fld = min(pairs, key=lambda p: p[0])
        return key, fld

    def _by_option(self, key: str, fields: list[Field]) -> int | None:
        """The one checkbox or radio group that has an option labelled with the input's value, if the input's
        name matches no field: an input `topping=Cheese` ticks the box labelled Cheese. Two such: no guess."""
        view = self.remaining[key]
        wanted = str(view.value).strip().lower() if view.value is not None and not view.spec.secret else ""
        if len(wanted) < 2:
            return None
        found = [i for i, f in enumerate(fields) if f.kind in ("checkbox", "radio")
                 and any(wanted in {(e.fp.label or "").strip().lower(), (e.fp.name or "").strip().lower()}
                         for e in f.elements)]
        return found[0] if len(found) == 1 else None

    def _action_for(self, key: str, fld: Field) -> Action:
        view = self.remaining[key]
        why = f"input {key!r} matches {fld.title!r}"
        value = view.placeholder if view.spec.secret or view.value is None else str(view.value)
        el = fld.first
        if fld.kind == "text":
            return Fill(element=el.index, value=value, why=why)
        if fld.kind == "file":
            return Upload(element=el.index, files=view.placeholder, why=why)
        if fld.kind == "checkbox":
            named = str(view.value).strip().lower() in {(el.fp.label or "").strip().lower(),
                                                         (el.fp.name or "").strip().lower()}
            if named:  # "topping=Cheese": the value names the box, which is ticked
                return Check(element=el.index, why=why)
            if not view.spec.secret and parse_bool(view.value) is None:
                raise AgentError(f"input {key!r} goes to the checkbox {fld.title!r}: expected yes/no/true/false/"
                                 f"on/off/1/0, got {view.value!r}")
            # bound: the box takes the state the input says on every run (ticked or not, as now)
            return Check(element=el.index, value=view.placeholder, why=f"{why} (set as it says: {view.value})")
        wanted = value.strip().lower()
        if fld.kind == "select":
            for opt_value, label in el.options:
                if value in (opt_value, label):
                    return Select(element=el.index, value=value, why=why)
            for opt_value, label in el.options:
                if wanted in (opt_value.lower(), label.lower()):
                    return Select(element=el.index, value=opt_value, why=why)
            choices = ", ".join(v for v, _ in el.options if v)
            raise AgentError(f"input {key!r}={view.value!r} is not an option of {fld.title!r} ({choices})")
        for radio in fld.elements:  # a radio group: the option whose value or label is the input
            if wanted in {(radio.fp.attrs.get("value") or "").lower(), (radio.fp.label or "").lower()}:
                return Check(element=radio.index, why=f"{why} (option {radio.fp.label or radio.fp.attrs.get('value')})")
        choices = ", ".join(r.fp.label or r.fp.attrs.get("value", "") for r in fld.elements)
        raise AgentError(f"input {key!r}={view.value!r} is not an option of {fld.title!r} ({choices})")

    def _submit(self, digest: Digest, fields: list[Field]) -> Action:
        # a list input's "Add Lines" adds a row, it does not send the form
        adders = {e.index for lf in self.rows.lists for e in self.rows.add_controls(digest, lf)} if self.rows else set()
        buttons = [e for e in digest.elements if e.is_button and e.enabled and not (_words(e) & AVOID_WORDS)
                   and e.index not in adders]
        in_form = [e for e in buttons if e.fp.context and (not self.contexts or e.fp.context in self.contexts)]
        nexts = [e for e in in_form if _words(e) & NEXT_WORDS and not _words(e) & COMMIT_WORDS]
        if self.remaining:
            if nexts:
                self.pressed, self.pressed_at = "next", digest.url
                return Click(element=nexts[0].index, why=f"inputs {', '.join(self.remaining)} belong to a later page")
            signs_in = [e for e in in_form if e.fp.type == "submit" or _words(e) & SUBMIT_WORDS]
            if self.password and len(signs_in) == 1:  # sign in first: the other inputs belong behind it
                self.pressed, self.pressed_at = "sign-in", digest.url
                return Click(element=signs_in[0].index,
                             why=f"sign in first: inputs {', '.join(self.remaining)} belong to a page behind it")
            if not self.filled_here():
                way, why = self.way.choose(digest.elements)
                if way is not None:
                    self.pressed, self.pressed_at = "next", digest.url
                    return Click(element=way.index, why=why)
                return Fail(reason=f"{self._unmatched(fields)}; {why}")
            return Fail(reason=self._unmatched(fields))
        submits = [e for e in in_form if e.fp.type == "submit" or _words(e) & SUBMIT_WORDS]
        preferred = [e for e in submits if _words(e) & (SUBMIT_WORDS | NEXT_WORDS)] or submits
        if not preferred:
            return Fail(reason="all inputs are entered but the form has no submit control webmem can tell apart")
        if len(preferred) > 1 and not self.contexts:
            names = ", ".join(repr(e.title) for e in preferred)
            return Fail(reason=f"several forms could be submitted ({names}); refusing to guess")
        button = preferred[0]
        self.pressed = "next" if _words(button) & NEXT_WORDS else "final"
        self.pressed_at = digest.url
        return Click(element=button.index, why="all inputs are entered: submit the form")

    def filled_here(self) -> bool:
        """Whether a field of this page was filled (then leaving it by a link would drop what was typed)."""
        return bool(self.contexts)

    def _unmatched(self, fields: list[Field]) -> str:
        parts = []
        for key in self.remaining:
            best = max(fields, key=lambda f: f.score(key), default=None)
            if best is None:
                parts.append(f"{key!r} (no fields here)")
            else:
                parts.append(f"{key!r} (closest: {best.title!r}, score {best.score(key):.2f} < {self.bar})")
        return "no field on this page matches input " + ", ".join(parts) + "; refusing to guess"
