"""Replaying a flow on a Playwright page, with no model in the loop.

Per step: make sure the page is the learned page state (settle, then compare DOM signatures), resolve
the target through its selectors and verify it against its fingerprint, act, read back what can be
read back, and check the step's expectation. What each step kind does is its own (webmem.steps); a step
that cannot be carried out is *broken*: the healing pipeline (if any) gets exactly one point to repair it;
otherwise the run stops there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from webmem.browser.config import Settings, Timeouts
from webmem.errors import OriginError, StepFailed, WebmemError
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, render, resolve_inputs
from webmem.flow.model import Expect, Signature, Target
from webmem.flow.urlpattern import matches, origin_of
from webmem.page import inpage, signature
from webmem.page.locate import Resolution, resolve
from webmem.playback.heal import Healing, Trouble
from webmem.playback.report import Repair, RunReport, StepReport
from webmem.steps import STEPS, StepKind


@dataclass
class RunOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    base_url: str | None = None
    strict: bool = False  # a signature that is only similar counts as broken
    artifacts: Path | None = None  # where failure screenshots go
    on_step: Callable[[StepReport], None] | None = None
    healing: Healing | None = None
    secrets: list[str] = field(default_factory=list)  # values to hide besides the flow's secret inputs
    # the caller has the page at the flow's start and just took its signature: a first goto to this very
    # URL is skipped, and the first page check need not settle and capture again (if it matches exactly)
    start_signature: Signature | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> RunOptions:
        return cls(timeouts=settings.timeouts, **kw)


class _Run:
    """One replay of a flow; what the step kinds see of it is `webmem.steps.base.Replay`."""

    def __init__(self, page: Page, flow: Flow, values: Mapping[str, Any], opts: RunOptions):
        self.page, self.flow, self.values, self.opts = page, flow, values, opts
        self.timeouts = self.t = opts.timeouts
        self.redact = Redactor([*Redactor.for_flow(flow, values).secrets, *opts.secrets])
        self.base = opts.base_url or flow.base_url
        self.origin = origin_of(self.base) if self.base else None
        self.checked: tuple[str, str] | None = None  # (page name, url) last verified
        self.strict_page = False
        self.repairs: list[Repair] = []
        self.page_states: dict[str, Signature] = {}
        self.observed: dict[str, Signature] = {}  # page states that did not match exactly
        self.extracted: dict[str, Any] = {}
        self.preloaded = opts.start_signature

    # ---- what step kinds use ------------------------------------------------------------------

    def render(self, template: str) -> str:
        return render(template, self.values)

    def url_for(self, template: str) -> str:
        url = render(template, self.values)
        return urljoin(self.base, url) if self.base else url

    def at_start(self, index: int, url: str) -> bool:
        """The caller opened the flow's start page itself: a first goto there is skipped."""
        return index == 0 and self.opts.start_signature is not None and self.page.url == url

    def guard_origin(self, url: str) -> None:
        if self.origin is None:
            self.origin = origin_of(url)
        elif origin_of(url) != self.origin:
            raise OriginError(
                f"refusing to leave the flow's origin {self.origin} for {origin_of(url)} "
                "(credentials must not be typed into another site; pass --base-url to run elsewhere)"
            )

    # ---- page state ---------------------------------------------------------------------------

    def check_page(self, index: int, kind: StepKind, name: str) -> str:
        """Wait until the page is the learned page state `name`. Returns how it matched."""
        state = self.flow.pages[name]
        key = (name, self.page.url)
        if self.checked == key:
            return "exact" if not self.strict_page else "similar"
        deadline = time.monotonic() + self.t.settle / 1000
        for pause in _backoff():
            if matches(state.url, self.page.url, self.base):
                break
            if time.monotonic() >= deadline:
                raise StepFailed(f"page {name!r}: expected a URL like {state.url}, the browser is at {self.page.url}")
            time.sleep(pause)
        if state.signature is None:
            self.checked, self.strict_page = key, False
            return "unchecked"
        if self.preloaded is not None and self.preloaded.hash == state.signature.hash:
            self.checked, self.strict_page = key, False
            return "exact"
        best: tuple[signature.Match, float] = (signature.Match.DIFFERENT, 0.0)
        now = state.signature
        while True:
            signature.settle(self.page, self.t.quiet, max(0, int((deadline - time.monotonic()) * 1000)))
            now = signature.capture(self.page)
            best = signature.compare(state.signature, now)
            if best[0] is signature.Match.EXACT or time.monotonic() >= deadline:
                break
            if best[0] is signature.Match.SIMILAR:
                break  # the usual drift (a banner, a new field): go on, verifying targets strictly
            time.sleep(0.05)  # maybe still rendering: look again until the settle timeout
        match, sim = best
        if match is not signature.Match.EXACT:
            self.observed[name] = now
        if match is signature.Match.DIFFERENT or (match is signature.Match.SIMILAR and self.opts.strict):
            healing = self.opts.healing
            trouble = Trouble(self.page, self.flow, index, kind, self.values, page_name=name, now=now)
            if match is signature.Match.DIFFERENT and healing and healing.repair(trouble) is not None:
                self.page_states[name] = now
                self.checked, self.strict_page = key, True
                return f"different ({sim:.2f}), targets verified"
            raise StepFailed(
                f"page {name!r} is not the learned page state (DOM signature similarity {sim:.2f}"
                + (", --strict" if match is signature.Match.SIMILAR else "") + ")",
                page_match=f"{match.value} ({sim:.2f})",
            )
        self.checked, self.strict_page = key, match is not signature.Match.EXACT
        return "exact" if match is signature.Match.EXACT else f"similar ({sim:.2f})"

    # ---- targets ------------------------------------------------------------------------------

    def resolve(self, index: int, kind: StepKind, target: Target) -> tuple[Resolution, Repair | None]:
        self.guard_origin(self.page.url)
        strict = self.strict_page or self.opts.strict
        # content still rendering: wait fully only where no page state was checked; a page that merely
        # resembles the learned one gets a short grace, not a full timeout per missing element
        wait = self.t.action if self.checked is None else (500 if strict else 0)
        res = resolve(self.page, target, kind.fits, strict=strict, wait_ms=wait)
        if res.ok and not res.stale:
            return res, None
        healing = self.opts.healing
        if healing is not None:  # the one point where healing plugs in
            trouble = Trouble(self.page, self.flow, index, kind, self.values, target=target, resolution=res,
                              strict=strict)
            mend = healing.repair(trouble)
            if mend is not None and mend.resolution is not None:
                return mend.resolution, mend.repair
        if res.ok:
            return res, None
        raise StepFailed(res.problem, res)

    # ---- actions ------------------------------------------------------------------------------

    def act(self, index: int, step: Any, rep: StepReport) -> None:
        kind = STEPS[step.action]
        if step.page:
            rep.page_match = self.check_page(index, kind, step.page)
        target: Target | None = step.target
        if target is None:  # a goto, an expectation, a key press on the page, a wait for text or URL
            kind.perform_untargeted(self, index, step)
        else:
            res, repair = self.resolve(index, kind, target)
            rep.selector, rep.score = res.selector, res.score
            if repair is not None:
                self.repairs.append(repair)
                rep.heal = repair.info
                rep.status = "repaired" if repair.info.tier in {"llm", "agent"} else "healed"
            if kind.needs_enabled and not res.state.get("enabled", True):
                raise StepFailed(f"{target.intent}: the element is disabled", res)
            kind.perform(self, index, step, res)
        if kind.navigates:
            self.checked = None

    def expect(self, exp: Expect, timeout: int | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.t.action) / 1000
        for pause in _backoff():
            problems = self.expect_problems(exp)
            if not problems or time.monotonic() >= deadline:
                break
            time.sleep(pause)
        if problems:
            raise StepFailed("expectation not met: " + "; ".join(problems.values()), unmet=list(problems))
        self.checked = None if exp.url else self.checked

    def expect_problems(self, exp: Expect) -> dict[str, str]:
        """What does not hold, by field of the expectation."""
        problems = {}
        if exp.url:
            want = render(exp.url, self.values)
            if not matches(want, self.page.url, self.base):
                problems["url"] = f"URL like {want}, found {self.page.url}"
        if exp.text or exp.gone or exp.title:
            text = " ".join(inpage.call(self.page, "(W) => W.visibleText()").split())
            if exp.text and " ".join(render(exp.text, self.values).split()) not in text:
                problems["text"] = f"text {exp.text!r} visible, found: {text[:160]!r}"
            if exp.gone and " ".join(render(exp.gone, self.values).split()) in text:
                problems["gone"] = f"text {exp.gone!r} gone, but it is still visible"
            if exp.title and exp.title not in self.page.title():
                problems["title"] = f"title with {exp.title!r}, found {self.page.title()!r}"
        return {k: self.redact(p) for k, p in problems.items()}

    # ---- the loop -----------------------------------------------------------------------------

    def run(self, path: str | None) -> RunReport:
        report = RunReport(flow=self.flow.name, path=path, status="passed")
        started = time.perf_counter()
        for index, step in enumerate(self.flow.steps):
            target = step.target
            rep = StepReport(index=index + 1, action=step.action, intent=target.intent if target else None,
                             status="ok", page=step.page)
            t0 = time.perf_counter()
            acted = False
            try:
                self.act(index, step, rep)
                if step.action != "expect" and step.expect is not None:
                    acted = True
                    self.expect(step.expect)
            except (PlaywrightError, WebmemError) as exc:
                rep.status, rep.acted = "failed", acted
                failed = exc if isinstance(exc, StepFailed) else None
                rep.unmet = failed.unmet if failed else []
                rep.error = self.redact(one_line(exc))
                res = failed.resolution if failed else None
                if res is not None:
                    rep.candidates = [c.describe() for c in res.candidates]
                rep.page_match = rep.page_match or (failed.page_match if failed else None)
                rep.screenshot = self.screenshot(index)
                if isinstance(exc, OriginError):
                    report.error = rep.error
            rep.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
            if index >= 1:  # the page may have changed since the caller took its signature
                self.preloaded = None
            if rep.heal is not None:
                report.healed_steps += 1
            report.steps.append(rep)
            if self.opts.on_step:
                self.opts.on_step(rep)
            if rep.status == "failed":
                report.status = "failed"
                report.error = report.error or f"step {rep.index} ({rep.action}) failed: {rep.error}"
                break
        for fix in self.repairs:  # a healed page state is remembered as it is now
            name = self.flow.steps[fix.index].page
            if name in self.observed:
                self.page_states[name] = self.observed[name]
        report.extracted = self.redact.data(self.extracted)
        report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        healing = self.opts.healing
        if healing is not None:  # what healing cost belongs to the run that needed it
            report.llm_calls, report.llm_tokens = healing.llm_calls, healing.llm_tokens
            report.heal_ms = round(healing.heal_ms, 1)
        report.repairs, report.page_states, report.observed = self.repairs, self.page_states, self.observed
        return report

    def screenshot(self, index: int) -> str | None:
        if self.opts.artifacts is None:
            return None
        path = self.opts.artifacts / f"step-{index + 1:02d}-failed.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path), full_page=True)
        except (PlaywrightError, OSError):
            return None
        return str(path)


def _backoff() -> Iterator[float]:
    """Pauses between looks at a page that is still changing: short at first (a navigation usually lands
    within a few milliseconds of the click), then every 50 ms."""
    pause = 0.005
    while True:
        yield pause
        pause = min(0.05, pause * 2)


def one_line(exc: BaseException) -> str:
    """An error as one line for people (Playwright's call log left out)."""
    text = str(exc).strip()
    if isinstance(exc, PlaywrightError):  # Playwright's call logs are long; keep the headline
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
    values = resolve_inputs(flow, dict(inputs or {}))
    return _Run(page, flow, values, options or RunOptions()).run(path)
