"""The `webmem` fixture's runner: replays a flow on the test's pytest-playwright `page` and explains a
failed run in words (the broken step, what was expected, what the page had, screenshot and trace)."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from webmem import errors
from webmem.browser.config import Settings
from webmem.errors import WebmemError
from webmem.flow.flowfile import FlowFile, load_flow
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, Secrets, resolve_inputs
from webmem.page import guard
from webmem.paths import safe_name
from webmem.playback.heal import PLUGIN_HEAL, parse_heal
from webmem.playback.report import FailOn, RunReport, StepReport
from webmem.playback.signin import SignIn

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from webmem.playback.replayer import Screenshots

LLM_HELP = ("set WEBMEM_MODEL (or \"model\" in webmem.json) and OPENAI_API_KEY or "
            "OPENAI_BASE_URL")


class FlowFailed(errors.FlowFailed, AssertionError):
    """A flow run that did not pass, as a test failure; the message is the readable report."""


class FlowDrifted(errors.Drifted, AssertionError):
    """A flow run that passed but healed or drifted, with --webmem-fail-on-heal / --webmem-fail-on-drift."""


class WebmemDrift(pytest.PytestWarning):
    """A step of a flow run that did not run as learned: a fallback selector found its element, its page was not
    the learned state, or it was healed (`pytest -W error::webmem.pytest.WebmemDrift` makes it fail)."""


def drift_line(report: RunReport, step: StepReport) -> str:
    """One drifted step in words: the flow, the step, what drifted."""
    return f"{report.path or report.flow}: {step.described()}: " + "; ".join(d.what for d in step.drift)


@dataclass
class PluginOptions:
    """The session's webmem options, from the command line (and webmem.json)."""

    settings: Settings
    heal: str = PLUGIN_HEAL
    propose: Path | None = None
    write: bool = False
    strict: bool = False
    tracing: str = "off"
    invocation_dir: Path = field(default_factory=Path.cwd)
    rootpath: Path = field(default_factory=Path.cwd)
    sign_in: SignIn | None = None  # --webmem-sign-in, loaded once
    storage_state: Path | None = None  # --webmem-storage-state
    fail_on: FailOn | None = None  # --webmem-fail-on-heal / --webmem-fail-on-drift / ini webmem_fail_on
    html: Path | None = None  # --webmem-html DIR
    screenshots: Screenshots = "each"  # --webmem-screenshots

    def show(self, path: str | os.PathLike[str] | None) -> str:
        """A path as people want to read it: relative to where pytest was started, if inside it."""
        if path is None:
            return ""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.invocation_dir.resolve()))
        except ValueError:
            return str(p)


OPTIONS_KEY = pytest.StashKey[PluginOptions]()


