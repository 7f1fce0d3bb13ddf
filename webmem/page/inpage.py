"""The bridge to webmem's in-page helpers (js/page.js): installed once per document, called in one
round trip. Works on pages webmem did not open (a caller's own Playwright page)."""

from __future__ import annotations

import asyncio
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


class _Direct:
    """A page's CDP session, and a future its crash or close completes: a CDP call to a crashed tab is never
    answered, so every call races it (Playwright's own calls fail at once there)."""

    def __init__(self, page: Page, session: CDPSession) -> None:
        self.session = session
        self.gone: asyncio.Future[None] = session._loop.create_future()
        page.on("crash", self.end)
        page.on("close", self.end)

    def end(self, *_: Any) -> None:
        if not self.gone.done():
            self.gone.set_result(None)

    def send(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.gone.done():
            raise PlaywrightError("Target crashed or closed")
        # Playwright's sync API cannot wait for either of two things: its async side (the session's own
        # `send`, run on its loop the way the sync API runs it) can
        result: dict[str, Any] = self.session._sync(self._race(params))
        return result

    async def _race(self, params: dict[str, Any]) -> dict[str, Any]:
        task: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(
            self.session._impl_obj.send("Runtime.evaluate", params, None))
        either: list[asyncio.Future[Any]] = [task, self.gone]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        raise PlaywrightError("Target crashed or closed")


_SESSIONS: WeakKeyDictionary[Page, _Direct | None] = WeakKeyDictionary()


def _session(page: Page) -> _Direct | None:
    if page in _SESSIONS:
        return _SESSIONS[page]
    direct = None
    browser = page.context.browser
    if browser is None or browser.browser_type.name == "chromium":
        try:
            direct = _Direct(page, page.context.new_cdp_session(page))
        except (PlaywrightError, AttributeError):  # a browser without CDP, a Playwright without these insides
            direct = None
    _SESSIONS[page] = direct
    return direct


# A field's value to read along with the page's next call (a fill's read-back, made in the next step's probe
# instead of a round trip of its own): page -> [CSS selector, index] pending, or ("read", value) once made
_ALONG: WeakKeyDictionary[Page, Any] = WeakKeyDictionary()
# null: no such element any more; false: one with no value to read (Playwright's own read says why)
_READ_JS = """((s) => { const el = document.querySelectorAll(s[0])[s[1]];
  return !el ? null : 'value' in el ? String(el.value) : false; })"""


def read_along(page: Page, css: str, nth: int) -> None:
    """Read the value of the `nth` element `css` finds with the page's next call (on Chromium)."""
    _ALONG[page] = [css, nth]


def value_read(page: Page) -> tuple[bool, str | None]:
    """(whether the read `read_along` asked for was made, the value it found); forgets it either way."""
    got = _ALONG.pop(page, None)
    return (True, got[1]) if isinstance(got, tuple) and got[1] is not False else (False, None)


def _direct(page: Page, expr: str, arg: Any) -> Any:
    session = _session(page)
    if session is None:
        return _UNSAID
    body = f"(({expr})(window.__webmem, {json.dumps(arg)}))"
    along = _ALONG.get(page)
    if isinstance(along, list):  # read first: the value as the field holds it before anything else happens
        body = f"(async (read) => [read, await {body}])({_READ_JS}({json.dumps(along)}))"
    script = f"window.__webmem ? {body} : '{MISSING}'"
    for _ in range(2):
        try:
            got = session.send({"expression": script, "returnByValue": True, "awaitPromise": True})
        except PlaywrightError:  # no document to evaluate in right now (a navigation), a crashed or closed page
            return _UNSAID
        except (TypeError, AttributeError):  # a Playwright whose insides differ: its own evaluate, from now on
            _SESSIONS[page] = None
            return _UNSAID
        if "exceptionDetails" in got:
            return _UNSAID
        value = got["result"].get("value")
        if value != MISSING:
            if isinstance(along, list):
                _ALONG[page], value = ("read", value[0]), value[1]
            return value
        try:
            session.send({"expression": source()})
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
