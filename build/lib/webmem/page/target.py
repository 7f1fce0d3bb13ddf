"""Learning a target from an element on the page: its fingerprint and ranked unique selectors.
Recording and healing both call this.

A target can be tied to the task's data: when the element is named by an input's value ("the button named
{{ choice }}") or sits in a row or item whose text holds one ("the checkbox of the item {{ todo }}"), its
selectors and fingerprint keep the value as its `{{ placeholder }}` (rendered at replay) and those selectors
come first: the next run, with other values, finds its own row, not the one the flow was learned on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from playwright.sync_api import ElementHandle, Page

from webmem.errors import RecordError
from webmem.flow.inputs import PLACEHOLDER, parse_bool
from webmem.flow.model import Fingerprint, Target
from webmem.flow.selector import render_selector
from webmem.page import inpage, signature
from webmem.page.selector import is_unique, locator, unique_selectors

TEXT_FIELDS = ("name", "label", "placeholder", "text", "neighbors", "row")
_ROW_FILTER = re.compile(r'has_text="(?:[^"\\]|\\.)*?(\{\{ [\w.+-]+ \}\})(?:[^"\\]|\\.)*"')


def fingerprint_of(page: Page, element: ElementHandle) -> Fingerprint:
    info = inpage.on_element(element, "inspect", inpage.OPTS)[0]
    return Fingerprint.model_validate(info["fp"])


def learn_target(page: Page, element: ElementHandle, intent: str | None = None, limit: int = 4,
                 values: Mapping[str, Any] | None = None) -> Target:
    """`values`: the task's input values (never secrets) a target may be tied to."""
    fp = fingerprint_of(page, element)
    words = task_words(values or {})
    selectors = unique_selectors(page, element, limit=limit + 2 if words else limit, words=list(words.values()))
    if not selectors:
        raise RecordError("no selector matches this element alone")
    if values:
        selectors, fp = _bind(page, element, selectors, fp, words, values)
    return Target(intent=intent or default_intent(fp), selectors=selectors[:limit], fingerprint=fp)


def task_words(values: Mapping[str, Any]) -> dict[str, str]:
    """The input values a target may be tied to: text of two characters or more, longest first. Numbers and
    yes/no values are states, not names (a `:nth-of-type(10)` or `[value="yes"]` is no data relation)."""
    found = {k: str(v).strip() for k, v in values.items() if isinstance(v, str | int | float)
             and not isinstance(v, bool) and len(str(v).strip()) >= 2 and parse_bool(v) is None
             and not re.fullmatch(r"[\d.,:+-]+", str(v).strip())}
    return dict(sorted(found.items(), key=lambda kv: -len(kv[1])))


def signature_data(values: Mapping[str, Any]) -> list[str]:
    """The task's values (never secrets: pass plain ones) as page signatures leave them out: a control named
    by one is data, not skeleton."""
    return signature.masked_words(list(task_words(values).values()))


def _template(text: str, words: Mapping[str, str], escaped: bool) -> str:
    """`text` with each input value, as a whole word, written as its placeholder."""
    for key, value in words.items():
        form = json.dumps(value, ensure_ascii=False)[1:-1] if escaped else value
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", "{{ " + key + " }}", text)
    return text