class Webmem:
    """What the `webmem` fixture gives a test: `run()` replays a flow on the test's page.

    Every run of the test is kept in `reports`; a test that fails after a failed run gets a
    "webmem" section with the run explained, so a plain `assert report.passed` is enough.
    """

    def __init__(self, page: Page, options: PluginOptions, *, base_url: str | None = None,
                 artifacts: Path | None = None, trace: str | None = None, test_dir: Path | None = None):
        self.page = page
        self.options = options
        self.base_url = base_url
        self.artifacts = artifacts
        self.trace = trace
        self.test_dir = test_dir
        self.reports: list[RunReport] = []
        self._runs: list[tuple[RunReport, Flow, str]] = []  # report, flow as run, heal mode
        self.notes: list[str] = []  # heal write-backs: patch written, flow rewritten, not changed
        # every secret input of every run (and the sign-in's): scrubbed from the test's traces
        self.redactor = Redactor(options.sign_in.secrets if options.sign_in else [])

    # ---- public API ---------------------------------------------------------------------------

    def load(self, flow: str | os.PathLike[str]) -> FlowFile:
        """Load a flow file: a path as given (from where pytest started), else from the rootdir, else
        next to the test file."""
        path = Path(flow)
        if not path.is_absolute():
            bases = [self.options.invocation_dir, self.options.rootpath]
            if self.test_dir is not None:
                bases.append(self.test_dir)
            path = next((b / path for b in bases if (b / path).is_file()), self.options.invocation_dir / path)
        # Relative to the working directory when inside it: patches then read a/flows/x.yaml, b/flows/x.yaml.
        with contextlib.suppress(ValueError, OSError):
            path = path.resolve().relative_to(Path.cwd().resolve())
        return load_flow(path)

    def run(self, flow: str | os.PathLike[str] | FlowFile, inputs: Mapping[str, Any] | None = None, *,
            base_url: str | None = None, heal: str | None = None, strict: bool | None = None,
            check: bool = False, page: Page | None = None) -> RunReport:
        """Replay `flow` on the test's page (or `page`) and return the run report.

        base_url: else pytest-playwright's `base_url` (--base-url), else the flow's own.
        heal: off, local or llm; else --webmem-heal (default off). A healed, passing run writes its
        repairs as --webmem-propose / --webmem-write say. check=True raises FlowFailed (an
        AssertionError with the readable report) when the run fails.
        """
        from webmem.llm import configured
        from webmem.playback.replayer import Replayer

        ff = flow if isinstance(flow, FlowFile) else self.load(flow)
        inputs = self._secrets_hidden(ff.flow, inputs)
        try:
            mode = parse_heal(heal or self.options.heal)
        except errors.UsageError as exc:
            raise pytest.UsageError(f"webmem: {exc}") from None
        if mode == "llm" and not configured(self.options.settings.model):
            pytest.fail(f"webmem: heal='llm' needs a model: {LLM_HELP}", pytrace=False)
        opts = self.options
        propose = opts.propose / f"{safe_name(Path(ff.path).stem)}.patch" if opts.propose is not None else None
        html = None
        if opts.html is not None:  # a folder per test: two tests running one flow keep their own pages
            html = opts.html / (self.artifacts.name if self.artifacts is not None else "webmem")
        replayer = Replayer(opts.settings, heal=mode, write=opts.write, propose=propose,
                            strict=opts.strict if strict is None else strict, base_url=base_url or self.base_url,
                            artifacts=self.artifacts, sign_in=opts.sign_in, fail_on=opts.fail_on, html=html,
                            screenshots=opts.screenshots)
        report = replayer.run(page or self.page, ff, inputs, path=opts.show(ff.path))
        # what the run typed of its secrets (a field's maxlength cuts them) is scrubbed from the traces too
        self.redactor.extend(guard.secrets_of((page or self.page).context))
        self.reports.append(report)
        self._runs.append((report, ff.flow, mode))
        if report.passed and report.healed_steps:
            self._note_heals(ff, report, propose)
        for drifted in report.drifted() if report.passed else []:  # a pass that did not run as learned, per step
            warnings.warn(WebmemDrift(drift_line(report, drifted)), stacklevel=2)
        if check and not report.passed:
            raise FlowFailed(self.explain(report), report)
        if report.drift_error:  # asked to fail on it, whether or not the test checks the report
            raise FlowDrifted(report.drift_error, report)
        return report

    def _secrets_hidden(self, flow: Flow, inputs: Mapping[str, Any] | None) -> Secrets:
        """The inputs in a mapping whose repr hides the secret ones (pytest shows the arguments of the
        frames in a traceback); their values, resolved as the run will, are scrubbed from the traces
        pytest-playwright keeps for this test."""
        hidden = Secrets(inputs or {}, {k for k, s in flow.inputs.items() if s.secret})
        with contextlib.suppress(WebmemError):  # the run itself reports bad inputs
            self.redactor.extend(Redactor.for_flow(flow, resolve_inputs(flow, hidden)).secrets)
        return hidden

    def scrub_traces(self) -> None:
        """Rewrite the traces pytest-playwright kept in this test's output folder without the secrets."""
        from webmem.browser.session import redact_archive

        if self.artifacts is None or not self.redactor.secrets or not self.artifacts.is_dir():
            return
        for archive in self.artifacts.rglob("*.zip"):
            redact_archive(archive, self.redactor)

    def explain(self, report: RunReport | None = None) -> str:
        """The readable account of a run (by default the last failed one, else the last one)."""
        if report is None:
            failed = [r for r in self.reports if not r.passed]
            report = failed[-1] if failed else (self.reports[-1] if self.reports else None)
            if report is None:
                return "webmem: no flow was run"
        flow, mode = next(((f, m) for r, f, m in self._runs if r is report), (None, self.options.heal))
        return explain(report, flow, self.options, heal=mode, trace=self.trace)

    # ---- internals ----------------------------------------------------------------------------

    def _note_heals(self, ff: FlowFile, report: RunReport, propose: Path | None) -> None:
        opts = self.options
        if report.write_error:
            self.notes.append(f"webmem: {report.write_error}")
            return
        what = f"{report.healed_steps} step(s) healed in {opts.show(ff.path)}"
        if opts.write and report.flow_changed:
            self.notes.append(f"{what}: flow rewritten")
        elif propose is not None and report.patch:
            self.notes.append(f"{what}: patch written to {opts.show(propose)}")
        elif not opts.write and propose is None:
            self.notes.append(f"{what}: flow not changed (use --webmem-propose DIR or --webmem-write)")



