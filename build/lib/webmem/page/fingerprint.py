"""Scoring an element against a learned fingerprint (weighted attribute similarity, after Similo).

The same score serves the replay's guard (is the matched element still the learned one?) and local
healing (which element on the page is it now?). Tag, role, name and label weigh most; ids and classes
less; position least. Only attributes the learned fingerprint has count.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from webmem.flow.model import Fingerprint, data_of, whole_of
from webmem.page.inpage import GENERATED_ID

_GENERATED = re.compile(GENERATED_ID, re.I)
_WORD = re.compile(r"[a-z0-9]+")

WEIGHTS: dict[str, float] = {
    "tag": 1.5,
    "type": 1.0,
    "role": 1.5,
    "name": 3.0,
    "label": 3.0,
    "placeholder": 1.5,
    "text": 2.0,
    "testid": 3.0,
    "name_attr": 2.0,
    "value": 1.5,
    "href": 1.0,
    "id": 1.0,
    "classes": 0.5,
    "row": 3.0,  # the row or item header: what sets identical controls apart, above any position
    "context": 1.0,
    "neighbors": 0.75,
    "order": 0.5,
}


def looks_generated(value: str) -> bool:
    return bool(_GENERATED.match(value))


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def text_similarity(a: str | None, b: str | None) -> float:
    """1 for the same words; otherwise the larger of word overlap and character similarity, damped so
    that a shared word ("email" in "backup email") is weak evidence."""
    if not a or not b:
        return 0.0
    na, nb = _norm(a), _norm(b)
    if na == nb:
        return 1.0
    wa, wb = set(na.split()), set(nb.split())
    words = len(wa & wb) / len(wa | wb) if wa | wb else 0.0
    chars = SequenceMatcher(None, na, nb).ratio()
    return 0.8 * max(words, chars) ** 2


def _features(fp: Fingerprint) -> dict[str, object]:
    """The attributes compared. A control with no name of its own is named by its row header (a form laid out
    in a table, an item of a list), so the same field learned with a label and found in a table still match."""
    attrs = fp.attrs
    testid = attrs.get("data-testid") or attrs.get("data-test") or attrs.get("data-qa")
    el_id = attrs.get("id")
    return {
        "tag": fp.tag,
        "type": fp.type,
        "role": fp.role,
        "name": fp.name or fp.row,
        "label": fp.label or (None if fp.name else fp.row),
        "placeholder": fp.placeholder,
        "text": fp.text,
        "testid": testid,
        "name_attr": attrs.get("name"),
        "value": attrs.get("value"),
        "href": attrs.get("href"),
        "id": el_id if el_id and not looks_generated(el_id) else None,
        "classes": set(fp.classes) or None,
        "row": fp.row,
        "context": fp.context,
        "neighbors": fp.neighbors,
        "order": fp.order,
    }


EXACT_KEYS = {"tag", "type", "role", "value"}


EVIDENCE = ("name", "label", "placeholder", "text", "row", "testid", "name_attr", "id", "href")
WORDED = {"name", "label", "placeholder", "text", "row"}  # words people read: sharing one is evidence
EVIDENT = 0.8  # this alike, an identifying attribute is evidence that a found element is the learned one
STOP_WORDS = {"the", "and", "for", "your", "you", "with", "this", "that", "from", "please", "enter", "select"}


def _content_words(text: str) -> set[str]:
    return {w for w in _norm(text).split() if len(w) >= 3 and w not in STOP_WORDS}


def evidence(learned: Fingerprint, found: Fingerprint) -> list[str]:
    """What positively ties `found` to `learned`: the identifying attributes they share (the same name,
    label, row header, test id...; for words people read, a shared word counts: "Save customer" and "Create
    customer"). Sharing only a tag, a type or a position is no evidence, and neither is the absence of rivals."""
    old, new = _features(learned), _features(found)
    shared = []
    for key in EVIDENCE:
        want, got = old[key], new[key]
        if want in (None, "") or got in (None, ""):
            continue
        if got == want or text_similarity(str(want), str(got)) >= EVIDENT or (
                key in WORDED and _content_words(str(want)) & _content_words(str(got))):
            shared.append(key)
    return shared


def _shown_name(fp: Fingerprint) -> str | None:
    """The element's name as people see it: an accessible name (aria-label) that shares no word with
    the element's visible text is not evidence of what it is (a "Save customer" label on a button
    reading "Delete all"), so the visible text stands in for it."""
    text, name = _norm(fp.text or ""), _norm(fp.name or "")
    if text and name and not set(text.split()) & set(name.split()):
        return fp.text
    return fp.name


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())


def holds_data(learned: Fingerprint, found: Fingerprint) -> bool:
    """A target tied to data ("the link {{ link }}", "the checkbox of the item {{ todo }}") is that datum's
    element only: the found element shows each value as it is, punctuation and all ("nisi," is not "nisi."),
    where the learned one showed it; a field that was the datum alone ("the link {{ link }}") is it alone
    ("egestas." is another link than "egestas")."""
    whole = whole_of(learned)
    for key, values in data_of(learned).items():
        # an element with no text of its own (an <input type=button>) shows its name
        also = [found.text, found.label] if key == "name" else [found.name] if key == "text" and not found.text else []
        shown = [_plain(s) for s in [getattr(found, key), *also] if s]
        wanted = [_plain(v) for v in values if v]
        if key in whole:
            if not any(s == w for s in shown for w in wanted):
                return False
        elif not any(all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", s) for w in wanted) for s in shown):
            return False
    return True


def named_by_data(learned: Fingerprint, found: Fingerprint) -> bool:
    """Whether the found element's name as people see it (its visible text where an aria-label disagrees) is
    exactly the datum the learned element's own words were."""
    shown = _plain(_shown_name(found) or found.text or "")
    return bool(shown) and any(shown == _plain(v) for k in whole_of(learned) for v in data_of(learned).get(k, []))


def score(learned: Fingerprint, found: Fingerprint) -> float:
    """Similarity in [0, 1] of an element now on the page (`found`) to the learned one; 0 for an element
    that does not show the data the target is tied to."""
    if not holds_data(learned, found):
        return 0.0
    old, new, data = _features(learned), _features(found), data_of(learned)
    new["name"] = _shown_name(found) or found.row
    total = weight_sum = 0.0
    for key, weight in WEIGHTS.items():
        want = old[key]
        if want in (None, ""):
            continue
        got = new[key]
        if "row" in data and (key == "row" or (key in {"name", "label"} and getattr(learned, key) is None)):
            sim = 1.0  # a row known by its data (and a control named by that row): holds_data found it there
        elif key in EXACT_KEYS:
            sim = 1.0 if got == want else 0.0
        elif key == "classes":
            sim = len(want & got) / len(want | got) if isinstance(got, set) else 0.0  # type: ignore[operator]
        elif key == "order":
            sim = 0.0 if got is None else 1.0 / (1 + abs(int(got) - int(want)))  # type: ignore[call-overload]
        elif key in {"name_attr", "testid", "id", "href"}:
            sim = 1.0 if got == want else 0.5 * text_similarity(str(want), str(got or ""))
        else:
            sim = text_similarity(str(want), str(got) if got else None)
        total += weight * sim
        weight_sum += weight
    return round(total / weight_sum, 4) if weight_sum else 0.0
