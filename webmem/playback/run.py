"""Replaying a flow on a Playwright page, with no model in the loop.

Per step: make sure the page is the learned page state (settle, then compare DOM signatures), resolve
the target through its selectors and verify it against its fingerprint, act, read back what can be
read back, and check the step's expectation. What each step kind does is its own (webmem.steps); a step
that cannot be carried out is *broken*: the healing pipeline (if any) gets exactly one point to repair it;
otherwise the run stops there.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from webmem.browser.config import Settings, Timeouts
from webmem.errors import OriginError, StepFailed, WebmemError
from webmem.flow.commit import commit_index, past_commit
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, Secrets, render, resolve_inputs
from webmem.flow.model import Expect, PageState, Signature, Target
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.flow.selector import CHAIN, render_selector
from webmem.flow.urlpattern import matches, origin_of
from webmem.page import inpage, signature
from webmem.page.locate import Probed, Resolution, check_probes, probe_call, render_target, resolve
from webmem.page.overlay import covering, move_on, still_covering
from webmem.page.overlay import describe as describe_overlay
from webmem.page.selector import locator
from webmem.page.target import signature_data
from webmem.playback.heal import Healing, Trouble
from webmem.playback.report import Repair, RunReport, StepReport, drift_of
from webmem.playback.signin import HINT, SignIn, is_password_state, shows_password
from webmem.playback.stepwork import PageCheck, Pending, ReadBack, StepWork
from webmem.playback.traffic import Traffic
from webmem.steps import STEPS, StepKind
from webmem.steps.repeat import Planned, plan
from webmem.steps.upload import check_uploads


@dataclass
class RunOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    base_url: str | None = None
    strict: bool = False  # a signature that is only similar counts as broken
    artifacts: Path | None = None  # where failure screenshots go
    # what a screenshot hides, given the step it is taken for (secret fields: the Replayer's watch knows them)
    masks: Callable[[StepReport], list[Locator]] | None = None
    on_step: Callable[[StepReport], None] | None = None
    on_step_start: Callable[[int], None] | None = None  # 0-based index, before the step acts (batch's commit point)
    healing: Healing | None = None
    secrets: list[str] = field(default_factory=list)  # values to hide besides the flow's secret inputs
    # the caller has the page at the flow's start and just took its signature: a first goto to this very
    # URL is skipped, and the first page check need not settle and capture again (if it matches exactly)
    start_signature: Signature | None = None
    sign_in: SignIn | None = None  # run where a page check finds its sign-in page instead of the expected one
    files_dir: str | None = None  # the folder a flow's literal upload path may name (webmem.steps.upload)
    secret_env: SecretAllowlist | None = None  # the variables a flow's `env:` may read (None: any)
    # the only sites the flow may act on (a pulled flow: those its bundle named; None: its own origin, as always)
    origins: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> RunOptions:
        kw.setdefault("files_dir", settings.files_dir)
        return cls(timeouts=settings.timeouts, secret_env=SecretAllowlist.of(settings.secret_env), **kw)


OVERLAY_JS = "openDialog"  # an open dialog a step ran into, described (page/js/probes.js)
# whether an item's row is there (what each of its selectors finds, W.countMatches), with the probe of the add
# step's target in the same round trip (page/js/probes.js)
ROW_JS = "rowThere"
LANDED_MS = 300  # a page that moved elsewhere and stayed there this long has landed
URL_GRACE_MS = 500  # a page check waits this long for a navigation to land before going the careful path
RENDER_GRACE_MS = 1500  # ...and this long for a page unlike the learned one to render more of itself
STILL_S = 0.2  # ...unless it has shown the same, quiet and not loading, this long
ABSENT_GRACE_MS = 500  # a target no selector finds is looked for this long, longer while the page changes
EXPECT_WINDOW_MS = 500  # an expectation unmet once the page settled is looked at this long more, then fails


class SignedInAlready(Exception):  # noqa: N818 - not an error: the steps of a sign-in page are skipped
    """The flow starts on a sign-in page, and the site sent the browser on: the session is signed in."""


class _Run:
    """One replay of a flow; what the step kinds see of it is `webmem.steps.base.Replay`."""

    def __init__(self, page: Page, flow: Flow, values: Mapping[str, Any], opts: RunOptions):
        self.page, self.flow, self.values, self.opts = page, flow, values, opts
        self.timeouts = opts.timeouts
        self.files_dir = opts.files_dir
        self.redact = Redactor([*Redactor.for_flow(flow, values).secrets, *opts.secrets])
        self.base = opts.base_url or flow.base_url
        # the run's values as page signatures leave them out (never a secret's: those are no names on a page)
        plain = {k: v for k, v in values.items() if not (k in flow.inputs and flow.inputs[k].secret)}
        self.plan: list[Planned] = plan(flow.steps, values)  # repeat blocks as their items' steps
        # a list input's item values are data too (a row that shows an item's description)
        items = {f"{k}[{i}].{f}": v for k, spec in flow.inputs.items() if spec.type == "list"
                 for i, item in enumerate(values.get(k) or []) for f, v in item.items()}
        self.data = signature_data({**{k: v for k, v in plain.items() if not isinstance(v, list)}, **items})
        self.origin = origin_of(self.base) if self.base else None
        # how the page last compared with a learned page state (the steps after it on the same page state share it)
        self.compared = PageCheck()
        # the step being done (between steps: the last one done): its page work, one value made new per step and
        # passed from call to call; kept here for the next step's `begin` and for what calls back into the run
        # mid-step (a step kind's `read_back_later`/`expect`, an overlay handler Playwright runs)
        self.work = StepWork(-1, None, None, None)
        self.repairs: list[Repair] = []
        self.page_states: dict[str, Signature] = {}
        self.observed: dict[str, Signature] = {}  # page states that did not match exactly
        # ...and, from a repeat block on, as they showed at a place in the plan (`at`, below): there a page shows
        # as many rows as this run's items, which is no drift to write back (another count would write it again)
        self.positions: dict[str, Signature] = {}
        self.extracted: dict[str, Any] = {}
        self.preloaded = opts.start_signature
        self.commit_at = commit_index(flow)  # the step that hands the data to the server
        self.last_goto: str | None = None  # the address the last goto opened (where a sign-in goes back to)
        self.signed_in_at: set[int] = set()  # steps that signed in: once per step, never a loop
        self.signins = 0
        self.first_page = next((s.page for s in flow.steps if s.page), None)
        self.traffic = Traffic.of(page, long_s=self.timeouts.settle / 1000)  # what the page is still loading

    # ---- what step kinds use ------------------------------------------------------------------

    def render(self, template: str) -> str:
        return render(template, self.values)

    def url_for(self, template: str) -> str:
        url = render(template, self.values)
        return urljoin(self.base, url) if self.base else url

    def at_start(self, index: int, url: str) -> bool:
        """The caller opened the flow's start page itself: a first goto there is skipped."""
        return index == 0 and self.opts.start_signature is not None and self.page.url == url

    def read_back_later(self, index: int, res: Resolution, check: Callable[[str | None], bool]) -> bool:
        """Have the next step's probe read back the field `res` found (one round trip fewer per field), then
        `check` what it held: where the next step has a target on the same page and is no commit point (a
        batch marks the row as committing when that step starts: a field that did not take its value is known
        before, and the row is plainly failed, not uncertain)."""
        following = self.plan[index + 1].step if index + 1 < len(self.plan) else None
        if res.css is None or following is None or following.target is None or following.commit \
                or not self.same_address(following.page, self.plan[index].step.page):
            return False
        self.work.leaves = ReadBack(index, res, check, inpage.ReadAlong(*res.css))
        return True

    def same_address(self, a: str | None, b: str | None) -> bool:
        """Two page states at one address (the same state, or one a list grew in, as a form with one more line):
        a step on `a` right after a step on `b` that did not navigate is on the same document."""
        if a is None or b is None:
            return False
        return a == b or (a in self.flow.pages and b in self.flow.pages
                          and self.flow.pages[a].url == self.flow.pages[b].url)

    def read_back(self, work: StepWork) -> bool:
        """The last step's read-back `work` carried, made along with this step's probe (or now, where no call
        carried it). Whether the field was typed into again (what this step's probe saw may have changed since)."""
        back, work.carried = work.carried, None
        if back is None:
            return False
        got = back.along.value
        if not back.along.made:
            assert back.res.locator is not None
            got = back.res.locator.input_value(timeout=self.timeouts.action)
        try:
            return back.check(got)
        except StepFailed as exc:  # the step that did not take is named, not only the one reading it back
            raise StepFailed(f"{self.name_of(back.index)} did not take: {exc}", exc.resolution) from None

    def name_of(self, index: int) -> str:
        """A planned step as a report names it: `step 3 (fill)`, `step 4 (repeat) item 3 step 2 (fill)`."""
        planned = self.plan[index]
        block = f" (repeat) {planned.where}" if planned.where else ""
        return f"step {planned.top + 1}{block} ({planned.step.action})"

    def guard_origin(self, url: str) -> None:
        if self.opts.origins is not None and origin_of(url) not in self.opts.origins:
            raise OriginError(f"refusing to act on {origin_of(url)}: the flow was pulled from a bundle that names "
                              f"only {', '.join(sorted(self.opts.origins))}")
        if self.origin is None:
            self.origin = origin_of(url)
        elif origin_of(url) != self.origin:
            raise OriginError(
                f"refusing to leave the flow's origin {self.origin} for {origin_of(url)} "
                "(credentials must not be typed into another site; pass --base-url to run elsewhere)"
            )

    # ---- page state ---------------------------------------------------------------------------

    def check_page(self, name: str, work: StepWork) -> str:
        """Compare the page with the learned page state `name`. Its identity is evidence, not a gate: an
        exact signature at the learned URL is the fast path; anything else on the flow's site is the careful
        path (every target must then verify on its own evidence). Returns how it matched, in words; notes on
        `work` the probe of its (rendered) target made in the same round trip, and keeps the comparison as
        `self.compared` for the steps after it on the same page state and address."""
        state = self.flow.pages[name]
        key = (name, self.page.url)
        if self.compared.key == key:
            return self.compared.match
        url_ok = self.landed(state, work)
        self.guard_origin(self.page.url)  # another site is always a stop
        if not url_ok and name == self.first_page and self.signs_in(state) and not shows_password(self.page):
            raise SignedInAlready(name)  # the flow starts by signing in, and the site says it is signed in
        work.probed = None  # a probe made before this check is stale
        self.compared = PageCheck(key, self.compared.match, self.compared.careful)
        learned = state.signature
        if learned is None:
            if not url_ok and self.sign_in_here(state, work):
                self.not_midway(name, work)
                return self.check_page(name, work)  # back where it was: the page check again (once per step)
            self.compared = PageCheck(key, "unchecked" if url_ok else "URL differs", careful=not url_ok)
            return self.compared.match
        if url_ok and self.preloaded is not None and self.preloaded.hash == learned.hash \
                and signature.comparable(self.preloaded, learned):
            self.compared = PageCheck(key, "exact")
            return self.compared.match
        at = self.at(name, work.index)
        seen_there = self.flow.pages.get(at) if at else None  # how a passed run saw the page at this place
        there = seen_there.signature if seen_there is not None and seen_there.signature is not None \
            and signature.comparable(seen_there.signature, learned) else None
        now, seen_at, probed = self.look(learned, there, work)
        match, sim = signature.compare(learned, now)
        # the page as a passed run of the flow saw it at this very place of the plan (the n-th item of a block
        # sees n rows, a step after it as many rows as there were items) is as good as the learned state
        if url_ok and (match is signature.Match.EXACT or (there is not None and now.hash == there.hash)):
            work.probed, self.compared = probed, PageCheck(key, "exact")
            return self.compared.match
        if not (url_ok and match is not signature.Match.DIFFERENT) and self.sign_in_here(state, work, now):
            self.not_midway(name, work)
            return self.check_page(name, work)  # back where it was: the page check again (once per step)
        # from a repeat block on, the page shows as many rows as this run's items: how it looks is remembered for
        # this place of the plan only (another run, with other counts, sees it there again), not as the state
        pending = Pending(self.positions, at, seen_at) if at else Pending(self.observed, name, seen_at)
        pending.into[pending.key] = now
        words = "exact" if match is signature.Match.EXACT else f"{match.value} ({sim:.2f})"
        work.probed = probed
        self.compared = PageCheck(key, words + ("" if url_ok else ", URL differs") + ", targets verified",
                                  careful=True, pending=pending)
        if self.opts.strict:
            raise StepFailed(f"page {name!r} is not the learned page state (DOM signature {words}"
                             + ("" if url_ok else f", URL {self.page.url} is not like {state.url}") + ", --strict)",
                             page_match=self.compared.match)
        return self.compared.match

    def landed(self, state: PageState, work: StepWork) -> bool:
        """Whether the page is at the page state's URL, after a moment's wait for a navigation where the recording
        saw one (the last page state acted on had another URL; a page that was at another address all along would
        wait for nothing)."""
        moved = work.last_page is not None and self.flow.pages[work.last_page].url != state.url
        deadline = time.monotonic() + (min(URL_GRACE_MS, self.timeouts.settle) / 1000 if moved else 0)
        for pause in _backoff():  # a navigation usually lands within milliseconds of the click
            if matches(state.url, self.page.url, self.base):
                return True
            if time.monotonic() >= deadline:
                return False
            _until_navigated(self.page, pause)
        raise AssertionError("unreachable")  # _backoff never ends

    def look(self, learned: Signature, there: Signature | None,
             work: StepWork) -> tuple[Signature, float | None, Probed | None]:
        """The page's signature (and when it was taken, the page's clock), with the step's target probed in the
        same round trip by the path the page takes (the careful one only where the page shows other than its
        learned state) and the read-back `work` carries made along. A page far from the learned one may still be
        rendering what it will show: looked at again, briefly, while it still changes or says it is loading (a
        page that shows the same for a while is what it is); then neither time nor probe is kept."""
        expected = there or learned  # the page as it most likely shows
        riding = check_probes(work.target, expected.tokens, self.opts.strict) if work.target is not None else None
        known = {learned.hash} | ({there.hash} if there else set())
        seen_at: float | None
        now, seen_at, answer = signature.settled_at(self.page, known, self.timeouts.quiet, self.timeouts.settle,
                                                    self.data, riding, work.along())
        probed = Probed(answer[0]) if answer is not None else None
        render_by = time.monotonic() + min(RENDER_GRACE_MS, self.timeouts.settle) / 1000
        same_since = time.monotonic()
        while signature.comparable(learned, now) and now.hash not in known \
                and signature.similarity(learned, now) < signature.RENDERING and time.monotonic() < render_by \
                and (time.monotonic() - same_since < STILL_S or signature.idle_ms(self.page) < STILL_S * 1000):
            time.sleep(0.05)
            before, now = now, signature.settled(self.page, self.timeouts.quiet, self.timeouts.settle, self.data)
            seen_at = probed = None
            if now.hash != before.hash:
                same_since = time.monotonic()
        return now, seen_at, probed

    def at(self, name: str, index: int) -> str:
        """The page state `name` at step `index`'s place in the plan, from a repeat block on (`Planned.at`):
        `invoice@item 3 step 1`, `invoice-2@lines=3 step 4`; empty before any block."""
        planned = self.plan[index] if 0 <= index < len(self.plan) else None
        return f"{name}@{planned.at}" if planned is not None and planned.at else ""

    def signs_in(self, state: PageState) -> bool:
        """Whether a learned page state is a sign-in page (a password field, or the sign-in flow's start)."""
        sign_in = self.opts.sign_in
        return is_password_state(state) or (sign_in is not None and state.url == sign_in.start.url)

    def at_sign_in_url(self, problems: Mapping[str, str]) -> bool:
        """An expected URL not met because the page is at the sign-in flow's start URL (a session that expired
        as the step acted): no use waiting for the expectation, sign in."""
        sign_in = self.opts.sign_in
        return "url" in problems and sign_in is not None and self.work.index not in self.signed_in_at \
            and matches(sign_in.start.url, self.page.url, self.base)

    def not_midway(self, name: str, work: StepWork) -> None:
        """Signed in again where the page state `name` was expected: where the last step acted on that very page
        (a field typed, a box ticked), its document is gone with what was done on it, and going on would hand the
        server a form without it. The step stops before anything more is done (a batch runs the row again, now
        signed in)."""
        if work.last_page is not None and self.same_address(work.last_page, name):
            raise StepFailed(f"the session ended in the middle of page {name!r} (a sign-in page replaced it after "
                             f"earlier steps acted on it): signed in again, but what they entered went with that "
                             "page; nothing more was done, run it again")

    def sign_in_here(self, state: PageState, work: StepWork, now: Signature | None = None) -> bool:
        """The sign-in flow's start page where the page state `state` was expected (or the URL of an
        expectation) as the step `work` is done: sign in, go back where the run was (the login's `next=`, else the
        expected address, else the last goto's). True if it did; `now`: the page's signature, if just taken."""
        sign_in = self.opts.sign_in
        if sign_in is None or work.index in self.signed_in_at or self.signs_in(state) \
                or not sign_in.shows(self.page, self.base, now):
            return False
        self.signed_in_at.add(work.index)
        expected = None
        with contextlib.suppress(WebmemError):
            rendered = self.url_for(state.url)
            expected = rendered if "{" not in rendered else None
        problem = sign_in.sign_in_and_return(self.page, run_flow, self.opts, self.base, expected or self.last_goto,
                                             self.timeouts.navigation)
        if problem is not None:
            raise StepFailed(f"the page is a sign-in page and signing in ({sign_in.flow.name}) failed: "
                             f"{self.redact(problem)}")
        self.signins += 1
        self.guard_origin(self.page.url)
        # the page is another document now: nothing the step asked or was told of the page before holds
        self.compared.key, work.carried, work.leaves, work.probed = None, None, None, None
        return True

    # ---- targets ------------------------------------------------------------------------------

    def resolve(self, kind: StepKind, target: Target, work: StepWork) -> tuple[Resolution, Repair | None]:
        """Find and verify the step's target (`work.target`, rendered), healing it where it cannot be."""
        assert work.target is not None
        self.guard_origin(self.page.url)
        strict = self.compared.careful or self.opts.strict
        # a target nothing matches yet is worth a moment's wait after an action on the page (a menu or a list of
        # suggestions answers typing ~300 ms later, with no change to the page before it), also where the
        # recording saw no new page state; the wait ends as soon as it shows. After a page load (settled), only
        # while the page is still changing.
        grace = ABSENT_GRACE_MS if work.last_page is not None else 0
        probed, work.probed = work.probed, None  # the page check's probe of this target, if it just made one
        res = resolve(self.page, work.target, kind.fits, strict=strict, wait_ms=self.timeouts.action, grace_ms=grace,
                      quiet_ms=self.timeouts.quiet, probed=probed, along=work.along())
        if res.ok and not res.stale:
            return res, None
        healing = self.opts.healing
        if healing is not None:  # the one point where healing plugs in
            trouble = Trouble(self.page, self.flow, work.index, kind, self.values, target=target, resolution=res,
                              strict=strict)
            mend = healing.repair(trouble)
            if mend is not None and mend.resolution is not None:
                return mend.resolution, mend.repair
        if res.ok:
            return res, None
        raise StepFailed(res.problem, res)

    # ---- actions ------------------------------------------------------------------------------

    def begin(self, index: int, step: Any) -> StepWork:
        """A step's page work, before it is done: it follows `self.work`, the last step done, and carries the
        read-back that one left (or carried on unchecked)."""
        last = self.work
        carried = last.passed_on()
        if STEPS[step.action].opens_address:  # a new page state begins
            return StepWork(index, None, None, None, carried)
        return StepWork(index, step.page, last.page, None, carried)

    def act(self, step: Any, work: StepWork, rep: StepReport) -> None:
        kind = STEPS[step.action]
        if kind.opens_address:
            self.last_goto = self.url_for(step.goto)
        target: Target | None = step.target
        work.target = render_target(target, self.values) if target is not None else None
        if step.page:
            rep.page_match = self.check_page(step.page, work)
        if target is None:  # a goto, an expectation, a key press on the page, a wait
            kind.perform_untargeted(self, work.index, step)
        else:
            res = self.found(kind, target, work, rep)
            self.take_pending(res)
            kind.perform(self, work.index, step, res)
        if kind.navigates:
            self.compared.key = None

    def found(self, kind: StepKind, target: Target, work: StepWork, rep: StepReport) -> Resolution:
        """The step's target found, verified (or healed) and free to act on; the read-back `work` carried checked
        on the way (a field typed into again: the target is looked at anew)."""
        res, repair = self.resolve(kind, target, work)
        if self.read_back(work):  # the last field was typed into again: look at this step's target anew
            res, repair = self.resolve(kind, target, work)
        rep.selector, rep.score, rep.stale = res.selector, res.score, res.stale
        if repair is not None:
            planned = self.plan[work.index]
            if not planned.where:  # a repair inside a repeat block serves this run, it is not written back
                self.repairs.append(repair.model_copy(update={"index": planned.top}))
            rep.heal = repair.info
            rep.status = "repaired" if repair.info.tier in {"llm", "agent"} else "healed"
        if kind.needs_enabled:
            self.unblocked(target, res)
            if not res.state.get("enabled", True):
                raise StepFailed(f"{target.intent}: the element is disabled", res)
        return res

    def take_pending(self, res: Resolution) -> None:
        """The careful path's page state, as it shows once its target is there (once per page check)."""
        pending = self.compared.pending
        if pending is None:
            return
        unchanged = res.mutated_at is not None and pending.taken_at is not None \
            and res.mutated_at <= pending.taken_at  # the signature the page check took still holds
        if not unchanged:
            pending.into[pending.key] = signature.settled(self.page, self.timeouts.quiet, self.timeouts.settle,
                                                          self.data)
        self.compared.pending = None

    def expect(self, exp: Expect, timeout: int | None = None, moved_from: str | None = None) -> None:
        """Wait until the expectation holds. `moved_from`: the URL the step acted on, for a step on the way to
        another page state: there, its URL expectation says "it navigated", and a page that moved elsewhere on
        the flow's site and stayed there (a renamed path) meets it; the next step verifies what it finds."""
        deadline = time.monotonic() + (timeout or self.timeouts.action) / 1000
        landed: tuple[str, float] | None = None  # a URL the page moved to, and since when
        settled: float | None = None  # since when the page has had nothing in flight and a quiet DOM
        pauses, url = _backoff(), self.page.url
        for pause in pauses:
            problems = self.expect_problems(exp)
            if set(problems) == {"url"} and moved_from is not None and self.page.url != moved_from \
                    and origin_of(self.page.url) == self.origin:
                if landed is None or landed[0] != self.page.url:
                    landed = (self.page.url, time.monotonic())
                elif time.monotonic() - landed[1] >= LANDED_MS / 1000:
                    problems = {}
            now = time.monotonic()
            if not problems or now >= deadline or self.at_sign_in_url(problems):
                break
            if timeout is None:  # an expectation (a wait_for step waits as long as it says)
                if self.traffic.busy():
                    settled = None
                elif settled is None:
                    settled = now if self.traffic.settled(self.timeouts.quiet) else None
                elif now - settled >= EXPECT_WINDOW_MS / 1000:
                    break  # the page settled and stayed unlike the expectation: it will not come
            if "url" in problems:
                _until_navigated(self.page, pause)
            else:
                time.sleep(pause)
            if self.page.url != url:  # a new page: what it shows comes within milliseconds, look soon again
                pauses, url, settled = _backoff(), self.page.url, None
        if problems and self.at_sign_in_url(problems) and self.sign_in_here(PageState(url=exp.url or "/"),
                                                                             self.work):
            return self.expect(exp, timeout, moved_from)  # signed in again and back: once per step
        if problems:
            raise StepFailed("expectation not met: " + "; ".join(problems.values()), unmet=list(problems))
        if exp.url:
            self.compared.key = None

    def expect_problems(self, exp: Expect) -> dict[str, str]:
        """What does not hold, by field of the expectation."""
        problems = {}
        if exp.url:
            want = render(exp.url, self.values)
            if not matches(want, self.page.url, self.base):
                problems["url"] = f"URL like {want}, found {self.page.url}"
        if exp.text or exp.gone or exp.title:
            text = " ".join(inpage.call(self.page, "visibleText").split())
            if exp.text and " ".join(render(exp.text, self.values).split()) not in text:
                problems["text"] = f"text {exp.text!r} visible, found: {text[:160]!r}"
            if exp.gone and " ".join(render(exp.gone, self.values).split()) in text:
                problems["gone"] = f"text {exp.gone!r} gone, but it is still visible"
            if exp.title and exp.title not in self.page.title():
                problems["title"] = f"title with {exp.title!r}, found {self.page.title()!r}"
        return {k: self.redact(p) for k, p in problems.items()}

    # ---- the loop -----------------------------------------------------------------------------

    # ---- interruptions ------------------------------------------------------------------------

    def install_handlers(self) -> list[Any]:
        """The flow's handlers for overlays that appear sometimes, as Playwright locator handlers: whenever
        one's overlay is visible as a step acts, its steps dismiss it first."""
        installed = []
        for handler in self.flow.handlers:
            when = locator(self.page, render_selector(handler.when, self.values))

            def dismiss(_: Any = None, steps: list[Any] = handler.do, learned_at: str | None = handler.url,
                        overlay: str = handler.when) -> None:
                here = self.page.url
                if learned_at is not None and not matches(learned_at, here, self.base):
                    # a look-alike raised on a page the handler was not learned on: nothing on it is clicked (the
                    # action then waits for it in vain; an exception here would be lost in Playwright's loop)
                    self.work.refused = self.foreign(overlay, learned_at)
                    return
                for step in steps:
                    kind = STEPS[step.action]
                    res = resolve(self.page, render_target(step.target, self.values), kind.fits, strict=True)
                    if not res.ok:
                        raise StepFailed(f"an overlay handler could not {step.action} {step.target.intent}: "
                                         f"{res.problem}", res)
                    kind.perform(self, -1, step, res)
                    done = f"{step.action} {step.target.intent!r} on {overlay} at {here}"
                    self.work.handled.append(self.redact(done))

            self.page.add_locator_handler(when, dismiss)
            installed.append(when)
        return installed

    def handler_up(self) -> bool:
        """Whether the overlay one of the flow's handlers dismisses is up (acting lets the handler run)."""
        return any(locator(self.page, render_selector(h.when, self.values)).is_visible() for h in self.flow.handlers)

    def foreign(self, overlay: str, learned_at: str) -> str:
        return (f"an overlay like the one a handler of the flow dismisses ({overlay}) is up at "
                f"{self.redact(self.page.url)}, not on the page it was learned on ({learned_at}): nothing on it was "
                "clicked")

    def no_foreign_overlay(self) -> None:
        """Before acting: a handler's overlay up on a page the handler was not learned on stops the step (a page
        raising a look-alike so that webmem clicks its button at a moment the page chose)."""
        for h in self.flow.handlers:
            if h.url is not None and not matches(h.url, self.page.url, self.base) \
                    and locator(self.page, render_selector(h.when, self.values)).is_visible():
                raise StepFailed(self.foreign(h.when, h.url))

    def unblocked(self, target: Target, res: Resolution) -> None:
        """Stop the step, naming the overlay, where one covers its target and does not go within a moment
        (webmem.page.overlay); a flow whose handler's overlay is up acts: the handler dismisses it first."""
        assert res.locator is not None
        if self.flow.handlers:
            self.no_foreign_overlay()
        # a heal's element was not probed: looked at here, once
        seen = res.state["blocked"] if "blocked" in res.state else covering(res.locator, False, self.timeouts.action)
        if not seen or self.handler_up():
            return
        seen = move_on(self.page, res.locator, seen, self.timeouts.action)  # a typed field's own popup: Tab on
        if blocked := still_covering(res.locator, seen, self.timeouts.action):
            raise StepFailed(f"{target.intent}: {describe_overlay(blocked)} covers it (nothing on it was clicked; "
                             "a handler in the flow can dismiss it)", res)

    def overlay(self) -> str | None:
        """The dialog or modal overlay that is up, in words (for an error: it may be what blocked a step)."""
        try:
            found = inpage.call(self.page, OVERLAY_JS)
        except PlaywrightError:
            return None
        return self.redact(found) if found else None

    # ---- the loop -----------------------------------------------------------------------------

    def run(self, path: str | None) -> RunReport:
        installed = self.install_handlers()
        try:
            with self.traffic:
                return self.steps(path)
        finally:
            for when in installed:
                with contextlib.suppress(PlaywrightError):
                    self.page.remove_locator_handler(when)

    def steps(self, path: str | None) -> RunReport:
        report = RunReport(flow=self.flow.name, path=path, status="passed")
        started = time.perf_counter()
        skipping: str | None = None  # the sign-in page state whose steps are skipped (signed in already)
        skip_to = -1  # add steps before an item whose row is there already are skipped up to here
        for index, planned in enumerate(self.plan):
            step, self.values = planned.step, planned.values
            work = self.begin(index, step)
            rep = StepReport(index=planned.top + 1, action=step.action, intent=step.target.intent if step.target
                             else None, status="ok", page=step.page, item=planned.where or None)
            if skipping is not None and step.page == skipping:
                rep.status, rep.page_match = "skipped", "signed in already"
            else:
                skipping = None
                if planned.row is not None and self.row_there(planned.row, step, work):
                    skip_to = index + planned.adds
                if index < skip_to:
                    rep.status = "skipped"
            if rep.status == "skipped":
                self.reported(report, rep)
                continue
            self.work = work
            if self.do(step, work, rep, report):
                skipping = step.page
            if index >= 1:  # the page may have changed since the caller took its signature
                self.preloaded = None
            self.reported(report, rep)
            if rep.status == "failed":
                self.stopped(report, rep, index)
                break
        return self.finished(report, started)

    def do(self, step: Any, work: StepWork, rep: StepReport, report: RunReport) -> bool:
        """Do one step, its expectation included, noting on `rep` how it went. True if the page showed that the
        session is signed in already (the steps of the sign-in page state are skipped)."""
        t0 = time.perf_counter()
        acted = False
        signed_in = False
        try:
            if self.opts.on_step_start:
                self.opts.on_step_start(self.plan[work.index].top)
            before = self.page.url
            self.act(step, work, rep)
            if not STEPS[step.action].asserts and step.expect is not None:
                acted = True
                # an expected URL on the way to a next page state only says "it navigated": that page's
                # own check and targets are the evidence; the last step's expectation stays strict
                following = self.plan[work.index + 1].step if work.index + 1 < len(self.plan) else None
                on_the_way = following is not None and following.page is not None
                self.expect(step.expect, moved_from=before if on_the_way else None)
        except SignedInAlready:
            rep.status, rep.page_match, signed_in = "skipped", "signed in already", True
        except (PlaywrightError, WebmemError) as exc:
            self.failed(exc, step, work, rep, report, acted)
        rep.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        rep.handled, report.handled = work.handled, report.handled + len(work.handled)
        # its first selector as rendered for the run (`act` rendered the target before anything found it)
        first = work.target.selectors[0] if work.target is not None and rep.selector else None
        rep.drift = drift_of(rep, first)  # what did not run as learned: CI may fail on it (--fail-on-drift)
        return signed_in

    def failed(self, exc: PlaywrightError | WebmemError, step: Any, work: StepWork, rep: StepReport,
               report: RunReport, acted: bool) -> None:
        """What a step that failed reports: the error (for people, redacted), what was found instead, the
        overlay or sign-in page that may be why, a screenshot."""
        rep.status, rep.acted = "failed", acted
        failed = exc if isinstance(exc, StepFailed) else None
        rep.unmet = failed.unmet if failed else []
        rep.error = self.redact(one_line(exc)) if work.refused is None else work.refused
        res = failed.resolution if failed else None
        if res is not None:
            rep.candidates = [c.describe() for c in res.candidates]
        rep.page_match = rep.page_match or (failed.page_match if failed else None)
        if self.on_sign_in_page(step):
            hint = HINT if self.opts.sign_in is None else (
                f"the page is a sign-in page, and the sign-in flow {self.opts.sign_in.flow.name} did not "
                "get past it (or did not recognise it as its own)")
            rep.error = f"{hint} (at {self.redact(self.page.url)}; {self.name_of(work.index)}: {rep.error})"
        if step.target is not None and "covers it" not in rep.error and (blocker := self.overlay()):
            rep.error += (f"; an overlay is up: {blocker} (nothing on it was clicked; a handler in the flow "
                          "can dismiss it)")
        rep.screenshot = self.screenshot(work.index, rep)
        if isinstance(exc, OriginError):
            report.error = rep.error

    def reported(self, report: RunReport, rep: StepReport) -> None:
        if rep.heal is not None:
            report.healed_steps += 1
        report.steps.append(rep)
        if self.opts.on_step:
            self.opts.on_step(rep)

    def stopped(self, report: RunReport, rep: StepReport, index: int) -> None:
        """The run's status and error once step `index` failed: unconfirmed where the data may have landed."""
        top = self.plan[index].top
        if past_commit(self.commit_at, top, rep.acted):  # the data was handed over: it may have landed
            report.status = "unconfirmed"
            at = self.commit_at + 1
            how = "acted, then failed" if at == rep.index else f"failed after the commit step {at} acted"
            report.error = report.error or f"{self.name_of(index)} {how} (committed, unconfirmed): {rep.error}"
        else:
            report.status = "failed"
            report.error = report.error or f"{self.name_of(index)} failed: {rep.error}"

    def finished(self, report: RunReport, started: float) -> RunReport:
        if report.passed:  # every target verified: page states that drifted are remembered as they are now
            self.page_states.update(self.observed)
        report.extracted = self.redact.data(self.extracted)
        report.signed_in = self.signins
        report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        healing = self.opts.healing
        if healing is not None:  # what healing cost belongs to the run that needed it
            report.llm_calls, report.llm_tokens = healing.llm_calls, healing.llm_tokens
            report.heal_ms = round(healing.heal_ms, 1)
        report.repairs, report.page_states, report.observed = self.repairs, self.page_states, self.observed
        report.positions = self.positions if report.passed else {}
        return report

    def on_sign_in_page(self, step: Any) -> bool:
        """A step failed on a page that asks to sign in where its own page state did not (the session is gone)."""
        if step.page is not None and self.signs_in(self.flow.pages[step.page]):
            return False
        return shows_password(self.page)

    def row_there(self, target: Target, add: Any, work: StepWork) -> bool:
        """Whether an item's row is on the page already: one of its first target's selectors finds one visible
        element (a quick look, no waiting: the last step left the page settled). One in-page call counts what
        each selector finds (Playwright's engine is asked only about a selector that finds one element there, or
        that the page's own engine cannot read), and probes the target of `add`, the first add step, for its
        resolve (where its page check will not run again: the same page state, at the same address), noted on
        `work`, the add step's page work."""
        selectors = [render_selector(s, self.values) for s in target.selectors]
        counts: list[int | None] = [None] * len(selectors)
        rendered = render_target(add.target, self.values) if add.target is not None else None
        careful = self.compared.careful or self.opts.strict
        add_probe = probe_call(rendered, careful=careful) \
            if rendered is not None and add.page and self.compared.key == (add.page, self.page.url) else None
        work.probed = None
        try:
            got = inpage.call(self.page, ROW_JS, {"rows": [_count_probe(s) for s in selectors],
                                                  "probe": list(add_probe) if add_probe else None},
                              along=work.along())  # the last field's read-back, checked by the add step
        except PlaywrightError:
            got = None
        if got is not None and got["rows"] is not None:
            counts = got["rows"]
        there = False
        for selector, count in zip(selectors, counts, strict=True):
            if count is not None and count != 1:
                continue  # Playwright's engine finds as many: not one visible element
            try:
                found = locator(self.page, selector)
                if found.count() == 1 and found.is_visible():
                    there = True
                    break
            except PlaywrightError:
                continue
        if not there and add_probe is not None and got is not None and got["probe"] is not None:
            work.probed = Probed({"careful" if careful else "fast": got["probe"]})  # the add step's resolve uses it
        return there

    def screenshot(self, index: int, rep: StepReport) -> str | None:
        """The page as the failed step left it (secret fields masked), in the artifacts folder."""
        if self.opts.artifacts is None:
            return None
        path = self.opts.artifacts / f"step-{index + 1:02d}-failed.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path), full_page=True,
                                 mask=self.opts.masks(rep) if self.opts.masks is not None else None)
        except (PlaywrightError, OSError):
            return None
        return str(path)


