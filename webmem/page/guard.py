"""Secrets stay on the flow's origin, checked at the moment of acting, not before.

A page can move itself to another origin between webmem's checks and Playwright's (lazy) fill. So a
secret is filled in ONE in-page call that reads the origin of the element's own frame and sets the
value (the native value setter, then `input` and `change` events) in the same JavaScript task: the
page cannot navigate in between. And requests to other origins that carry the secret, in any encoding
(a form post, a beacon, a fetch), are aborted at the route level: the route matches only OTHER
origins, so the flow's own page loads never wait on a Python route handler.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, Route

from webmem.errors import OriginError
from webmem.flow.inputs import Redactor

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
  return null;
}"""

_GUARDED = "_webmem_guarded_origins"


def fill_secret(loc: Locator, value: str, origin: str, redactor: Redactor, timeout: float | None = None) -> None:
    """Fill `value` (a secret) into the element only if the element's own frame is at `origin`; and make
    sure no request to another origin carries it from this page on."""
    protect(loc.page, origin, redactor)
    problem = loc.evaluate(_FILL_JS, [value, origin.lower()], timeout=timeout)
    if problem and problem.startswith("origin:"):
        raise OriginError(f"refusing to type a secret into {problem[7:]}: the flow's origin is {origin} (the "
                          "page moved to another site)")
    if problem:
        raise OriginError(f"refusing to type a secret into a <{problem[5:]}>: only input fields take secrets")


def other_origins(origin: str) -> re.Pattern[str]:
    """Every URL that is not on `origin` (nor a data:/blob: URL, which goes nowhere)."""
    return re.compile(r"^(?!" + re.escape(origin.rstrip("/")) + r"(?:[/?#]|$))(?!data:|blob:)", re.I)


def protect(page: Page, origin: str, redactor: Redactor) -> None:
    """Abort requests from this page's context to other origins that carry one of the secrets (in the
    URL, a header or the body). Installed once per context and origin; the secrets list grows."""
    ctx = page.context
    guarded: dict[str, Redactor] = getattr(ctx, _GUARDED, None) or {}
    if origin in guarded:
        guarded[origin].extend(redactor.secrets)
        return
    watch = Redactor(redactor.secrets)
    guarded[origin] = watch
    setattr(ctx, _GUARDED, guarded)

    def handle(route: Route) -> None:
        request = route.request
        blob = request.url.encode("utf-8") + b"\n" + (request.post_data_buffer or b"")
        blob += "\n".join(f"{k}: {v}" for k, v in request.headers.items()).encode("utf-8")
        if watch.bytes(blob) != blob:
            route.abort("blockedbyclient")
        else:
            route.continue_()

    ctx.route(other_origins(origin), handle)


def same_site(start_url: str, page: Page) -> None:
    """A task's start page that moved itself (a redirect, a script) to another origin is refused: the
    agent would type the task's inputs, secrets included, into that site, and a flow stored for it
    would name the foreign site as its base URL."""
    from webmem.flow.urlpattern import origin_of

    want, got = origin_of(start_url), origin_of(page.url)
    if want != got:
        raise OriginError(f"{start_url} moved to another site ({got}); refusing to do the task there "
                          "(start from a page on that site if it is meant)")
