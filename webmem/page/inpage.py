"""The bridge to webmem's in-page helpers (js/page.js): installed once per document, called in one
round trip. Works on pages webmem did not open (a caller's own Playwright page)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any
from weakref import WeakKeyDictionary

from playwright.sync_api import BrowserContext, CDPSession, Locator, Page
from playwright.sync_api import Error as PlaywrightError

# ids that look generated (GUIDs, long digit runs, hashes, framework ids): never a selector,
# and no evidence either way when scoring
GENERATED_ID = (
    r"^(?:.*\d{4,}.*|.*[0-9a-f]{8}-[0-9a-f]{4}.*|.*(?=[a-z]*\d)[0-9a-f]{8,}.*|:r[0-9a-z]*:|"
    r"(?:ember|ext-gen|mui-|react-|radix-|headlessui-|yui_|gwt-|ui-id-)\S*|.*[-_:](?=[a-z]*\d)[a-z0-9]{6,})$"
)
OPTS = {"generated": GENERATED_ID}


@cache
def source() -> str:
    return resources.files("webmem.page").joinpath("js/page.js").read_text(encoding="utf-8")


def install(context: BrowserContext) -> None:
    """Install the helpers in every document of a context from its start (catches early mutations)."""
    context.add_init_script(source())


MISSING = "__webmem_missing__"


def call(page: Page, expr: str, arg: Any = None) -> Any:
    """Evaluate `expr` (a function of (W, arg)) against the helpers, installing them if the document
    has none yet (a page we did not open, or one loaded before install)."""
    result = _direct(page, expr, arg)
    if result is _UNSAID:  # not Chromium, a document between two, a script error: Playwright's own evaluate says
        fn = f"(arg) => window.__webmem ? ({expr})(window.__webmem, arg) : '{MISSING}'"
        result = page.evaluate(fn, arg)
        if result == MISSING:
            page.evaluate(source())
            result = page.evaluate(fn, arg)
    return result


# On Chromium, webmem's calls go straight to the page's main world over a CDP session: Playwright's
# `evaluate` first injects its own utility script into every new document (about 8 ms a page load), which
# a plain JSON-in, JSON-out call does not need. Anything unusual falls back to `page.evaluate`.
_UNSAID = object()
_SESSIONS: WeakKeyDictionary[Page, CDPSession | None] = WeakKeyDictionary()


def _session(page: Page) -> CDPSession | None:
    if page in _SESSIONS:
        return _SESSIONS[page]
    session = None
    browser = page.context.browser
    if browser is None or browser.browser_type.name == "chromium":
        try:
            session = page.context.new_cdp_session(page)
        except PlaywrightError:  # a browser without CDP
            session = None
    _SESSIONS[page] = session
    return session


def _direct(page: Page, expr: str, arg: Any) -> Any:
    session = _session(page)
    if session is None:
        return _UNSAID
    body = f"(({expr})(window.__webmem, {json.dumps(arg)}))"
    script = f"window.__webmem ? {body} : '{MISSING}'"
    for _ in range(2):
        try:
            got = session.send("Runtime.evaluate", {"expression": script, "returnByValue": True,
                                                    "awaitPromise": True})
        except PlaywrightError:  # no document to evaluate in right now (a navigation), or the page closed
            return _UNSAID
        if "exceptionDetails" in got:
            return _UNSAID
        value = got["result"].get("value")
        if value != MISSING:
            return value
        try:
            session.send("Runtime.evaluate", {"expression": source()})
        except PlaywrightError:
            return _UNSAID
    return _UNSAID


def call_all(locator: Locator, expr: str, arg: Any = None) -> Any:
    """Like `call`, for every element a locator matches: `expr` is a function of (W, els, arg)."""
    fn = f"(els, arg) => window.__webmem ? ({expr})(window.__webmem, els, arg) : '__webmem_missing__'"
    result = locator.evaluate_all(fn, arg)
    if result == "__webmem_missing__":
        locator.page.evaluate(source())
        result = locator.evaluate_all(fn, arg)
    return result
