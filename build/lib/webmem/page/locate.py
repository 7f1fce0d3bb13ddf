"""Resolving a target on the page, with no blind replay.

Each stored selector is probed at once (one round trip returns every match with its fingerprint and
state). A selector counts only if exactly one visible element matches; that element is then scored
against the learned fingerprint. A high score is accepted straight away; a lower one (or any match on
a page that only resembles the learned one) must also be the best-scoring element of its kind on the
page, by a margin. Ambiguity is failure: two matches never mean "take the first".
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import ElementHandle, Locator, Page

from webmem.errors import SelectorError
from webmem.flow.inputs import PLACEHOLDER, placeholders, render
from webmem.flow.model import BoundFingerprint, Fingerprint, RenderedTarget, Target, data_of
from webmem.flow.selector import nth_of, render_selector
from webmem.page import inpage, signature
from webmem.page.fingerprint import holds_data, named_by_data, score, text_similarity
from webmem.page.selector import locator
from webmem.page.target import TEXT_FIELDS

ACCEPT = 0.9  # matched element this like the learned one: no further questions
VERIFY_MIN = 0.5  # below this a matched element is never the learned one
MARGIN = 0.1  # the matched (or healed-to) element must beat the runner-up by this much

# which elements can take an action: the step kind's rule (webmem.steps), passed in so healing and
# verification never cross kinds
Fits = Callable[[Fingerprint], bool]


@dataclass
class Candidate:
    index: int
    fp: Fingerprint
    score: float
    visible: bool
    enabled: bool

    def describe(self) -> str:
        what = self.fp.label or self.fp.name or self.fp.placeholder or self.fp.attrs.get("name") or ""
        return f"#{self.index} <{self.fp.tag}> {self.fp.role or ''} {what!r} score={self.score:.2f}".strip()


@dataclass
class Probe:
    selector: str
    count: int
    score: float | None = None
    note: str = ""


@dataclass
class Resolution:
    locator: Locator | ElementHandle | None = None  # an element handle: the very element a probe verified
    selector: str | None = None
    score: float | None = None
    state: dict = field(default_factory=dict)
    probes: list[Probe] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    problem: str = ""
    mutated_at: float | None = None  # the page's last DOM change as the probe saw it (its clock), if it said
    css: tuple[str, int] | None = None  # a plain CSS selector and index that find the element, where one is known

    @property
    def ok(self) -> bool:
        return self.locator is not None

    @property
    def stale(self) -> list[str]:
        """Selectors that no longer point at the element (so a heal can drop them)."""
        return [p.selector for p in self.probes if p.note]


def same_container(learned: Fingerprint, found: Fingerprint, contexts: Collection[str | None] = ()) -> bool:
    """A look-alike in another form or dialog (a newsletter box above the real form) is another control,
    however alike it looks. But a form whose address or heading changed is still the form: when no container
    on the page (`contexts`: those of the page's controls) is like the learned one and the page has one
    container, the found element's is it."""
    if not learned.context or text_similarity(learned.context, found.context) >= 0.5:
        return True
    if any(c and text_similarity(learned.context, c) >= 0.5 for c in contexts):
        return False  # the learned container is still there: this is another one
    if not found.context:
        return False
    # a page that wrapped its controls in a form (or renamed its only form) has one container of that kind
    kind = found.context.split(" ", 1)[0]  # form, dialog, or a landmark's role
    return {c for c in contexts if c and c.split(" ", 1)[0] == kind} == {found.context}


def page_candidates(page: Page, learned: Fingerprint | None, fits: Fits, *, wide: bool = False,
                    hidden: bool = False, like: str | None = None) -> list[Candidate]:
    """Every visible element that `fits` the action (`hidden`: invisible ones too; `wide`: list items,
    menu entries and other clickables besides form controls), scored against the learned fingerprint, best
    first. Leaves the page's registry filled so a candidate's index addresses its element."""
    opts = {**inpage.OPTS, "wide": wide, "hidden": hidden, "like": like, "words": data_words(learned)}
    return _scored(inpage.call(page, "elements", opts), learned, fits)


def _scored(found: list[dict], learned: Fingerprint | None, fits: Fits) -> list[Candidate]:
    """What `W.elements` described, those that fit, scored against the learned fingerprint, best first."""
    out = []
    for item in found:
        fp = Fingerprint.model_validate(item["fp"])
        if fits(fp):
            out.append(Candidate(item["index"], fp, score(learned, fp) if learned else 0.0,
                                 item["visible"], item["enabled"]))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def _contexts(page: Page, learned: Fingerprint, found: Fingerprint) -> list[str | None]:
    """The containers of the page's controls, looked up only when the found element's is not the learned one."""
    if not learned.context or text_similarity(learned.context, found.context) >= 0.5:
        return []
    return [c.fp.context for c in page_candidates(page, None, lambda fp: True)]


def registry_element(page: Page, index: int) -> ElementHandle | None:
    """The element the last `page_candidates` (or agent digest) numbered `index`, if it is still there."""
    return inpage.registry_element(page, index)


def look_alikes(fp: Fingerprint) -> str:
    """A CSS selector for the elements like a learned one that is no control (a clickable span's rivals are
    the spans of its class): its tag and first class."""
    first = next((c for c in fp.classes if re.fullmatch(r"[A-Za-z_][\w-]*", c)), None)
    return fp.tag + (f".{first}" if first else "")


def _best_with_margin(page: Page, hold: str, learned: Fingerprint, fits: Fits) -> tuple[bool, list[Candidate]]:
    """Whether the element a probe holds under `hold` is the best of its look-alikes in the learned container,
    by a margin (look-alikes in another form, dialog or landmark are other controls)."""
    found = page_candidates(page, learned, fits, like=look_alikes(learned))
    contexts = [c.fp.context for c in found]
    cands = [c for c in found if same_container(learned, c.fp, contexts)]
    idx = inpage.call(page, "registryIndex", hold)
    if not cands or cands[0].index != idx:
        return False, cands
    runner_up = cands[1].score if len(cands) > 1 else 0.0
    return cands[0].score - runner_up >= MARGIN, cands


def data_words(fp: Fingerprint | None) -> list[str]:
    """The task's values a data-bound fingerprint holds its element to: the page script describes each found
    element's row or card through them ("the card of {{ user }}")."""
    return list(dict.fromkeys(v for vs in data_of(fp).values() for v in vs if v))


def probe(page: Page, selector: str, words: list[str] | None = None) -> tuple[Locator | None, list[dict]]:
    """Every element `selector` matches (Playwright's engine), described; each is held (`inpage.held`: its
    info's "hold"), to act on the one verified."""
    try:
        loc = locator(page, selector)
        infos = inpage.call_all(loc, "inspectHeld", {**inpage.OPTS, "words": words or []})
    except SelectorError:
        raise
    except Exception:  # a selector the page's engine rejects (e.g. malformed CSS) is a stale one
        return None, []
    return loc, infos


CHANGING_MS = 1000  # how long a page that is still changing may take to show the element a rejected match hides


def resolve(page: Page, target: Target, fits: Fits, *, strict: bool = False, wait_ms: int = 0,
            grace_ms: int | None = None, quiet_ms: int = 40, probed: Probed | None = None,
            along: inpage.ReadAlong | None = None) -> Resolution:
    """Find the one element `target` means, or say why not. While no selector matches anything at all (a
    menu that opens a moment after the last action, content still rendering), keep looking: for `grace_ms`,
    then on while the page is still changing, up to `wait_ms`. A selector that matches something on a page
    that has stopped changing decides at once: it is verified, or it is not the element (while the page still
    changes, a panel opening or a list filling in, the element may yet show up). `probed`: what a path's probe
    (`probe_call`) answered just now, asked along with the page check (the first look uses it)."""
    started = time.monotonic()
    grace = wait_ms if grace_ms is None else min(grace_ms, wait_ms)
    rendering = False
    while True:
        res = _resolve_once(page, target, fits, strict, probed, along)  # `along`: a read-back its probe makes
        probed = None
        if rendering and res.ok and res.stale:  # it showed up between one probe and the next: look once more
            res = _resolve_once(page, target, fits, strict)
        if res.ok:
            return res
        rendering = True
        waited = (time.monotonic() - started) * 1000
        if waited >= wait_ms:
            return res
        matched = any(p.count for p in res.probes)
        if matched and waited >= CHANGING_MS:  # a page that never stops changing (a ticking clock) decides too
            return res
        if (matched or waited >= grace) and signature.idle_ms(page) >= quiet_ms:
            return res
        time.sleep(0.05)


def render_target(target: Target, values: Mapping[str, Any]) -> Target:
    """The target with its `{{ input }}` placeholders filled in (a data-bound target: "the button named
    {{ choice }}", "the checkbox of the item {{ todo }}"), selectors escaped for where the value stands: a
    `RenderedTarget`, which carries what it is bound to (a target without placeholders comes back as it is)."""
    if "{{" not in target.model_dump_json():
        return target
    fp = target.fingerprint
    bound_fp: BoundFingerprint | None = None
    if fp is not None:
        bound = {k: v for k, v in fp.model_dump(include=set(TEXT_FIELDS)).items() if isinstance(v, str) and "{{" in v}
        # a naming attribute that was the datum (an <input type=button value="{{ choice }}">) is rendered too
        attrs = {k: render(v, values) if "{{" in v else v for k, v in fp.attrs.items()}
        # built as model_copy did, without validating again (the learned fingerprint was; a value is data)
        bound_fp = BoundFingerprint.model_construct(
            **{**_fields(fp), **{k: render(v, values) for k, v in bound.items()}, "attrs": attrs},
            # what the element (its own words, its row's header) must show as it is: the datum, not a word
            # like it; nearby text is too loose to hold anyone to
            data={k: [render("{{ " + name + " }}", values) for name in placeholders(v)] for k, v in bound.items()
                  if k in OWN_WORDS or k == "row"},
            # the element's own words that were the datum alone (a row or card says more than its header)
            whole={k for k, v in bound.items() if k in OWN_WORDS and PLACEHOLDER.fullmatch(v.strip())})
    selectors = [render_selector(s, values) for s in target.selectors]
    return RenderedTarget.model_construct(
        **{**_fields(target), "selectors": selectors, "fingerprint": bound_fp},
        bound={r for s, r in zip(target.selectors, selectors, strict=True) if "{{" in s})


def _fields(model: Target | Fingerprint) -> dict[str, Any]:
    return {name: getattr(model, name) for name in type(model).model_fields}


OWN_WORDS = frozenset({"name", "label", "text"})


def _shown_data(fp: Fingerprint) -> str:
    return " and ".join(repr(v) for v in data_words(fp))


_POSITION = {"css": re.compile(r":nth-(?:of-type|child)\("), "xpath": re.compile(r"\[\d+\]|^/")}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def positional(selector: str) -> bool:
    """A selector that finds its element by position (a CSS path with :nth-of-type, an absolute XPath): the
    element it finds must also be the best of its look-alikes on the page, or it is a guess. A number in a
    quoted value is data, not a place (`input[name="items[1][text]"]`)."""
    kind, _, body = selector.partition("=")
    found = _POSITION.get(kind)
    return found is not None and bool(found.search(_QUOTED.sub("''", body)))


# a target's plain CSS and role selectors probed with the page's own engine in one round trip (probes.js `fast`):
# each element found visible comes back held, to act on that very element
FAST_PROBE_JS = "fastProbe"
CONTROL = ("input:not([type=hidden]),select,textarea,button,a[href],[role=button],[role=link],[role=checkbox],"
           "[role=radio],[role=textbox],[role=combobox],[role=switch],[role=tab],[role=menuitem],[role=option],"
           '[contenteditable=""],[contenteditable=true],summary,[role]')
_ROLE = re.compile(r'^role=(?P<role>[a-z]+)\[name=(?P<name>".*")\]$', re.S)


def _fast_probe(selector: str) -> dict[str, str] | None:
    """How the page's own engine reads `selector`: a one-part, non-positional `css=`, or a one-part
    `role=R[name="N"]`; None for anything else."""
    if " >> " in selector or positional(selector):
        return None
    kind, _, body = selector.partition("=")
    if kind == "css":
        return {"css": body}
    m = _ROLE.match(selector)
    if m is None:
        return None
    try:
        name = json.loads(m["name"])
    except ValueError:
        return None
    return {"role": m["role"], "name": name} if isinstance(name, str) else None


@dataclass
class Probed:
    """What the paths' probes of a target answered, asked along with another call (the page check's): by path
    ("fast", "careful"), those that were asked."""

    answers: dict[str, Any]


# the page check's probes of its step's target, given the page's signature tokens as the page check just took
# them: the fast path's always, the careful path's too where the page is not exactly its learned state (the
# page script's tokens, before the run leaves out those naming the task's data: where data makes them differ,
# the careful answer is only unused)
CHECK_PROBES_JS = "checkProbes"  # probes.js `checkProbes`


def check_probes(target: Target, learned: list[str], careful_only: bool) -> tuple[str, dict[str, Any]] | None:
    """The in-page call that probes `target` along with a page check whose learned tokens are `learned`."""
    fast = None if careful_only else probe_call(target, careful=False)
    careful = probe_call(target, careful=True)
    if fast is None and careful is None:
        return None
    return (CHECK_PROBES_JS, {"learned": learned, "fast": fast and fast[1], "careful": careful and careful[1]})


def probe_call(target: Target, careful: bool) -> tuple[str, dict[str, Any]] | None:
    """The fast (or careful) path's one in-page call for `target`: a function of (W, arg) and its arg, to make
    on its own or along with another call (the page check's); None where the target has no selector it reads."""
    learned = target.fingerprint
    if learned is None:
        return None
    if careful:
        p = _fast_probe(target.selectors[0]) if target.selectors else None
        return None if p is None else (CAREFUL_PROBE_JS, {
            "probe": p, "opts": {**inpage.OPTS, "words": data_words(learned)}, "controls": CONTROL,
            "like": look_alikes(learned)})
    fast = _fast_selectors(target)
    return None if not fast else (FAST_PROBE_JS, {"probes": [p for _, p in fast], "controls": CONTROL,
                                                  "opts": {**inpage.OPTS, "words": data_words(learned)}})


def _fast_selectors(target: Target) -> list[tuple[str, dict[str, str]]]:
    return [(sel, p) for sel in target.selectors if (p := _fast_probe(sel)) is not None]


def _resolve_fast(page: Page, target: Target, probed: Probed | None = None,
                  along: inpage.ReadAlong | None = None) -> Resolution | None:
    """The fast path of a page in its learned state: a plain CSS or role selector that matches one visible
    element scoring ACCEPT against the fingerprint (in its learned container) is the element, decided in one
    round trip (`probed`: what its probe answered, when the page check asked it just now). Anything less
    certain returns None: the full probe decides."""
    learned = target.fingerprint
    call = probe_call(target, careful=False)
    if learned is None or call is None:
        return None
    fast = _fast_selectors(target)  # what the call's probes stand for, in its order
    found = probed.answers["fast"] if probed is not None else inpage.call(page, *call, along)
    if found is None:
        return None
    for (selector, p), infos in zip(fast, found, strict=True):
        if infos is None:
            continue
        visible = [i for i, info in enumerate(infos) if info["visible"]]
        if len(visible) != 1:
            continue
        info = infos[visible[0]]
        fp = Fingerprint.model_validate(info["fp"])
        sc = score(learned, fp)
        if sc < ACCEPT or not same_container(learned, fp):
            continue
        res = Resolution(probes=[Probe(selector, 1, sc)])
        # act on the element this probe verified, held (Playwright's engines might find another by then); the
        # field's read-back finds it by the CSS selector, or the path the probe saw it at
        if "css" in p:
            res.css = (p["css"], visible[0])
        elif info.get("path"):
            res.css = (info["path"], 0)
        return _accept(res, inpage.held(page, info["hold"]), selector, sc, info)
    return None


# the careful path's first selector, verified against its look-alikes in one round trip (probes.js `careful`):
# the page's controls described as `W.elements` describes them for `page_candidates`, the selector read by the
# page's own engine, where each element it matched stands in that list; each visible one held
CAREFUL_PROBE_JS = "carefulProbe"


def _resolve_careful(page: Page, target: Target, fits: Fits, probed: Probed | None = None,
                     along: inpage.ReadAlong | None = None) -> Resolution | None:
    """The careful path's verdict on a target's first selector in one round trip: it matches one visible
    element, in the learned container, showing the target's data, scoring at least VERIFY_MIN, and that
    element is the best of its look-alikes by MARGIN (the checks of `_resolve_once` and `_best_with_margin`).
    `probed`: what its probe answered, when the page check asked it just now. Anything else returns None: the
    full probe decides, and says why."""
    learned = target.fingerprint
    call = probe_call(target, careful=True)
    if learned is None or call is None:
        return None
    p = call[1]["probe"]
    found = probed.answers["careful"] if probed is not None else inpage.call(page, *call, along)
    if found is None:
        return None
    infos = found["infos"]
    visible = [i for i, info in enumerate(infos) if info["visible"]]
    if len(visible) != 1:
        return None
    info = infos[visible[0]]
    fp = Fingerprint.model_validate(info["fp"])
    sc = score(learned, fp)
    # a container unlike the learned one asks about the whole page's: the full probe's question
    if learned.context and text_similarity(learned.context, fp.context) < 0.5:
        return None
    if not holds_data(learned, fp) or sc < VERIFY_MIN:
        return None
    cands = _scored(found["cands"], learned, fits)
    contexts = [c.fp.context for c in cands]
    cands = [c for c in cands if same_container(learned, c.fp, contexts)]
    if not cands or cands[0].index != found["at"][visible[0]]:
        return None
    if cands[0].score - (cands[1].score if len(cands) > 1 else 0.0) < MARGIN:
        return None
    selector = target.selectors[0]
    res = Resolution(probes=[Probe(selector, 1, sc)], candidates=cands[:5], mutated_at=found["mutated"])
    if "css" in p:  # the field's read-back finds it by the selector, or the path the probe saw it at
        res.css = (p["css"], visible[0])
    elif (path := found["paths"][visible[0]]) is not None:
        res.css = (path, 0)
    return _accept(res, inpage.held(page, info["hold"]), selector, sc, info)


def _resolve_once(page: Page, target: Target, fits: Fits, strict: bool, probed: Probed | None = None,
                  along: inpage.ReadAlong | None = None) -> Resolution:
    if probed is not None and ("careful" if strict else "fast") not in probed.answers:  # not this path's
        probed = None
    if not strict and (fast := _resolve_fast(page, target, probed, along)) is not None:
        return fast
    if strict and (careful := _resolve_careful(page, target, fits, probed, along)) is not None:
        return careful
    res = Resolution()
    learned = target.fingerprint
    for selector in target.selectors:
        # `X >> nth=K`: the K-th of what X finds, or the only one (the demonstration's value named several
        # elements, this run's may name one)
        place = nth_of(selector)
        loc, infos = probe(page, place[0] if place else selector, data_words(learned))
        visible = [i for i, info in enumerate(infos) if info["visible"]]
        seen = len(visible)
        if place is not None and seen > 1:
            visible = visible[place[1]:place[1] + 1]
        pr = Probe(selector, len(visible))
        res.probes.append(pr)
        if len(visible) != 1:
            pr.note = f"{seen} visible matches, no #{place[1] + 1}" if place and seen else \
                "no visible match" if not visible else f"ambiguous: {len(visible)} visible matches"
            continue
        assert loc is not None
        info = infos[visible[0]]
        one = inpage.held(page, info["hold"])  # the very element described here, or nothing
        fp = Fingerprint.model_validate(info["fp"])
        if learned is None:
            pr.score = None
            return _accept(res, one, selector, None, info)
        pr.score = score(learned, fp)
        if not same_container(learned, fp, _contexts(page, learned, fp)):
            pr.note = f"matches an element in another form or dialog ({fp.context!r})"
            continue
        if not holds_data(learned, fp):
            pr.note = f"matches an element that does not show {_shown_data(learned)}"
            continue
        # a selector that finds the element by the run's value (holds_data), one visible element of the learned role:
        # a <button> learned, an <input type=button> found is the same button to a person; among several the value
        # names, its place (nth=) decides
        bound = target.bound if isinstance(target, RenderedTarget) else set()
        if selector in bound and fp.role and fp.role == learned.role and named_by_data(learned, fp):
            return _accept(res, one, selector, pr.score, info)
        if place is not None and data_of(learned) and pr.score >= VERIFY_MIN:
            return _accept(res, one, selector, pr.score, info)
        if pr.score < VERIFY_MIN:
            pr.note = f"matches a different element (score {pr.score:.2f})"
            continue
        if pr.score >= ACCEPT and not strict and not positional(selector):
            return _accept(res, one, selector, pr.score, info)
        best, cands = _best_with_margin(page, info["hold"], learned, fits)
        res.candidates = cands[:5]
        if best:
            return _accept(res, one, selector, pr.score, info)
        pr.note = f"matches an element that is not clearly the learned one (score {pr.score:.2f})"
    notes = "; ".join(f"{p.selector} → {p.note}" for p in res.probes)
    res.problem = f"no selector found the element: {notes}"
    return res


def _accept(res: Resolution, loc: Locator | ElementHandle, selector: str, sc: float | None, info: dict) -> Resolution:
    res.locator, res.selector, res.score = loc, selector, sc
    res.state = {k: info.get(k) for k in ("visible", "enabled", "editable", "checked", "value", "options", "blocked")}
    return res
