"""Sign-in as a flow: sessions are state, signing in is something a run does when the page asks for it.

A sign-in flow is an ordinary flow (learned by `webmem do ... --task "Sign in"` or written by hand). Its first
page state is "the sign-in page": where a run finds that page (its URL pattern, a similar DOM signature) in
place of the page a step expected (a redirect to the login page, a session that expired), it runs the sign-in
flow and goes back where it was. Its secret inputs come from the environment (the flow's `env:`), its other
inputs from the defaults it was learned with: a sign-in never takes the row's values.

Without a sign-in flow, a page with a visible password field where the flow expected none still gets named
("the page is a sign-in page") instead of a bare "no selector found the element".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from webmem.errors import InputError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import resolve_inputs
from webmem.flow.model import InputSpec, PageState, Signature
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.flow.urlpattern import matches, origin_of
from webmem.page import inpage, signature
from webmem.playback.report import RunReport

# the step loop, `webmem.playback.run.run_flow`, passed in by its callers (it imports this module to notice a
# sign-in page), with its options (a `webmem.playback.run.RunOptions`)
RunFlow = Callable[..., RunReport]

HINT = "the page is a sign-in page: the session may have expired; pass --sign-in FLOW or --storage-state FILE"
NEXT_KEYS = ("next", "return_to", "returnUrl", "redirect", "redirect_to", "continue")  # where a login sends back
PASSWORD_JS = "passwordShown"  # page/js/probes.js


def is_password_state(state: PageState) -> bool:
    """A learned page state with a password field in its skeleton (tokens are role|name|tag|type)."""
    return state.signature is not None and any(t.endswith("|password") and t.startswith("textbox|")
                                               for t in state.signature.tokens)


def is_sign_in_flow(flow: Flow) -> bool:
    """A flow that only signs in: every step on a page acts on one page state, a sign-in page, and a secret
    input is among its inputs."""
    pages = {s.page for s in flow.steps if s.page}
    return len(pages) == 1 and is_password_state(flow.pages[pages.pop()]) \
        and any(s.secret for s in flow.inputs.values())


def shows_password(page: Page) -> bool:
    """Whether the page shows a password field (one round trip; False if the page cannot say)."""
    try:
        return bool(inpage.call(page, PASSWORD_JS))
    except Exception:  # noqa: BLE001 - a page mid-navigation: it shows nothing to sign in to yet
        return False


def next_url(url: str) -> str | None:
    """The same-site address a login page's query says it sends back to (`?next=/x`), absolute, or None."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key in NEXT_KEYS and value:
            target = urljoin(url, value)
            return target if origin_of(target) == origin_of(url) else None
    return None


@dataclass
class SignIn:
    """A loaded sign-in flow with its values (resolved once, before any browser starts)."""

    flow: Flow
    values: dict[str, Any]
    start: PageState
    path: str | None = None

    @classmethod
    def load(cls, flow: str | os.PathLike[str] | Flow, allow: SecretAllowlist | None = None) -> SignIn:
        """`allow`: the operator's allowlist of secret variables (checked for the flow's site now, and for the
        site it signs in on when it runs)."""
        loaded = flow if isinstance(flow, Flow) else flowfile.load_flow(flow, round_trip=False).flow
        first = next((s.page for s in loaded.steps if s.page), None)
        if first is None:
            raise InputError(f"sign-in flow {loaded.name}: it acts on no page state (nothing to recognise the "
                             "sign-in page by)")
        try:
            # secrets from the environment, the rest from defaults
            values = resolve_inputs(loaded, {}, allow=allow, origin=loaded.base_url)
        except InputError as exc:
            raise InputError(f"sign-in flow {loaded.name}: {exc} (give its secrets an `env:` variable and its "
                             "other inputs a `default:`)") from None
        return cls(loaded, values, loaded.pages[first], None if isinstance(flow, Flow) else str(flow))

    @property
    def secrets(self) -> list[str]:
        return [str(self.values[k]) for k, s in self.flow.inputs.items() if s.secret and k in self.values]

    def shows(self, page: Page, base: str | None, now: Signature | None = None) -> bool:
        """Whether `page` is this flow's sign-in page: its URL pattern and a similar skeleton."""
        if not matches(self.start.url, page.url, base or self.flow.base_url):
            return False
        learned = self.start.signature
        if learned is None:
            return shows_password(page)
        if now is None or not signature.comparable(learned, now):
            now = signature.capture(page)
        return signature.comparable(learned, now) and signature.similarity(learned, now) >= signature.SIMILAR

    def perform(self, page: Page, run_flow: RunFlow, options: Any, base: str | None) -> str | None:
        """Run the sign-in flow on `page` with `run_flow`; None when it passed, else why not."""
        opts = replace(options, sign_in=None, start_signature=None, on_step=None, on_step_start=None,
                       base_url=base or options.base_url, secrets=[*options.secrets, *self.secrets])
        if opts.secret_env is not None:  # a flow learned on one site signs in on the run's: its variables too
            for k, s in self.flow.inputs.items():
                if s.env and s.secret:
                    opts.secret_env.check(s.env, opts.base_url or self.flow.base_url, f"sign-in input {k!r}")
        report = run_flow(page, self.flow, self.values, opts, path=self.path)
        return None if report.passed else report.error or "it failed"


    def sign_in_and_return(self, page: Page, run_flow: RunFlow, options: Any, base: str | None,
                           fallback: str | None, timeout_ms: int) -> str | None:
        """Sign in on the sign-in page `page` shows, then go back where the run was going (`go_back`); None when
        it passed, else why not (the page is left where signing in stopped)."""
        login_url = page.url
        problem = self.perform(page, run_flow, options, base)
        if problem is None:
            go_back(page, login_url, fallback, timeout_ms)
        return problem


def sign_in_of(value: str | os.PathLike[str] | Flow | SignIn | None,
               allow: SecretAllowlist | None = None) -> SignIn | None:
    if value is None or isinstance(value, SignIn):
        return value
    return SignIn.load(value, allow)


def go_back(page: Page, login_url: str, fallback: str | None, timeout_ms: int) -> None:
    """After signing in: stay where the login sent the browser if that is where the run was going, else open
    the login's `next=` address, else `fallback` (the URL the run expected)."""
    target = next_url(login_url) or fallback
    if target is None or page.url == target:
        return
    # the signed-in page finishes loading first: its requests cut short by leaving still answer, and a session
    # cookie sent again with every answer (Flask's permanent sessions) can undo what the next page stored in the
    # session (its form's CSRF secret: the form is then refused)
    with contextlib.suppress(PlaywrightError):
        page.wait_for_load_state("load", timeout=min(timeout_ms, 5000))
    page.goto(target, wait_until="load", timeout=timeout_ms)


def plain_inputs(specs: dict[str, InputSpec], values: dict[str, Any]) -> dict[str, InputSpec]:
    """A learned sign-in flow keeps the user name it signed in with as its default (never a secret's value):
    signing in later takes no values from the row or task it interrupts."""
    return {k: s if s.secret or s.default is not None or k not in values
            else s.model_copy(update={"default": values[k]}) for k, s in specs.items()}