def _bind(page: Page, element: ElementHandle, selectors: list[str], fp: Fingerprint, words: Mapping[str, str],
          values: Mapping[str, Any]) -> tuple[list[str], Fingerprint]:
    bound, plain = [], []
    for selector in selectors:
        templated = _template(selector, words, escaped=True)
        if templated == selector:
            plain.append(selector)
            continue
        # a row filter holding more than the value keeps only the value (matched as a substring), if that
        # still finds this element alone
        narrowed = _ROW_FILTER.sub(lambda m: f'has_text="{m.group(1)}"', templated)
        if narrowed != templated and is_unique(page, render_selector(narrowed, values), element):
            templated = narrowed
        bound.append(templated)
    named = named_by(fp, values)
    if not bound and named is not None and (nth := _nth_bound(page, element, fp, *named)) is not None:
        bound.append(nth)  # look-alikes carry the same value: the element is found by the value, then its place
    if not bound:
        # not tied to the data by any selector: still, a name that *is* an input's value is no evidence of the
        # element (the next run's value names another one), so the fingerprint holds the placeholder
        return selectors, _unliteral(fp, values)
    texts = {f: _template(v, words, escaped=False) for f in TEXT_FIELDS if isinstance(v := getattr(fp, f), str)}
    # a row or card is known by the data it shows, not by the rest of its words (a post's text, a time); a card
    # found only through a row filter on the data is known by that data
    held = PLACEHOLDER.findall(texts.get("row") or "") or [
        k for s in bound for m in _ROW_FILTER.finditer(s) for k in PLACEHOLDER.findall(m.group(0))]
    if held:
        texts["row"] = " ".join("{{ " + k + " }}" for k in dict.fromkeys(held))
    return bound + plain, _unliteral(fp.model_copy(update=texts), values)


NAMING_ATTRS = ("value", "aria-label", "title", "alt")  # attributes that name an element (an <input type=button>)
BUTTON_TYPES = frozenset({"button", "submit", "reset"})  # inputs whose value is their name


def _whole(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def named_by(fp: Fingerprint, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """The input (key, value) whose value *is* the element's name or text (any plain value, short or numeric
    too: a button "No" chosen because the task said "no" is named by the task), if one is."""
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
            continue
        if _whole(str(value)) in {_whole(fp.name), _whole(fp.text)}:
            return key, str(value)
    return None


def _unliteral(fp: Fingerprint, values: Mapping[str, Any]) -> Fingerprint:
    """`fp` with every own word or naming attribute that is exactly an input's value written as its placeholder."""
    update: dict[str, Any] = {}
    attrs = dict(fp.attrs)
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
            continue
        mark = "{{ " + key + " }}"
        for f in ("name", "label", "text"):
            if _whole(getattr(fp, f)) == _whole(str(value)):
                update[f] = mark
        for a in NAMING_ATTRS:
            if a == "value" and fp.type not in BUTTON_TYPES:
                continue  # a checkbox's or radio's value is what it sends ("yes", "on"), not its name
            if a in attrs and _whole(attrs[a]) == _whole(str(value)):
                attrs[a] = mark
    if attrs != fp.attrs:
        update["attrs"] = attrs
    return fp.model_copy(update=update) if update else fp


def _nth_bound(page: Page, element: ElementHandle, fp: Fingerprint, key: str, value: str) -> str | None:
    """`role=R[name="{{ key }}"] >> nth=K` (or `text=`): the element among the visible ones the value names,
    where it is not the only one."""
    mark = "{{ " + key + " }}"
    bases = []  # (as found now, as the flow keeps it)
    if fp.role and fp.name == value:
        found = json.dumps(value, ensure_ascii=False)
        bases.append((f"role={fp.role}[name={found}]", f'role={fp.role}[name="{mark}"]'))
    if fp.text == value and " >> " not in value:
        bases.append((f"text={value}", f"text={mark}"))
    for base, templated in bases:
        try:
            at = locator(page, base).filter(visible=True).evaluate_all("(els, el) => els.indexOf(el)", element)
        except Exception:  # a name the page's engine reads otherwise finds nothing
            continue
        if at < 0:
            continue
        selector = f"{templated} >> nth={at}"
        if is_unique(page, render_selector(selector, {key: value}), element):
            return selector
    return None


def default_intent(fp: Fingerprint) -> str:
    what = fp.label or fp.name or fp.placeholder or fp.text or fp.attrs.get("name") or fp.tag
    kind = {
        "textbox": "field", "combobox": "select", "checkbox": "checkbox", "radio": "option",
        "button": "button", "link": "link", "searchbox": "search box", "spinbutton": "field",
    }.get(fp.role or "", fp.tag)
    value = fp.attrs.get("value") if fp.role == "radio" else None
    return f"the {what!r} {kind}" + (f" ({value})" if value else "")
