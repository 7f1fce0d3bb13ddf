"""Secrets stay on the flow's origin, checked at the moment of acting, not before.

A page can move itself to another origin between webmem's checks and Playwright's (lazy) fill. So a
secret is filled in ONE in-page call that reads the origin of the element's own frame and sets the
value (the native value setter, then `input` and `change` events) in the same JavaScript task: the
page cannot navigate in between. Replay, recording (an agent's, an MCP client's, a handover's) and a person
recording from Python all type secrets through `fill_secret`. Requests to other origins that carry the secret,
in any encoding (a form post, a beacon, a fetch), are aborted at the route level; the route of other origins
matches only OTHER origins, so the flow's own page loads never wait on it. A redirect is not routed by the
browser (a 307/308 re-sends a form's body to wherever it points), so the flow's own requests that carry a
secret are fetched here without following redirects, and one that would lead to another origin is aborted.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from playwright.sync_api import BrowserContext, ElementHandle, Locator, Page, Route
from playwright.sync_api import Error as PlaywrightError

from webmem.errors import OriginError
from webmem.flow.inputs import Redactor
from webmem.flow.urlpattern import origin_of

_FILL_JS = """(el, [value, origin]) => {
  const here = el.ownerDocument.location.origin;
  if (here.toLowerCase() !== origin) return 'origin:' + here;
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype
    : el instanceof HTMLInputElement ? HTMLInputElement.prototype : null;
  if (!proto) return 'kind:' + el.tagName.toLowerCase();
  el.focus();
  // as typing would: a maxlength cuts the value (and the read-back then says the field differs)
  const typed = el.maxLength >= 0 && value.length > el.maxLength ? value.slice(0, el.maxLength) : value;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, typed);
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  return typed.length < value.length ? 'cut:' + typed.length : null;
}"""

_GUARDED = "_webmem_guarded_origins"
# a secret cut short by a field's maxlength is a secret too (the field, a DOM snapshot, a post hold that prefix);
# a cut shorter than this gives little away and, hidden, would blank out every such short string of a trace
MIN_CUT = 4
REDIRECTS = {301, 302, 303, 307, 308}
BODY_KEPT = {307, 308}  # redirects the browser follows with the same method and body
MAX_HOPS = 20  # Chromium's own limit of redirects


def fill_secret(loc: Locator | ElementHandle, value: str, origin: str, redactor: Redactor,
                timeout: float | None = None, page: Page | None = None) -> None:
    """Fill `value` (a secret) into the element only if the element's own frame is at `origin`; and make
    sure no request to another origin carries it from this page on. A value the field's maxlength cuts short
    is hidden too, as cut (by `redactor`, the context's request guard and its trace)."""
    if page is None:
        frame = loc.owner_frame() if isinstance(loc, ElementHandle) else loc.page.main_frame
        assert frame is not None, "the element is in no frame"
        page = frame.page
    protect(page, origin, redactor)
    args = [value, origin.lower()]
    problem = loc.evaluate(_FILL_JS, args) if isinstance(loc, ElementHandle) \
        else loc.evaluate(_FILL_JS, args, timeout=timeout)
    if problem and problem.startswith("cut:"):
        cut = value[: int(problem[4:])]
        if len(cut) >= MIN_CUT:
            redactor.extend([cut])
            protect(page, origin, Redactor([cut]))
        return
    if problem and problem.startswith("origin:"):
        raise OriginError(f"refusing to type a secret into {problem[7:]}: the flow's origin is {origin} (the "
                          "page moved to another site)")
    if problem:
        raise OriginError(f"refusing to type a secret into a <{problem[5:]}>: only input fields take secrets")


def other_origins(origin: str) -> re.Pattern[str]:
    """Every URL that is not on `origin` (nor a data:/blob: URL, which goes nowhere)."""
    return re.compile(r"^(?!" + re.escape(origin.rstrip("/")) + r"(?:[/?#]|$))(?!data:|blob:)", re.I)


def on_origin(origin: str) -> re.Pattern[str]:
    """Every URL on `origin`."""
    return re.compile(r"^" + re.escape(origin.rstrip("/")) + r"(?:[/?#]|$)", re.I)


def _carries(watch: Redactor, route: Route) -> bool:
    request = route.request
    blob = request.url.encode("utf-8") + b"\n" + (request.post_data_buffer or b"")
    blob += "\n".join(f"{k}: {v}" for k, v in request.headers.items()).encode("utf-8")
    return watch.bytes(blob) != blob


def protect(page: Page, origin: str, redactor: Redactor) -> None:
    """Abort requests from this page's context to other origins that carry one of the secrets (in the
    URL, a header or the body), and requests to `origin` that carry one and are redirected to another origin.
    Installed once per context and origin; the secrets list grows."""
    ctx = page.context
    guarded: dict[str, Redactor] = getattr(ctx, _GUARDED, None) or {}
    if origin in guarded:
        guarded[origin].extend(redactor.secrets)
        return
    watch = Redactor(redactor.secrets)
    guarded[origin] = watch
    home = origin_of(origin)
    setattr(ctx, _GUARDED, guarded)

    def foreign(route: Route) -> None:
        if _carries(watch, route):
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def own(route: Route) -> None:
        if not _carries(watch, route):
            route.fallback()
            return
        # fetched here, redirects not followed by the browser: it would re-send the body of a 307/308 unrouted,
        # also from a hop on the site to another site. So a 307/308 on the site is followed here, each hop sent
        # once as the browser would send it; a redirect to another origin is aborted; the last answer (a page,
        # or a redirect the browser follows with a GET and no body) goes to the browser
        url = route.request.url
        try:
            response = route.fetch(max_redirects=0)
            for _ in range(MAX_HOPS):
                location = response.headers.get("location")
                if response.status not in REDIRECTS or not location:
                    break
                url = urljoin(url, location)
                if origin_of(url) != home:
                    route.abort("blockedbyclient")
                    return
                if response.status not in BODY_KEPT:
                    break
                response = route.fetch(url=url, max_redirects=0)
            else:
                route.abort("failed")  # a redirect loop: the browser would give up too
                return
        except PlaywrightError:  # the site did not answer: the browser would have failed the request too
            route.abort("failed")
            return
        route.fulfill(response=response)

    ctx.route(other_origins(origin), foreign)
    ctx.route(on_origin(origin), own)


def secrets_of(ctx: BrowserContext) -> list[str]:
    """Every secret typed in this context (as typed, and as a field's maxlength cut it): to hide from its trace."""
    guarded: dict[str, Redactor] = getattr(ctx, _GUARDED, None) or {}
    return [s for watch in guarded.values() for s in watch.secrets]


def same_site(start_url: str, page: Page) -> None:
    """A task's start page that moved itself (a redirect, a script) to another origin is refused: the
    agent would type the task's inputs, secrets included, into that site, and a flow stored for it
    would name the foreign site as its base URL."""
    want, got = origin_of(start_url), origin_of(page.url)
    if want != got:
        raise OriginError(f"{start_url} moved to another site ({got}); refusing to do the task there "
                          "(start from a page on that site if it is meant)")


def still_on(origin: str, page: Page) -> None:
    """A recording (an agent's, an MCP client's, a handover's) stops once its page has left the task's site
    (a link, a script, a same-site redirect that ends on another site): nothing more is done or typed there."""
    got = origin_of(page.url)
    if got != origin.lower().rstrip("/") and not page.url.startswith("about:"):
        raise OriginError(f"the page left the task's site {origin} for {got}; the recording stopped there "
                          "(nothing is typed into another site)")
