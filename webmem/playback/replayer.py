"""The one entry point for replay: load the flow, check the inputs, assemble healing, run the steps, write
repairs back. The command line, the pytest plugin, `Memory`, the demo and the benchmarks all replay through
`Replayer`, so they share its defaults:

- `heal="local"`: repair broken steps without a model (the pytest plugin defaults to `off` on purpose: in CI
  a broken selector is a failing test, not a silent fix);
- `write=False`, `propose=None`: repairs are reported, not written (`Memory` writes: a cache keeps itself
  up to date);
- the base URL is the flow's own unless given;
- `track=True`: every run of a flow file counts in its store's track record (`webmem list`; see
  webmem.cache.stats.store_of for which store), so `run`, `batch`, the pytest plugin, MCP and `do` keep one
  record. `Memory` counts its runs itself, in the one transaction of its `do` (same `stats.count_run`).
- `fail_on=None`: a run that drifted (a fallback selector, a page unlike the learned one) or healed passes;
  `fail_on="heal"` / `"drift"` fails it (`Drifted`, exit 4; the repairs are still proposed or written as asked);
- `html=None`: no HTML report; with a folder, one page per run, a screenshot after each step (`screenshots`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from webmem.browser.config import Settings, load_settings
from webmem.browser.session import save_state
from webmem.cache import stats
from webmem.errors import Drifted, FlowFailed, Unconfirmed, UsageError, WebmemError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, Secrets, placeholders, resolve_inputs
from webmem.flow.model import Signature
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.page import guard
from webmem.page.selector import locator
from webmem.paths import inside
from webmem.playback.heal import DEFAULT_HEAL, HealMode, make_healing
from webmem.playback.html import write_html
from webmem.playback.report import FailOn, RunReport, StepReport, drift_failure
from webmem.playback.run import RunOptions, run_flow
from webmem.playback.signin import SignIn, sign_in_of
from webmem.playback.writeback import write_back
from webmem.share import provenance
from webmem.steps import STEPS

FlowLike = str | os.PathLike[str] | flowfile.FlowFile | Flow
SignInLike = str | os.PathLike[str] | Flow | SignIn | None
Screenshots = Literal["each", "failure", "off"]  # when the HTML report takes a screenshot: after each step, ...
SCREENSHOTS: tuple[Screenshots, ...] = get_args(Screenshots)
FAIL_ON: tuple[FailOn, ...] = get_args(FailOn)


class Replayer:
    """Replays flows on pages the caller owns, with healing and write-back as configured.

    `heal`: off, local or llm (`model` names the model for llm, else the settings'). `write` rewrites a healed
    flow file in place; `propose` writes the repair as a unified diff to that path instead. `strict`: a page
    that only resembles the learned one fails the step. `artifacts`: a folder for failure screenshots (one
    subfolder per flow). `on_step` sees each step's report as it happens, `on_step_start` each step's 0-based
    index before it acts. `secrets`: values to hide from every report and message besides the flow's own
    secret inputs. `sign_in`: a sign-in flow (path, Flow or loaded SignIn) run where a page check finds its
    sign-in page instead of the expected page (see webmem.playback.signin). `storage_state`: a file to keep the
    page's session in (Playwright's storage state) after a run that signed in. `files_dir`: the one folder a
    flow's literal `upload` path may name (else the settings' `filesDir`; none: files come from inputs only).
    `track`: count each run of a flow file (or of a Flow given with `source=`) in its store's track record; a
    record that cannot be written is said in the report's `stats_error`, never fails the run.
    `fail_on`: "heal" fails a passed run that healed a step, "drift" one where any step drifted (a fallback
    selector, a page unlike the learned state, a heal): `report.drift_error` says why, `check=True` raises
    Drifted. `html`: a folder for one self-contained HTML page per run, with a screenshot after each step
    (`screenshots="failure"`: of a failed step only; "off": none), secret fields masked. `trace_groups`: the
    context is tracing: each step's actions are grouped in the trace as "step 3: <intent>"."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        heal: HealMode = DEFAULT_HEAL,
        model: str | None = None,
        write: bool = False,
        propose: Path | None = None,
        strict: bool = False,
        base_url: str | None = None,
        artifacts: Path | None = None,
        on_step: Callable[[StepReport], None] | None = None,
        on_step_start: Callable[[int], None] | None = None,
        secrets: Collection[str] = (),
        sign_in: SignInLike = None,
        storage_state: Path | None = None,
        files_dir: str | Path | None = None,
        track: bool = True,
        fail_on: FailOn | None = None,
        html: Path | None = None,
        screenshots: Screenshots = "each",
        trace_groups: bool = False,
    ):
        if write and propose is not None:
            raise UsageError("write and propose exclude each other")
        if fail_on is not None and fail_on not in FAIL_ON:
            raise UsageError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        if screenshots not in SCREENSHOTS:
            raise UsageError(f"screenshots must be one of {', '.join(SCREENSHOTS)}, not {screenshots!r}")
        self.fail_on, self.html, self.screenshots, self.trace_groups = fail_on, html, screenshots, trace_groups
        self.settings = settings or load_settings()
        self.heal, self.model = heal, model
        self.write, self.propose, self.strict = write, propose, strict
        self.base_url, self.artifacts, self.on_step = base_url, artifacts, on_step
        self.on_step_start = on_step_start
        # loaded (and its inputs resolved) before any page is touched
        self.sign_in = sign_in_of(sign_in, SecretAllowlist.of(self.settings.secret_env))
        self.storage_state = storage_state
        # the folder a flow's literal upload path may name (webmem.steps.upload); else the settings'
        self.files_dir = str(files_dir) if files_dir is not None else self.settings.files_dir
        self.secrets = [*secrets, *(self.sign_in.secrets if self.sign_in else [])]
        self.track = track

    def load(self, flow: FlowLike) -> tuple[Flow, flowfile.FlowFile | None]:
        if isinstance(flow, Flow):
            return flow, None
        ff = flow if isinstance(flow, flowfile.FlowFile) else flowfile.load_flow(flow)
        return ff.flow, ff

    def run(self, page: Page, flow: FlowLike, inputs: Mapping[str, Any] | None = None, *,
            base_url: str | None = None, path: str | None = None, label: str | None = None,
            start_signature: Signature | None = None, check: bool = False,
            source: str | os.PathLike[str] | None = None) -> RunReport:
        """Replay `flow` (a path, a loaded FlowFile or a Flow) on `page` with `inputs`. Inputs are checked
        before any step (InputError). Returns the run's report; with `check=True` a failed run raises
        FlowFailed instead. A healed, passing run of a flow file is written back as configured (`label`
        names the file in the diff's headers). A run whose commit step acted before it failed is "unconfirmed"
        (Unconfirmed with `check=True`). `start_signature`: the caller has the page at the flow's start
        and just took its signature (the first goto and page check are skipped where they match). `source`: the
        file a Flow given in memory came from (a batch's flow, adopted from row to row): its run is counted there."""
        loaded, ff = self.load(flow)
        where = ff.path if ff is not None else path
        pulled = provenance.of_flow(where) if where is not None else None
        # a flow on probation (unsigned, or an unknown signer) runs with strict verification, repairs never written
        probation = pulled is not None and pulled[1].level == "probation"
        write, propose = (False, None) if probation else (self.write, self.propose)
        healing = make_healing(self.heal, self.settings, model=self.model)
        watch = _Watch(self, page, loaded)
        opts = RunOptions.from_settings(
            self.settings, base_url=base_url or self.base_url, strict=self.strict or probation, healing=healing,
            artifacts=inside(self.artifacts, loaded.name) if self.artifacts is not None else None,
            on_step=watch.done, on_step_start=watch.start, masks=watch.masks, secrets=self.secrets,
            start_signature=start_signature, sign_in=self.sign_in, files_dir=self.files_dir)
        if pulled is not None:  # only the sites its bundle named; its secret variables only where allowed
            opts.origins = frozenset(pulled[1].origins)
            opts.secret_env = opts.secret_env or SecretAllowlist({})
        shown = path or (str(ff.path) if ff is not None else None)
        try:
            report = run_flow(page, loaded, inputs, opts, path=shown)
        finally:
            watch.close()
        counted = ff.path if ff is not None else source
        if self.track and counted is not None:
            try:
                stats.record_replay(counted, report)
            except WebmemError as exc:  # the run happened: a track record that cannot be kept is said, not fatal
                report.stats_error = str(exc)
        if report.signed_in and self.storage_state is not None:
            save_state(page.context, self.storage_state)
        if report.passed and ff is not None and (write or propose is not None):
            try:
                write_back(ff, report, write=write, propose=propose, label=label)
            except WebmemError as exc:  # the run passed: say the repair was not kept, do not lose the report
                report.write_error = str(exc)
        report.drift_error = drift_failure(report, self.fail_on)
        if self.html is not None:
            redact = self.redactor(loaded, inputs, opts, page)
            write_html(report, self.html, redact, watch.shots)
        if pulled is not None and report.passed:
            provenance.passed(pulled[0], Path(where) if where is not None else None, bool(report.healed_steps),
                              report.flow_changed)
        if check and not report.passed:
            error = Unconfirmed if report.unconfirmed else FlowFailed
            raise error(report.error or f"flow {loaded.name} failed", report)
        if check and report.drift_error:
            raise Drifted(report.drift_error, report)
        return report

    def redactor(self, flow: Flow, inputs: Mapping[str, Any] | None, opts: RunOptions, page: Page) -> Redactor:
        """The run's secrets as its own Redactor hides them (inputs resolved as the run resolved them, what the
        page was typed, the caller's), for what is written after it (the HTML report)."""
        redact = Redactor([*self.secrets, *guard.secrets_of(page.context)])
        with contextlib.suppress(WebmemError):  # inputs the run refused were never typed
            values = resolve_inputs(flow, Secrets(inputs or {}, {k for k, s in flow.inputs.items() if s.secret}),
                                    allow=opts.secret_env, origin=opts.base_url or flow.base_url)
            redact.extend(Redactor.for_flow(flow, values).secrets)
        return redact


