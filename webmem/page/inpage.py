"""The bridge to webmem's in-page helpers (js/page.js and js/probes.js): installed once per document, called
by name with JSON data in one round trip. Works on pages webmem did not open (a caller's own Playwright page).

Where the helpers run:

* **Chromium** (the default): in an isolated JavaScript world of their own (CDP `Page.createIsolatedWorld`,
  world "__webmem__"), which shares the page's DOM but none of its JavaScript: a page script can replace
  `window.__webmem`, `querySelectorAll`, `Array.from` or `JSON.stringify` in its own world and webmem never
  sees it. Calls go over the page's CDP session (`Runtime.callFunctionOn` in that world's context); the
  context is looked up again after a navigation. Elements cross between worlds through the DOM: Playwright's
  elements reach the helpers as attributes its hardened bridge (js/mark.js, the one script in the page's
  world) sets, and an element the helpers verified reaches Playwright as `css=[data-webmem-act="token"]`, a
  token the helpers keep on that element alone (`held`).
* **Elsewhere** (a browser without CDP, or `WEBMEM_INPAGE=main`): in the page's main world through Playwright's
  `evaluate`, installed before the page's scripts (`install`), defended only by the natives page.js captured
  at install time: a page that replaces `window.__webmem` itself is not kept out there.

`WEBMEM_INPAGE=public` keeps the isolated world but makes no use of Playwright's private API (`_Wire`): the
fallback a newer Playwright whose insides differ gets, which the tests force.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from weakref import WeakKeyDictionary

from playwright.sync_api import BrowserContext, CDPSession, ElementHandle, Locator, Page
from playwright.sync_api import Error as PlaywrightError

# ids that look generated (GUIDs, long digit runs, hashes, framework ids): never a selector,
# and no evidence either way when scoring
GENERATED_ID = (
    r"^(?:.*\d{4,}.*|.*[0-9a-f]{8}-[0-9a-f]{4}.*|.*(?=[a-z]*\d)[0-9a-f]{8,}.*|:r[0-9a-z]*:|"
    r"(?:ember|ext-gen|mui-|react-|radix-|headlessui-|yui_|gwt-|ui-id-)\S*|.*[-_:](?=[a-z]*\d)[a-z0-9]{6,})$"
)
OPTS = {"generated": GENERATED_ID}

WORLD = "__webmem__"
ENV = "WEBMEM_INPAGE"  # "main": the page's own world (other browsers' path); "public": no private Playwright API
ACT = "data-webmem-act"  # the attribute holding the token of an element the helpers verified (probes.js)
MISSING = "__webmem_missing__"
_NAME = re.compile(r"^[A-Za-z_]\w*$")


@cache
def _js(name: str) -> str:
    return resources.files("webmem.page").joinpath(f"js/{name}").read_text(encoding="utf-8")


def source() -> str:
    """The helpers: page.js, then the probes built on it."""
    return _js("page.js") + "\n" + _js("probes.js")


def install(context: BrowserContext) -> None:
    """Install in every document of a context from its start, before the page's scripts (catches early
    mutations, captures natives first): the bridge everywhere; the helpers in the page's world only where they
    will not run in an isolated one (on Chromium each page's CDP session installs them in their world)."""
    context.add_init_script(_js("mark.js"))
    if not _isolating(context):
        context.add_init_script(source())


def _isolating(context: BrowserContext) -> bool:
    browser = context.browser
    return os.environ.get(ENV) != "main" and (browser is None or browser.browser_type.name == "chromium")


class InPageError(PlaywrightError):
    """The helpers failed in the page, or cannot be reached there: said in one line, without a JS stack."""


def call(page: Page, fn: str, arg: Any = None, along: ReadAlong | None = None) -> Any:
    """Call the helpers' function named `fn` (probes.js's `fns`) with `arg` (JSON data), installing them if the
    document has none yet. `along`: a fill's read-back not yet made, made with this call (and noted on it).

    `fn` may also be the source of a function of (W, arg), as callers wrote before the helpers took names:
    kept for them, with no read-along; new code names a function in probes.js."""
    direct = _session(page)
    if _NAME.match(fn) is None:
        return direct.inline(page, fn, arg) if direct is not None else _main_inline(page, fn, arg)
    read = [along.css, along.nth] if along is not None and not along.asked else None
    value = direct.call(page, fn, arg, read, None) if direct is not None else _main(page, fn, arg, read)
    if along is not None and read is not None:
        got, value = value
        along.asked = True
        along.made, along.value = (True, got) if got is not False else (False, None)
    return _checked(value)


def call_all(locator: Locator, fn: str, arg: Any = None) -> Any:
    """Like `call`, for every element a locator matches (Playwright's engine resolves it): the function
    named `fn` gets (arg, those elements)."""
    page = locator.page
    direct = _session(page)
    if direct is None:
        return _checked(_main_on(locator, fn, arg, many=True))
    mark = "data-webmem-m-" + secrets.token_hex(6)
    n = _mark(page, lambda: locator.evaluate_all(_MARK_ALL, mark))
    return _checked(direct.call(page, fn, arg, None, {"mark": mark, "n": n}))


def on_element(element: ElementHandle | Locator, fn: str, arg: Any = None, timeout: float | None = None) -> Any:
    """Like `call`, for one element: the function named `fn` gets (arg, [element])."""
    page = element.page if isinstance(element, Locator) else _page_of(element)
    direct = _session(page) if page is not None else None
    if direct is None or page is None:
        return _checked(_main_on(element, fn, arg, many=False, timeout=timeout))
    mark = "data-webmem-m-" + secrets.token_hex(6)
    _mark(page, lambda: _evaluate(element, _MARK_ONE, mark, timeout))
    return _checked(direct.call(page, fn, arg, None, {"mark": mark, "n": 1}))


def held(page: Page, token: str) -> Locator:
    """The element the helpers hold under `token` (a probe verified it), as Playwright finds it: nothing else
    carries the token, so an action through this locator reaches that element or nothing."""
    if not re.fullmatch(r"[a-z0-9-]+", token):
        raise InPageError(f"not a token of webmem's: {token!r}")
    return page.locator(f'css=[{ACT}="{token}"]')


LOST_HOLD = ("the page removed or replaced the element verified for this step before the action reached it "
             "(webmem acts only on the element it verified)")


def lost_hold(error: str) -> bool:
    """Whether a Playwright error (with its call log) says an action through `held` found no element: the page
    took the verified element away, or swapped it for another, after the probe."""
    return f"[{ACT}=" in error and "resolved to" not in error and "Timeout" in error


def registry_element(page: Page, index: int) -> ElementHandle | None:
    """The element the last `elements` call (or agent digest) numbered `index`, if it is still there."""
    token = call(page, "holdRegistry", index)
    return None if token is None else held(page, token).element_handle()


# ---- the page's own world (other browsers, and the forced fallback) ------------------------------------------
# fixed trampolines to the helpers' one entry point (probes.js `W.call`): data goes in as their argument
_MAIN_CALL = "(a) => window.__webmem && window.__webmem.call ? window.__webmem.call(a[0], a[1], a[2]) : a[3]"
_MAIN_ALL = "(els, a) => window.__webmem && window.__webmem.call ? window.__webmem.call(a[0], a[1], null, els) : a[3]"
_MAIN_ONE = "(el, a) => window.__webmem && window.__webmem.call ? window.__webmem.call(a[0], a[1], null, [el]) : a[3]"
_MAIN_W = "() => window.__webmem"


def _main(page: Page, fn: str, arg: Any, read: Any) -> Any:
    result = page.evaluate(_MAIN_CALL, [fn, arg, read, MISSING])
    if result == MISSING:
        page.evaluate(source())
        result = page.evaluate(_MAIN_CALL, [fn, arg, read, MISSING])
    return result


def _main_inline(page: Page, fn: str, arg: Any) -> Any:
    if page.evaluate(_MAIN_CALL, ["version", None, None, MISSING]) == MISSING:
        page.evaluate(source())
    return page.evaluate_handle(_MAIN_W).evaluate(fn, arg)


def _main_on(element: ElementHandle | Locator, fn: str, arg: Any, many: bool, timeout: float | None = None) -> Any:
    def run() -> Any:
        if many:
            assert isinstance(element, Locator)
            return element.evaluate_all(_MAIN_ALL, [fn, arg, None, MISSING])
        return _evaluate(element, _MAIN_ONE, [fn, arg, None, MISSING], timeout)
    result = run()
    if result == MISSING:
        page = element.page if isinstance(element, Locator) else _page_of(element)
        if page is not None:
            page.evaluate(source())
        result = run()
    return result


def _evaluate(element: ElementHandle | Locator, fn: str, arg: Any, timeout: float | None) -> Any:
    if isinstance(element, Locator) and timeout is not None:
        return element.evaluate(fn, arg, timeout=timeout)
    return element.evaluate(fn, arg)


def _page_of(handle: ElementHandle) -> Page | None:
    frame = handle.owner_frame()
    return frame.page if frame is not None else None


def _checked(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"webmemError"}:
        raise InPageError(str(value["webmemError"]))
    return value


# ---- handing Playwright's elements over (js/mark.js) -------------------------------------------------------

_MARK_ALL = "(els, name) => window.__webmem_mark(els, name)"
_MARK_ONE = "(el, name) => window.__webmem_mark([el], name)"


def _mark(page: Page, mark: Any) -> int:
    try:
        return int(mark())
    except PlaywrightError as e:
        if "__webmem_mark" not in str(e):
            raise
    # a document loaded before the bridge was installed (a page webmem did not open): installed now, in every
    # frame (late, so only as safe as the page's natives at this moment)
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError):
            frame.evaluate(_js("mark.js"))
    return int(mark())


