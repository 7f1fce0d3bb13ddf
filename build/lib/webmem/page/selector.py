"""How selectors as written in flow files (their grammar: `webmem.flow.selector`) become Playwright locators,
and which selectors single out an element on a page."""

from __future__ import annotations

import json
from collections.abc import Sequence

from playwright.sync_api import ElementHandle, Locator, Page

from webmem.flow.selector import parts_of, quoted, role_match
from webmem.page import inpage

Scope = Page | Locator


def locator(page: Page, selector: str) -> Locator:
    """The Playwright locator a (rendered) selector stands for."""
    scope: Scope = page
    for kind, body in parts_of(selector):
        scope = _part(scope, selector, kind, body)
    assert isinstance(scope, Locator)
    return scope


def _part(scope: Scope, selector: str, kind: str, body: str) -> Locator:
    if kind == "nth":
        assert isinstance(scope, Locator)
        return scope.filter(visible=True).nth(int(body))
    if kind == "has_text":
        assert isinstance(scope, Locator)
        return scope.filter(has_text=quoted(selector, body))
    if kind == "testid":
        return scope.get_by_test_id(body)
    if kind == "role":
        m = role_match(selector, body)
        if m.group("name") is None:
            return scope.get_by_role(m.group("role"))  # type: ignore[arg-type]
        return scope.get_by_role(m.group("role"), name=json.loads(m.group("name")), exact=True)  # type: ignore[arg-type]
    if kind == "placeholder":
        return scope.get_by_placeholder(body, exact=True)
    if kind == "label":
        return scope.get_by_label(body, exact=True)
    if kind == "alt":
        return scope.get_by_alt_text(body, exact=True)
    if kind == "title":
        return scope.get_by_title(body, exact=True)
    if kind == "text":
        return scope.get_by_text(body, exact=True)
    if kind == "xpath":
        return scope.locator(f"xpath={body}")
    return scope.locator(body)


_SAME = "(els, target) => els.length === 1 && els[0] === target"


def is_unique(page: Page, selector: str, element: ElementHandle) -> bool:
    """Whether `selector` matches exactly `element` and nothing else."""
    try:
        return bool(locator(page, selector).evaluate_all(_SAME, element))
    except Exception:  # a selector the page's engine rejects matches nothing
        return False


def unique_selectors(page: Page, element: ElementHandle, limit: int = 4, words: Sequence[str] = ()) -> list[str]:
    """Ranked selectors that match exactly this element and nothing else, best first. `words`: the task's
    values, which a row filter prefers to hold."""
    found: list[str] = []
    candidates: list[str] = inpage.on_element(element, "candidates", {**inpage.OPTS, "words": list(words)})
    for selector in candidates:
        if is_unique(page, selector, element):
            found.append(selector)
        if len(found) >= limit:
            break
    return found
