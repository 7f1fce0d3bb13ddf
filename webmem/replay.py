"""Replaying a flow on a Playwright page, with no model in the loop.

Per step: make sure the page is the learned page state (settle, then compare DOM signatures), resolve
the target through its selectors and verify it against its fingerprint, act, read back what can be
read back, and check the step's expectation. A step that cannot be carried out is *broken*: a healer
(if one is given) gets exactly that point to repair it; otherwise the run stops there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from webmem import inpage, signature
from webmem.config import Settings, Timeouts
from webmem.errors import OriginError, WebmemError
from webmem.flow import Expect, Flow, Signature, Target
from webmem.inputs import Redactor, render, resolve_inputs
from webmem.locate import OPTIONS_JS, Resolution, option_values, resolve
from webmem.report import HealInfo, RunReport, StepReport
from webmem.urlpattern import matches, origin_of

NAVIGATING = {"goto", "click", "press", "select", "wait_for"}  # actions after which the page may differ


class Broken(Exception):
    """A step that could not be carried out; `resolution` says what the page offered."""

    def __init__(self, message: str, resolution: Resolution | None = None, page_match: str | None = None,
                 unmet: list[str] | None = None):
        super().__init__(message)
        self.resolution = resolution
        self.page_match = page_match
        self.unmet = unmet or []  # for an expectation: the fields that did not hold


@dataclass
class Fix:
    """A repaired target, to be written back once the run has passed that step."""

    index: int  # 0-based step index
    target: Target
    info: HealInfo


@dataclass
class StepContext:
    """What a healer sees of a broken step."""

    page: Page
    flow: Flow
    index: int
    action: str
    target: Target
    resolution: Resolution
    strict: bool
    values: Mapping[str, Any]


class Healer(Protocol):
    @property
    def llm_calls(self) -> int: ...

    @property
    def llm_tokens(self) -> int: ...

    @property
    def heal_ms(self) -> float: ...

    def heal(self, ctx: StepContext) -> tuple[Resolution, Fix] | None: ...

    def page_mismatch(self, page: Page, flow: Flow, page_name: str, now: Signature) -> bool: ...

    def selector_fix(self, page: Page, index: int, target: Target, res: Resolution) -> Fix | None: ...


@dataclass
class RunOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    base_url: str | None = None
    strict: bool = False  # a signature that is only similar counts as broken
    artifacts: Path | None = None  # where failure screenshots go
    on_step: Callable[[StepReport], None] | None = None
    on_step_start: Callable[[int], None] | None = None  # 0-based index, before the step acts (batch's commit point)
    healer: Healer | None = None
    secrets: list[str] = field(default_factory=list)  # values to hide besides the flow's secret inputs
    # the caller has the page at the flow's start and just took its signature: a first goto to this very
    # URL is skipped, and the first page check need not settle and capture again (if it matches exactly)
    start_signature: Signature | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> RunOptions:
        return cls(timeouts=settings.timeouts, **kw)


class _Run:
    def __init__(self, page: Page, flow: Flow, values: Mapping[str, Any], opts: RunOptions):
        self.page, self.flow, self.values, self.opts = page, flow, values, opts
        self.t = opts.timeouts
        self.redact = Redactor([*Redactor.for_flow(flow, values).secrets, *opts.secrets])
        self.base = opts.base_url or flow.base_url
        self.origin = origin_of(self.base) if self.base else None
        self.checked: tuple[str, str] | None = None  # (page name, url) last verified
        self.strict_page = False
        self.fixes: list[Fix] = []
        self.signatures: dict[str, Signature] = {}
        self.observed: dict[str, Signature] = {}  # page states that did not match exactly
        self.extracted: dict[str, Any] = {}
        self.preloaded = opts.start_signature

    # ---- page state ---------------------------------------------------------------------------

    def url_for(self, template: str) -> str:
        url = render(template, self.values)
        return urljoin(self.base, url) if self.base else url

    def guard_origin(self, url: str) -> None:
        if self.origin is None:
            self.origin = origin_of(url)
        elif origin_of(url) != self.origin:
            raise OriginError(
                f"refusing to leave the flow's origin {self.origin} for {origin_of(url)} "
                "(credentials must not be typed into another site; pass --base-url to run elsewhere)"
            )

    def check_page(self, name: str) -> str:
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
                raise Broken(f"page {name!r}: expected a URL like {state.url}, the browser is at {self.page.url}")
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
            healer = self.opts.healer
            if match is signature.Match.DIFFERENT and healer and healer.page_mismatch(self.page, self.flow, name, now):
                self.signatures[name] = now
                self.checked, self.strict_page = key, True
                return f"different ({sim:.2f}), targets verified"
            raise Broken(
                f"page {name!r} is not the learned page state (DOM signature similarity {sim:.2f}"
                + (", --strict" if match is signature.Match.SIMILAR else "") + ")",
                page_match=f"{match.value} ({sim:.2f})",
            )
        self.checked, self.strict_page = key, match is not signature.Match.EXACT
        return "exact" if match is signature.Match.EXACT else f"similar ({sim:.2f})"

    # ---- targets ------------------------------------------------------------------------------

    def resolve(self, index: int, action: str, target: Target) -> tuple[Resolution, Fix | None]:
        self.guard_origin(self.page.url)
        strict = self.strict_page or self.opts.strict
        # content still rendering: wait fully only where no page state was checked; a page that merely
        # resembles the learned one gets a short grace, not a full timeout per missing element
        wait = self.t.action if self.checked is None else (500 if strict else 0)
        res = resolve(self.page, target, action, strict=strict, wait_ms=wait)
        if res.ok:
            healer = self.opts.healer
            fix = healer.selector_fix(self.page, index, target, res) if healer else None
            return res, fix
        if self.opts.healer is not None:
            ctx = StepContext(self.page, self.flow, index, action, target, res, strict, self.values)
            healed = self.opts.healer.heal(ctx)
            if healed is not None:
                return healed
        raise Broken(res.problem, res)

    # ---- actions ------------------------------------------------------------------------------

    def act(self, index: int, step: Any, rep: StepReport) -> None:
        action = step.action
        args = step.args
        if action == "goto":
            url = self.url_for(args)
            self.guard_origin(url)
            if index == 0 and self.opts.start_signature is not None and self.page.url == url:
                return
            self.page.goto(url, wait_until="load", timeout=self.t.navigation)
            self.checked = None
            return
        if action == "expect":
            self.expect(args)
            return
        if step.page:
            rep.page_match = self.check_page(step.page)
        target: Target | None = step.target
        if target is None:  # press without a target, wait_for text/url
            self.act_untargeted(action, args)
            return
        res, fix = self.resolve(index, action, target)
        rep.selector, rep.score = res.selector, res.score
        if fix is not None:
            self.fixes.append(fix)
            rep.heal = fix.info
            rep.status = "repaired" if fix.info.tier in {"llm", "agent"} else "healed"
        loc = res.locator
        assert loc is not None
        if action in {"click", "fill", "select", "check", "uncheck"} and not res.state.get("enabled", True):
            raise Broken(f"{target.intent}: the element is disabled", res)
        timeout = self.t.action
        if action == "click":
            loc.click(timeout=timeout)
        elif action == "fill":
            value = render(args.value, self.values)
            for attempt in range(2):  # the first keystrokes can vanish before the app binds its handlers
                loc.fill(value, timeout=timeout)
                got = loc.input_value(timeout=timeout)
                if got == value:
                    break
                if attempt:
                    raise Broken(self.redact(f"{target.intent}: typed {value!r} but the field holds {got!r}"), res)
        elif action == "select":
            self.select(loc, render(args.value, self.values), target)
        elif action in {"check", "uncheck"}:
            want = action == "check"
            loc.set_checked(want, timeout=timeout)
            if loc.is_checked() != want:
                raise Broken(f"{target.intent}: could not {action} it", res)
        elif action == "press":
            loc.press(args.key, timeout=timeout)
        elif action == "wait_for":
            loc.wait_for(state="visible", timeout=args.timeout_ms or timeout)
        elif action == "extract":
            if args.attr:
                got = loc.get_attribute(args.attr, timeout=timeout)
            elif res.state.get("value") is not None:
                got = loc.input_value(timeout=timeout)
            else:
                got = " ".join(loc.inner_text(timeout=timeout).split())
            self.extracted[args.name] = got
        if action in NAVIGATING:
            self.checked = None

    def act_untargeted(self, action: str, args: Any) -> None:
        if action == "press":
            self.page.keyboard.press(args.key)
            self.checked = None
        elif action == "wait_for":
            self.expect(Expect(url=args.url, text=args.text), timeout=args.timeout_ms)

    def select(self, loc: Any, wanted: str, target: Target) -> None:
        options: list[list[str]] = loc.evaluate(OPTIONS_JS)
        chosen = option_values(options, wanted)
        if len(chosen) != 1:
            labels = ", ".join(label for _, label in options)
            problem = "no option" if not chosen else "more than one option"
            raise Broken(self.redact(f"{target.intent}: {problem} matches {wanted!r} (options: {labels})"))
        loc.select_option(value=chosen[0], timeout=self.t.action)
        if loc.input_value() != chosen[0]:
            raise Broken(f"{target.intent}: the selection did not stick")

    def expect(self, exp: Expect, timeout: int | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.t.action) / 1000
        for pause in _backoff():
            problems = self.expect_problems(exp)
            if not problems or time.monotonic() >= deadline:
                break
            time.sleep(pause)
        if problems:
            raise Broken("expectation not met: " + "; ".join(problems.values()), unmet=list(problems))
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
                if self.opts.on_step_start:
                    self.opts.on_step_start(index)
                self.act(index, step, rep)
                if step.action != "expect" and step.expect is not None:
                    acted = True
                    self.expect(step.expect)
            except (Broken, PlaywrightError, WebmemError) as exc:
                rep.status, rep.acted = "failed", acted
                rep.unmet = getattr(exc, "unmet", [])
                rep.error = self.redact(one_line(exc))
                res = getattr(exc, "resolution", None)
                if res is not None:
                    rep.candidates = [c.describe() for c in res.candidates]
                    rep.page_match = rep.page_match or getattr(exc, "page_match", None)
                elif getattr(exc, "page_match", None):
                    rep.page_match = exc.page_match  # type: ignore[attr-defined]
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
        for fix in self.fixes:  # a healed page state is remembered as it is now
            name = self.flow.steps[fix.index].page
            if name in self.observed:
                self.signatures[name] = self.observed[name]
        report.extracted = self.redact.data(self.extracted)
        report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        healer = self.opts.healer
        if healer is not None:  # what healing cost belongs to the run that needed it
            report.llm_calls, report.llm_tokens = healer.llm_calls, healer.llm_tokens
            report.heal_ms = round(healer.heal_ms, 1)
        report._fixes = self.fixes  # noqa: SLF001
        report._signatures = self.signatures  # noqa: SLF001
        report._observed = self.observed  # noqa: SLF001
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