class _Watch:
    """What a Replayer does around each step besides the caller's callbacks: a trace group per step named by its
    intent (`trace_groups`), a screenshot after it for the HTML report, secret fields masked."""

    def __init__(self, replayer: Replayer, page: Page, flow: Flow):
        self.replayer, self.page, self.flow = replayer, page, flow
        self.shots: dict[int, bytes] = {}
        self.seen = 0  # steps reported so far (a step's position in report.steps)
        self.grouped = False
        def types_secret(step: Any, of: Flow = flow) -> bool:
            secret = {k for k, spec in of.inputs.items() if spec.secret}
            return bool(secret & set(placeholders(str(getattr(step.args, "value", "") or ""))))

        def inner(step: Any) -> list[Any]:  # a block's steps, or the step itself
            return [*step.args.steps, *step.args.add] if STEPS[step.action].holds_steps else [step]

        # the flow steps (by index) that type a secret, in a block's steps too: the selector that found the field
        # is masked once the step is done (a fallback's, a heal's, one rendered with the run's values)
        self.secret_steps = {i for i, top in enumerate(flow.steps) if any(map(types_secret, inner(top)))}
        # every password field, and every selector of the fields a secret is typed into that needs no input to
        # render, by this flow or the sign-in flow it may run (its page can be what a screenshot shows):
        # masked in every screenshot
        flows = [flow, *([replayer.sign_in.flow] if replayer.sign_in is not None else [])]
        self.masked = ["css=input[type=password]"] + [
            selector for each in flows for top in each.steps for step in inner(top)
            if step.target is not None and types_secret(step, each)
            for selector in step.target.selectors if "{{" not in selector]

    def start(self, index: int) -> None:
        if self.replayer.trace_groups:
            self._end_group()
            step = self.flow.steps[index] if 0 <= index < len(self.flow.steps) else None
            what = "" if step is None else step.target.intent if step.target is not None else \
                step.action + (f" {step.args}" if isinstance(step.args, str) else "")
            with contextlib.suppress(PlaywrightError):
                self.page.context.tracing.group(f"step {index + 1}: {what}"[:200])
                self.grouped = True
        if self.replayer.on_step_start is not None:
            self.replayer.on_step_start(index)

    def done(self, rep: StepReport) -> None:
        n, self.seen = self.seen, self.seen + 1
        self.mask_field_of(rep)
        wanted = self.replayer.screenshots == "each" or (self.replayer.screenshots == "failure"
                                                         and rep.status == "failed")
        if self.replayer.html is not None and wanted and rep.status != "skipped":
            shot = self.shot()
            if shot is not None:
                self.shots[n] = shot
        self._end_group()
        if self.replayer.on_step is not None:
            self.replayer.on_step(rep)

    def mask_field_of(self, rep: StepReport) -> None:
        """The field a secret step found (by whatever selector) is masked from now on."""
        if rep.selector is not None and rep.index - 1 in self.secret_steps and rep.selector not in self.masked:
            self.masked.append(rep.selector)

    def masks(self, rep: StepReport | None = None) -> list[Locator]:
        """What every screenshot of the run hides (`rep`: the step it is taken for, whose field may be one)."""
        if rep is not None:
            self.mask_field_of(rep)
        masks: list[Locator] = []
        for selector in self.masked:
            with contextlib.suppress(WebmemError, PlaywrightError):
                masks.append(locator(self.page, selector))
        return masks

    def shot(self) -> bytes | None:
        try:
            return self.page.screenshot(type="jpeg", quality=60, mask=self.masks(), timeout=5000)
        except PlaywrightError:
            return None

    def _end_group(self) -> None:
        if self.grouped:
            self.grouped = False
            with contextlib.suppress(PlaywrightError):
                self.page.context.tracing.group_end()

    def close(self) -> None:
        self._end_group()


def replay(page: Page, flow: FlowLike, inputs: Mapping[str, Any] | None = None, *, heal: HealMode = DEFAULT_HEAL,
           write: bool = False, check: bool = False, **options: Any) -> RunReport:
    """Replay a flow on `page` once: `webmem.replay(page, "flows/x.yaml", {"email": ...}, heal="local",
    write=True)`. Other keywords are `Replayer`'s (settings, model, propose, strict, base_url, artifacts,
    on_step, on_step_start, secrets, sign_in, storage_state, files_dir, fail_on, html, screenshots, trace_groups)."""
    return Replayer(heal=heal, write=write, **options).run(page, flow, inputs, check=check)
