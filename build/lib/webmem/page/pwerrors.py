"""Playwright's errors told apart where its API gives no type for them.

A timeout is a `playwright.sync_api.TimeoutError` and is caught by that type wherever webmem waits. For the
cases below Playwright raises its one `Error` class, and the message is the only thing that says what
happened: the phrases webmem depends on are named here and matched in this one place, so a Playwright release
that rewords one is one place to look (the floor in pyproject.toml is the version the tests run on)."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError

# `set_checked` reads the state back after its click and raises when the click did not change it
CHECK_DID_NOT_TAKE = ("did not change its state", "uncheck radio")
# a navigation the page still had under way (a form post that hung) cut a `goto` short
NAVIGATION_INTERRUPTED = ("interrupted by another navigation",)


def says(exc: BaseException, phrases: tuple[str, ...]) -> bool:
    """Whether `exc` is Playwright's error saying one of `phrases` (no error type says it)."""
    return isinstance(exc, PlaywrightError) and any(p in str(exc) for p in phrases)