# ---- Chromium: the isolated world over CDP -------------------------------------------------------------------

def private_api(session: CDPSession) -> bool:
    """Whether a CDP session has the insides of Playwright's that `_Wire` uses (and WEBMEM_INPAGE=public does not
    turn them off): an event loop, the sync bridge, the async side's `send`."""
    if os.environ.get(ENV) == "public":
        return False
    loop, impl = getattr(session, "_loop", None), getattr(session, "_impl_obj", None)
    return isinstance(loop, asyncio.AbstractEventLoop) and callable(getattr(session, "_sync", None)) \
        and callable(getattr(impl, "send", None))


class _Wire:
    """The one place webmem uses Playwright's private API (`_loop`, `_sync`, `_impl_obj.send`): a CDP call that
    also gives up when the page crashes or closes (a CDP call to a crashed tab is never answered; Playwright's
    sync API cannot wait for either of two things, its async side can). Without those insides (a Playwright
    that changed them, or WEBMEM_INPAGE=public) it sends through the public `CDPSession.send`, and a crash
    or close is noticed before each call, not during one."""

    def __init__(self, page: Page, session: CDPSession) -> None:
        self.session = session
        self.closed = False
        # the private path where Playwright's insides are as this adapter knows them; else (or forced) the public
        # one from the start: the same branch either way, which tests/test_hostile_inpage.py forces
        self.gone: asyncio.Future[None] | None = session._loop.create_future() if private_api(session) else None
        page.on("crash", self.end)
        page.on("close", self.end)

    def end(self, *_: Any) -> None:
        self.closed = True
        if self.gone is not None and not self.gone.done():
            self.gone.set_result(None)

    def send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.closed:
            raise PlaywrightError("Target crashed or closed")
        if self.gone is not None:
            try:
                result: dict[str, Any] = self.session._sync(self._race(method, params))
                return result
            except (TypeError, AttributeError):  # a Playwright whose insides differ: the public call from now on
                self.gone = None
        return self.session.send(method, params)

    async def _race(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.gone is not None
        task: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(
            self.session._impl_obj.send(method, params, None))
        either: list[asyncio.Future[Any]] = [task, self.gone]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        raise PlaywrightError("Target crashed or closed")


class _Direct:
    """A page's CDP session and webmem's world in its current document (looked up again after a navigation)."""

    def __init__(self, page: Page, wire: _Wire) -> None:
        self.wire = wire
        self.key = secrets.token_hex(16)  # the helpers of this session's worlds answer to it (dispatch.js)
        self.context: int | None = None
        self.frame: str | None = None
        self.adopt = False
        self.w_object: tuple[int, str] | None = None  # (context, W's object id), for calls by source
        wire.send("Page.enable", {})  # new-document scripts run only with the domain on
        # a new document in the main frame has no world of ours yet: the next call makes one at once instead of
        # first trying the old document's context (a round trip saved per page load; a same-document navigation
        # is another event and keeps the world)
        wire.session.on("Page.frameNavigated", self._navigated)
        # every later document: the helpers in their world, the bridge in the page's, before the page's scripts
        wire.send("Page.addScriptToEvaluateOnNewDocument", {"source": source(), "worldName": WORLD})
        wire.send("Page.addScriptToEvaluateOnNewDocument", {"source": _js("mark.js")})

    def _navigated(self, params: dict[str, Any]) -> None:
        if "parentId" not in params.get("frame", {}):
            self.context = None

    def _world(self) -> int:
        """The context of webmem's world in the page's current document (created, with the helpers, if none)."""
        if self.frame is None:
            self.frame = self.wire.send("Page.getFrameTree", {})["frameTree"]["frame"]["id"]
        try:
            made = self.wire.send("Page.createIsolatedWorld", {"frameId": self.frame, "worldName": WORLD})
        except PlaywrightError:
            self.frame = None
            raise
        self.adopt = True
        return int(made["executionContextId"])

    def call(self, page: Page, fn: str, arg: Any, read: Any, els: Any) -> Any:
        args = [{"value": v} for v in (fn, arg, read, els)]
        for attempt in range(4):
            try:
                if self.context is None:
                    self.context = self._world()
                got = self.wire.send("Runtime.callFunctionOn", {
                    "functionDeclaration": _js("dispatch.js"), "executionContextId": self.context,
                    "arguments": [{"value": self.key}, {"value": self.adopt}, *args],
                    "returnByValue": True, "awaitPromise": True})
            except PlaywrightError:
                if self.wire.closed:
                    raise
                # no such context any more (a navigation), or none yet: look the world up again; from the second
                # miss on, let Playwright wait for the new document first (its evaluate waits for one)
                self.context = None
                if attempt:
                    page.evaluate("() => 0")
                continue
            if "exceptionDetails" in got:
                raise InPageError(f"webmem's in-page helpers failed on this page ({fn}): {_said(got)}")
            value = got["result"].get("value")
            if value != MISSING:
                self.adopt = False
                return value
            if not self.adopt:  # a stale context id that now names another world: look ours up
                self.context = None
                continue
            # our world, from before this session (or the document's script could not run): install the helpers
            try:
                self.wire.send("Runtime.evaluate", {"expression": source(), "contextId": self.context})
            except PlaywrightError:
                self.context = None
        raise InPageError("webmem's in-page helpers could not be reached on this page")

    def inline(self, page: Page, fn: str, arg: Any) -> Any:
        """A call given as the source of a function of (W, arg), run in webmem's world on its helpers."""
        for _ in range(3):
            self.call(page, "version", None, None, None)  # the world is there, with the helpers, keyed
            assert self.context is not None
            if self.w_object is None or self.w_object[0] != self.context:
                got = self.wire.send("Runtime.evaluate", {"expression": "window.__webmem", "contextId": self.context})
                self.w_object = (self.context, got["result"]["objectId"])
            try:
                got = self.wire.send("Runtime.callFunctionOn", {
                    "functionDeclaration": fn, "objectId": self.w_object[1],
                    "arguments": [{"objectId": self.w_object[1]}, {"value": arg}],
                    "returnByValue": True, "awaitPromise": True})
            except PlaywrightError:
                if self.wire.closed:
                    raise
                self.context = self.w_object = None
                continue
            if "exceptionDetails" in got:
                raise InPageError(f"webmem's in-page helpers failed on this page: {_said(got)}")
            return got["result"].get("value")
        raise InPageError("webmem's in-page helpers could not be reached on this page")


def _said(got: dict[str, Any]) -> str:
    """A page-side exception in one line (its message, not its stack)."""
    details = got.get("exceptionDetails") or {}
    text = str((details.get("exception") or {}).get("description") or details.get("text") or "an error")
    return text.splitlines()[0][:200]


_SESSIONS: WeakKeyDictionary[Page, _Direct | None] = WeakKeyDictionary()


def _session(page: Page) -> _Direct | None:
    if page in _SESSIONS:
        return _SESSIONS[page]
    direct = None
    if _isolating(page.context):
        try:
            direct = _Direct(page, _Wire(page, page.context.new_cdp_session(page)))
        except PlaywrightError:  # a browser without CDP (or one refusing a session for this page)
            direct = None
    _SESSIONS[page] = direct
    return direct


def isolated(page: Page) -> bool:
    """Whether webmem's helpers run in a world of their own on this page (Chromium), not in the page's."""
    return _session(page) is not None


@dataclass
class ReadAlong:
    """A field's value to read along with a later call on its page (a fill's read-back, made in the next
    step's probe instead of a round trip of its own): the run holds it and passes it to the calls that may
    carry it (`call`'s `along`); the first one asks (probes.js `W.call`) and notes here what it found."""

    css: str
    nth: int
    asked: bool = False  # a call carried it (it is not asked twice)
    made: bool = False  # ...and read a value (else the run reads it itself, Playwright saying why it cannot)
    value: str | None = None
