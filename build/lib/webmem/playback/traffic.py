"""What a page is still loading: the requests in flight that may yet change what it shows (a navigation's
document, a fetch, an XHR). An expectation that does not hold is judged once the page has settled — nothing
of these in flight, the DOM quiet — and a short window after, not after the whole action timeout: a run
that acted and found another page than the learned one says so in well under a second."""

from __future__ import annotations

import contextlib
import time
from weakref import WeakKeyDictionary, ref

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request

from webmem.page import signature

_PAGES: WeakKeyDictionary[Page, Traffic] = WeakKeyDictionary()
WATCHED = frozenset({"document", "fetch", "xhr"})


class Traffic:
    """Counts a page's requests in flight while a run is going on (`with traffic:`). A request older than
    `long_s` is not waited for (a long poll, a stream): it would keep the page from ever settling.

    One per page (`Traffic.of`), listening from its first run until the page closes: a batch worker replays
    row after row on one page, and subscribing to its request events and back for every row is six round trips
    to the driver per row. Between runs nothing is counted, and a run starts counting from nothing, as a
    Traffic of its own would."""

    def __init__(self, page: Page, long_s: float):
        self._page, self.long_s = ref(page), long_s  # weakly: the page's registry entry must not keep it alive
        self.pending: dict[Request, float] = {}
        self.active = False
        self.listening = False

    @property
    def page(self) -> Page:
        page = self._page()
        if page is None:
            raise PlaywrightError("the page is gone")
        return page

    @classmethod
    def of(cls, page: Page, long_s: float) -> Traffic:
        """The page's Traffic (made on first use), counting requests older than `long_s` as not in flight."""
        traffic = _PAGES.get(page)
        if traffic is None or traffic.active:  # a run inside a run (a sign-in's) counts on its own
            traffic = cls(page, long_s)
            if page not in _PAGES:
                _PAGES[page] = traffic
        traffic.long_s = long_s
        return traffic

    def _start(self, request: Request) -> None:
        if self.active and request.resource_type in WATCHED:
            self.pending[request] = time.monotonic()

    def _end(self, request: Request) -> None:
        self.pending.pop(request, None)

    def __enter__(self) -> Traffic:
        self.pending.clear()
        self.active = True
        if not self.listening:
            self.page.on("request", self._start)
            self.page.on("requestfinished", self._end)
            self.page.on("requestfailed", self._end)
            self.listening = True
        return self

    def __exit__(self, *_: object) -> None:
        self.active = False
        self.pending.clear()
        page = self._page()
        if page is None or _PAGES.get(page) is self:
            return  # the page's own: it keeps listening for the page's next run
        for event, fn in (("request", self._start), ("requestfinished", self._end), ("requestfailed", self._end)):
            with contextlib.suppress(PlaywrightError, ValueError):
                page.remove_listener(event, fn)
        self.listening = False

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