# ---- explaining a failed run --------------------------------------------------------------------


def _fingerprint_words(flow: Flow | None, step: StepReport) -> str | None:
    if flow is None or not 0 < step.index <= len(flow.steps):
        return None
    target = flow.steps[step.index - 1].target
    fp = target.fingerprint if target else None
    if fp is None:
        return None
    bits = [fp.tag + (f"[type={fp.type}]" if fp.type else "")]
    if fp.role:
        bits.append(f"role {fp.role}")
    if fp.name:
        bits.append(f"name {fp.name!r}")
    if fp.label and fp.label != fp.name:
        bits.append(f"label {fp.label!r}")
    if fp.placeholder:
        bits.append(f"placeholder {fp.placeholder!r}")
    if fp.text and fp.text != fp.name:
        bits.append(f"text {fp.text[:60]!r}")
    bits += [f"{k}={v}" for k, v in fp.attrs.items() if k in ("id", "name", "data-testid")]
    if fp.context:
        bits.append(f"in {fp.context}")
    return ", ".join(bits)


def explain(report: RunReport, flow: Flow | None, options: PluginOptions, *, heal: str = "off",
            trace: str | None = None) -> str:
    """A failed run in words; the first line alone says which step broke and why (JUnit's message)."""
    where = f" ({report.path})" if report.path else ""
    total = len(flow.steps) if flow is not None else len(report.steps)
    if report.passed:
        healed = f", {report.healed_steps} healed" if report.healed_steps else ""
        return f"flow {report.flow}{where} passed: {len(report.steps)}/{total} steps{healed}"
    step = report.failed_step()
    lines: list[str] = []
    if step is None:
        lines.append(f"flow {report.flow}{where} failed: {report.error}")
    else:
        what = f"{step.action}" + (f" {step.intent}" if step.intent else "")
        lines.append(f"flow {report.flow}{where} failed at step {step.index}/{total} ({what}): {step.error}")
        target = flow.steps[step.index - 1].target if flow is not None and 0 < step.index <= len(flow.steps) \
            else None
        if target is not None:
            lines.append(f"  expected: {target.intent}")
            lines.append(f"            selectors: {', '.join(target.selectors)}")
            words = _fingerprint_words(flow, step)
            if words:
                lines.append(f"            element: {words}")
        found = []
        if step.page_match:
            found.append(f"page {step.page or ''} {step.page_match}".replace("  ", " "))
        if step.selector:
            found.append(f"matched {step.selector}" + (f" (score {step.score:.2f})" if step.score is not None else ""))
        elif "no selector" in (step.error or ""):
            found.insert(0, "no element for any selector")
        if found or step.candidates:
            lines.append(f"  found:    {'; '.join(found) if found else 'no element matching the target'}")
        if step.candidates:
            lines.append("  candidates on the page:")
            lines += [f"    - {c}" for c in step.candidates[:8]]
            if len(step.candidates) > 8:
                lines.append(f"    … {len(step.candidates) - 8} more")
        if step.screenshot:
            lines.append(f"  screenshot: {options.show(step.screenshot)}")
    if trace:
        lines.append(f"  trace: {trace}")
    done = " · ".join(f"{s.index} {s.action} {s.status.upper() if s.status == 'failed' else s.status}"
                      for s in report.steps)
    lines.append(f"  steps: {done}")
    if heal == "off":
        lines.append("  healing was off: --webmem-heal local (or heal='local') may repair a broken selector")
    return "\n".join(lines)
