"""Learning a target from an element on the page: its fingerprint and ranked unique selectors.
Recording and healing both call this."""

from __future__ import annotations

from playwright.sync_api import ElementHandle, Page

from webmem.flow.model import Fingerprint, Target
from webmem.page import inpage
from webmem.page.selector import unique_selectors


def fingerprint_of(page: Page, element: ElementHandle) -> Fingerprint:
    inpage.call(page, "(W) => 1")  # make sure the helpers are there
    info = element.evaluate("(el, opts) => window.__webmem.inspect([el], opts)[0]", inpage.OPTS)
    return Fingerprint.model_validate(info["fp"])


def learn_target(page: Page, element: ElementHandle, intent: str | None = None, limit: int = 4) -> Target:
    fp = fingerprint_of(page, element)
    selectors = unique_selectors(page, element, limit=limit)
    if not selectors:
        raise ValueError("no selector matches this element alone")
    return Target(intent=intent or default_intent(fp), selectors=selectors, fingerprint=fp)


def default_intent(fp: Fingerprint) -> str:
    what = fp.label or fp.name or fp.placeholder or fp.text or fp.attrs.get("name") or fp.tag
    kind = {
        "textbox": "field", "combobox": "select", "checkbox": "checkbox", "radio": "option",
        "button": "button", "link": "link", "searchbox": "search box", "spinbutton": "field",
    }.get(fp.role or "", fp.tag)
    value = fp.attrs.get("value") if fp.role == "radio" else None
    return f"the {what!r} {kind}" + (f" ({value})" if value else "")