def _count_probe(selector: str) -> dict[str, str] | None:
    """How the page's own engine counts what a (rendered) selector finds as Playwright's does: a one-part `css=`
    Playwright reads as CSS, or `xpath=`; None for anything else (Playwright's engine is asked)."""
    if CHAIN in selector:
        return None
    kind, _, body = selector.partition("=")
    if kind == "xpath":
        return {"xpath": body}
    # Playwright reads `//...` and `..` as XPath, a quoted body as text, `name=...` as another engine
    if kind != "css" or body.startswith(("/", "..", '"', "'")) or re.match(r"[\w-]+=", body):
        return None
    return {"css": body}


def _backoff() -> Iterator[float]:
    """Pauses between looks at a page that is still changing: short at first (a navigation usually lands
    within a few milliseconds of the click), then every 50 ms."""
    pause = 0.005
    while True:
        yield pause
        pause = min(0.05, pause * 2)


def _until_navigated(page: Page, pause: float) -> None:
    """Wait `pause` seconds, or less: until the page's URL changes (a navigation commits)."""
    url = page.url
    try:
        page.wait_for_url(lambda now: now != url, wait_until="commit", timeout=max(1.0, pause * 1000))
    except PlaywrightTimeoutError:
        pass
    except PlaywrightError:  # a page that cannot say (closing, crashed): the caller's next look finds out
        time.sleep(pause)


def one_line(exc: BaseException) -> str:
    """An error as one line for people (Playwright's call log left out)."""
    text = str(exc).strip()
    if isinstance(exc, PlaywrightError):  # Playwright's call logs are long; keep the headline
        if inpage.lost_hold(text):
            return inpage.LOST_HOLD
        text = text.split("\nCall log:")[0]
    return " ".join(text.split())


def run_flow(
    page: Page,
    flow: Flow,
    inputs: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    *,
    path: str | None = None,
) -> RunReport:
    """Replay `flow` on a page the caller owns. Inputs are validated first (InputError before any
    step). Returns the report; `report.passed` says whether every step worked."""
    opts = options or RunOptions()
    values = resolve_inputs(flow, Secrets(inputs or {}, {k for k, s in flow.inputs.items() if s.secret}),
                            allow=opts.secret_env, origin=opts.base_url or flow.base_url)
    check_uploads(flow, opts.files_dir)  # a path the flow wrote, refused before any step
    return _Run(page, flow, values, opts).run(path)
