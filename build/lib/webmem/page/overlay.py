"""What covers a target: an overlay a person would have to close before reaching it.

The page script hit-tests an element at its centre (where Playwright clicks) as it is probed (`blocked` in
the probe's answer), whatever the overlay's positioning (fixed, absolute) or role. A covered target gets a
moment for the overlay to go (an animation, a toast), looked at again with the target scrolled to the middle
(a sticky header covered it), then the step stops naming the overlay: what it says and its buttons. Nothing
on it is clicked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from playwright.sync_api import ElementHandle, Locator, Page
from playwright.sync_api import Error as PlaywrightError

from webmem.page import inpage

BLOCK_GRACE_MS = 500  # an overlay over the target is given this long to go before the step stops, naming it
BLOCKER_JS = "blocker"  # page/js/page.js `W.blocker`


def covering(element: Locator | ElementHandle, scroll: bool, timeout: float) -> dict[str, Any] | None:
    """What covers `element` now, as the page script's `blocker` says (None: nothing, or the element went:
    acting says what happened). `scroll`: bring it to the middle of the viewport first."""
    try:
        found: dict[str, Any] | None = inpage.on_element(
            element, BLOCKER_JS, scroll, None if isinstance(element, ElementHandle) else timeout)
        return found
    except PlaywrightError:
        return None


def still_covering(element: Locator | ElementHandle, seen: dict[str, Any] | None,
                   timeout: float) -> dict[str, Any] | None:
    """The overlay over `element` (`seen`: what the probe saw; None: look now) once BLOCK_GRACE_MS has passed
    without it going; None as soon as it is gone."""
    blocked = seen
    deadline = time.monotonic() + BLOCK_GRACE_MS / 1000
    while blocked and time.monotonic() < deadline:
        time.sleep(0.05)
        blocked = covering(element, True, timeout)
    return blocked


def move_on(page: Page, element: Locator | ElementHandle, seen: dict[str, Any] | None,
            timeout: float) -> dict[str, Any] | None:
    """Where what covers `element` is the popup of the field a person is still typing into (`typing` in the
    page script's answer: a date picker, a suggestion list; never a dialog), do what a person does to move on:
    Tab out of that field (a key press in it: nothing on the popup is touched), then say what covers `element`
    after the usual moment (None: nothing). Anything else: `seen` as it is."""
    if not seen or not seen.get("typing"):
        return seen
    try:
        page.keyboard.press("Tab")
    except PlaywrightError:
        return seen
    return still_covering(element, covering(element, False, timeout), timeout)


def describe(found: Mapping[str, Any]) -> str:
    """An overlay as the page script's `blocker` saw it, in words: what it is, what it says, its buttons."""
    what = found.get("role") or f"<{found.get('tag', 'div')}>"
    buttons = ", ".join(json.dumps(b, ensure_ascii=False) for b in found.get("buttons") or [])
    return (f"an overlay ({what}) saying {json.dumps(found.get('text') or '', ensure_ascii=False)}"
            + (f" with the buttons {buttons}" if buttons else ""))
