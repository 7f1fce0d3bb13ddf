"""What a page is still loading: the requests in flight that may yet change what it shows (a navigation's
document, a fetch, an XHR). An expectation that does not hold is judged once the page has settled — nothing
of these in flight, the DOM quiet — and a short window after, not after the whole action timeout: a run
that acted and found another page than the learned one says so in well under a second."""

from __future__ import annotations

import contextlib
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request

from webmem.page import signature

WATCHED = frozenset({"document", "fetch", "xhr"})


class Traffic:
    """Counts a page's requests in flight. A request older than `long_s` is not waited for (a long poll, a
    stream): it would keep the page from ever settling."""

    def __init__(self, page: Page, long_s: float):
        self.page, self.long_s = page, long_s
        self.pending: dict[Request, float] = {}

    def _start(self, request: Request) -> None:
        if request.resource_type in WATCHED:
            self.pending[request] = time.monotonic()

    def _end(self, request: Request) -> None:
        self.pending.pop(request, None)

    def __enter__(self) -> Traffic:
        self.page.on("request", self._start)
        self.page.on("requestfinished", self._end)
        self.page.on("requestfailed", self._end)
        return self

    def __exit__(self, *_: object) -> None:
        for event, fn in (("request", self._start), ("requestfinished", self._end), ("requestfailed", self._end)):
            with contextlib.suppress(PlaywrightError, ValueError):
                self.page.remove_listener(event, fn)

    def busy(self) -> bool:
        """Whether a request that may change the page is in flight (as far as the events seen so far tell)."""
        now = time.monotonic()
        return any(now - t < self.long_s for t in self.pending.values())

    def settled(self, quiet_ms: int) -> bool:
        """Nothing in flight, the document loaded, showing no spinner, its DOM quiet for `quiet_ms` (one round
        trip)."""
        if self.busy():
            return False
        try:
            return signature.idle_ms(self.page) >= quiet_ms
        except PlaywrightError:  # a document between two: not settled
            return False
