"""The bridge to webmem's in-page helpers (js/page.js): installed once per document, called in one
round trip. Works on pages webmem did not open (a caller's own Playwright page)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page

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


def call(page: Page, expr: str, arg: Any = None) -> Any:
    """Evaluate `expr` (a function of (W, arg)) against the helpers, installing them if the document
    has none yet (a page we did not open, or one loaded before install)."""
    fn = f"(arg) => window.__webmem ? ({expr})(window.__webmem, arg) : '__webmem_missing__'"
    result = page.evaluate(fn, arg)
    if result == "__webmem_missing__":
        page.evaluate(source())
        result = page.evaluate(fn, arg)
    return result


def call_all(locator: Locator, expr: str, arg: Any = None) -> Any:
    """Like `call`, for every element a locator matches: `expr` is a function of (W, els, arg)."""
    fn = f"(els, arg) => window.__webmem ? ({expr})(window.__webmem, els, arg) : '__webmem_missing__'"
    result = locator.evaluate_all(fn, arg)
    if result == "__webmem_missing__":
        locator.page.evaluate(source())
        result = locator.evaluate_all(fn, arg)
    return result
