"""Selectors as written in flow files, and how they become Playwright locators.

The grammar is Playwright's own vocabulary with exact matching, so a selector never matches by
accident on a substring: `testid=`, `role=ROLE[name="…"]`, `placeholder=`, `label=`, `alt=`,
`title=`, `text=`, `css=`, `xpath=`.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import ElementHandle, Locator, Page

from webmem import inpage
from webmem.errors import WebmemError

ROLE = re.compile(r'^(?P<role>[a-z]+)(?:\[name=(?P<name>".*")\])?$', re.S)
KINDS = ("testid", "role", "placeholder", "label", "alt", "title", "text", "css", "xpath")


class SelectorError(WebmemError, ValueError):
    """A selector outside the grammar (a WebmemError: said in one line, never a traceback)."""


def kind_of(selector: str) -> str:
    kind, sep, _ = selector.partition("=")
    if not sep or kind not in KINDS:
        raise SelectorError(f"unknown selector {selector!r}: expected one of {', '.join(k + '=' for k in KINDS)}")
    return kind


def check(selector: str) -> str:
    """The selector's kind if it is one webmem can turn into a locator, else SelectorError (at load time)."""
    kind = kind_of(selector)
    body = selector[len(kind) + 1 :]
    if kind == "role":
        m = ROLE.match(body)
        if not m:
            raise SelectorError(f'bad role selector {selector!r}: expected role=ROLE[name="NAME"]')
        if m.group("name") is not None:
            try:
                name = json.loads(m.group("name"))
            except ValueError:
                name = None
            if not isinstance(name, str):
                raise SelectorError(f'bad role selector {selector!r}: the name must be a JSON string')
    elif not body:
        raise SelectorError(f"empty selector {selector!r}")
    return kind


def locator(page: Page, selector: str) -> Locator:
    kind = check(selector)
    body = selector[len(kind) + 1 :]
    if kind == "testid":
        return page.get_by_test_id(body)
    if kind == "role":
        m = ROLE.match(body)
        assert m is not None  # checked above
        if m.group("name") is None:
            return page.get_by_role(m.group("role"))  # type: ignore[arg-type]
        return page.get_by_role(m.group("role"), name=json.loads(m.group("name")), exact=True)  # type: ignore[arg-type]
    if kind == "placeholder":
        return page.get_by_placeholder(body, exact=True)
    if kind == "label":
        return page.get_by_label(body, exact=True)
    if kind == "alt":
        return page.get_by_alt_text(body, exact=True)
    if kind == "title":
        return page.get_by_title(body, exact=True)
    if kind == "text":
        return page.get_by_text(body, exact=True)
    if kind == "xpath":
        return page.locator(f"xpath={body}")
    return page.locator(body)


def valid(selector: str) -> bool:
    try:
        kind_of(selector)
    except SelectorError:
        return False
    return True


_SAME = "(els, target) => els.length === 1 && els[0] === target"


def unique_selectors(page: Page, element: ElementHandle, limit: int = 4) -> list[str]:
    """Ranked selectors that match exactly this element and nothing else, best first."""
    found: list[str] = []
    candidates: list[str] = element.evaluate(
        "(el, opts) => window.__webmem.candidates(el, opts)", inpage.OPTS
    )
    for selector in candidates:
        try:
            if locator(page, selector).evaluate_all(_SAME, element):
                found.append(selector)
        except Exception:  # a candidate Playwright cannot parse is simply not a candidate
            continue
        if len(found) >= limit:
            break
    return found
