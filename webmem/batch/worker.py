"""A batch worker: its own process, browser and context; claims rows from the journal until none are
left. Workers never talk to each other: the journal is the only thing they share."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pydantic import BaseModel

from webmem.batch.enter import adopt, replay_row, verify_flow, with_pages
from webmem.batch.journal import Claim, Journal, Outcome, open_journal, worker_id
from webmem.browser import launch as browsers
from webmem.browser.config import Settings, load_settings
from webmem.browser.session import StorageState, new_context, save_state
from webmem.errors import JournalError, WebmemError
from webmem.flow.commit import commit_index
from webmem.flow.flowfile import load_flow
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, resolve_inputs
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.paths import inside
from webmem.playback.heal import DEFAULT_HEAL, HealMode
from webmem.playback.replayer import Screenshots
from webmem.playback.report import FailOn, RunReport
from webmem.playback.run import one_line
from webmem.playback.signin import SignIn

WORKER_ENV = "WEBMEM_BATCH_WORKER"  # the worker's config, as JSON


class WorkerOptions(BaseModel):
    """How a batch run's workers enter rows: the part of `webmem.batch.run.BatchOptions` each worker is given."""

    workers: int = 1
    retry: int = 2
    rate: float | None = None  # rows per minute, all workers together
    heal: HealMode = DEFAULT_HEAL
    base_url: str | None = None
    artifacts: Path | None = None
    connect: str | None = None
    cdp: str | None = None
    lease_s: float = 30.0
    backoff_s: float = 1.0
    sign_in: Path | None = None  # a sign-in flow each worker runs where a page asks (once per worker)
    storage_state: Path | None = None  # a session each worker starts from; one that signed in saves it back
    fail_on: FailOn | None = None  # --fail-on-heal / --fail-on-drift: a row that healed or drifted makes exit 4
    html: Path | None = None  # an HTML report per row's run, in a folder per row
    screenshots: Screenshots = "each"
    files_dir: Path | None = None  # the folder a flow's literal upload path may name (else the settings')

    def settings(self) -> Settings:
        """The settings a worker runs with, the same in the batch command and in each worker (its own
        process): the flags given here over the environment and webmem.json, each origin kept for errors."""
        return load_settings(flags={"files_dir": self.files_dir})


class WorkerConfig(WorkerOptions):
    """One worker's configuration, passed as JSON in WORKER_ENV."""

    flow: str
    journal: str
    run: str
    index: int


def _die_with_parent() -> None:
    """If `webmem batch` is killed, its workers go too (PR_SET_PDEATHSIG) rather than entering rows
    nobody watches."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def main(config_json: str) -> None:
    _die_with_parent()
    cfg = WorkerConfig.model_validate_json(config_json)
    try:
        BatchWorker(cfg).run()
    except WebmemError as exc:  # one line in the batch's output (the rows it held are left to --resume)
        print(f"webmem batch worker {cfg.index}: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code) from None


class BatchWorker:
    def __init__(self, cfg: WorkerConfig):
        self.cfg = cfg
        self.settings: Settings = cfg.settings()
        self.flow: Flow = load_flow(cfg.flow, round_trip=False).flow
        self.verify = verify_flow(self.flow)
        self.commit_at = commit_index(self.flow)
        self.id = worker_id(cfg.index)
        self.journal: Journal = open_journal(cfg.journal, cfg.run)
        self.interval = 60.0 * cfg.workers / cfg.rate if cfg.rate else 0.0
        self.last_start = 0.0
        self.browser: Browser | None = None
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self.outcome: Outcome | None = None  # the last row's, written with the next claim
        self.claim_ms = 0.0  # how long the last claim took (evidence: the journal's share of a row)
        self.secret_env = SecretAllowlist.of(self.settings.secret_env)  # the variables a flow's env: may read
        self.sign_in = SignIn.load(cfg.sign_in, self.secret_env) if cfg.sign_in else None
        # the session every new context starts from: the --storage-state file, then what this worker's last
        # sign-in left (a fresh context after a failed row stays signed in: a worker signs in once, not per row)
        self.state: StorageState = Path(cfg.storage_state) if cfg.storage_state else None

    # ---- browser ------------------------------------------------------------------------------

    def open_browser(self, pw: Playwright) -> None:
        cfg = self.cfg
        if cfg.connect:
            self.browser = pw.chromium.connect(cfg.connect, timeout=self.settings.timeouts.navigation)
        elif cfg.cdp:
            self.browser = pw.chromium.connect_over_cdp(cfg.cdp, timeout=self.settings.timeouts.navigation)
        else:
            self.browser = browsers.launch(pw, self.settings)

    def healthy_page(self, pw: Playwright) -> Page:
        """The worker's page, kept from row to row; a fresh context after a row that failed (its page may
        still be busy with a request that hung), a new browser if it crashed or was killed."""
        for attempt in range(2):
            try:
                if self.browser is None or not self.browser.is_connected():
                    self.close_browser()
                    self.open_browser(pw)
                assert self.browser is not None
                if self.context is None:
                    self.context = new_context(self.browser, self.settings, self.state)
                if self.page is None or self.page.is_closed():
                    self.page = self.context.new_page()
                return self.page
            except Exception:
                # a browser that died a moment ago can still say it is connected: start it again, once
                self.close_browser()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def fresh_context(self) -> None:
        """Drop the context after a failed row: the next row starts on a clean page, not one still waiting
        for the answer to a request that hung (which would cut the next navigation short)."""
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
        self.context = self.page = None

    def close_browser(self) -> None:
        self.fresh_context()
        if self.browser is not None:
            with contextlib.suppress(Exception):
                self.browser.close()
        self.browser = None

    # ---- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self.heartbeat, args=(stop,), daemon=True)
        beat.start()
        try:
            with sync_playwright() as pw:
                self.healthy_page(pw)
                while True:
                    t0 = time.perf_counter()
                    claim = self.journal.claim(self.id, self.cfg.lease_s, verify=self.verify is not None,
                                               outcome=self.outcome)
                    self.outcome, self.claim_ms = None, (time.perf_counter() - t0) * 1000
                    if claim is None:
                        self.journal.recover()
                        if self.journal.remaining(self.verify is not None) == 0:
                            break
                        time.sleep(0.2)
                        continue
                    self.pace()
                    page = self.healthy_page(pw)
                    if claim.verify:
                        self.check(page, claim)
                    else:
                        self.enter(page, claim)
                self.keep_session()
                self.close_browser()
        finally:
            if self.outcome is not None:  # the worker is going down between two rows: say how the last one ended
                with contextlib.suppress(Exception):
                    self.journal.record(self.id, self.outcome)
            stop.set()

    @property
    def signed_in(self) -> bool:
        """Whether this worker signed in: its state is then the session it made, not the file it started from."""
        return isinstance(self.state, dict)

    def signed(self, report: RunReport) -> None:
        """A row that signed in: later contexts of this worker start from the session it made."""
        if report.signed_in and self.context is not None:
            with contextlib.suppress(Exception):
                self.state = dict(self.context.storage_state())

    def keep_session(self) -> None:
        """A worker that signed in leaves its session in the --storage-state file (atomically; the last wins)."""
        if self.signed_in and self.cfg.storage_state and self.context is not None:
            with contextlib.suppress(Exception):
                save_state(self.context, Path(self.cfg.storage_state))

    def heartbeat(self, stop: threading.Event) -> None:
        """Keeps this worker's leases alive (its own connection: the main one may be mid-transaction)."""
        journal = open_journal(self.cfg.journal, self.cfg.run)
        try:
            while not stop.wait(self.cfg.lease_s / 3):
                with contextlib.suppress(Exception):
                    journal.heartbeat(self.id, self.cfg.lease_s)
        finally:
            journal.close()

    def pace(self) -> None:
        if self.interval:
            wait = self.last_start + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self.last_start = time.monotonic()

    def artifacts(self, claim: Claim, what: str) -> Path | None:
        if not self.cfg.artifacts:
            return None
        return inside(Path(self.cfg.artifacts), f"{claim.key}-{what}{claim.attempts}")

    def values(self, claim: Claim) -> dict[str, Any] | None:
        try:
            return resolve_inputs(self.flow, claim.inputs, allow=self.secret_env,
                                  origin=self.cfg.base_url or self.flow.base_url)
        except WebmemError as exc:  # a secret missing from this machine's environment
            self.finish(claim.key, "failed", error=str(exc))
            return None

    def enter(self, page: Page, claim: Claim) -> None:
        values = self.values(claim)
        if values is None:
            return
        committed = lost = False
        commit_ms = 0.0

        def on_step_start(index: int) -> None:
            nonlocal committed, lost, commit_ms
            if index == self.commit_at:
                t0 = time.perf_counter()
                try:
                    self.journal.committing(claim.key, self.id)  # durable before the click
                except JournalError:
                    lost = True  # the lease ran out: another worker may own the row now
                    raise
                committed = True
                commit_ms = (time.perf_counter() - t0) * 1000

        try:
            report = replay_row(page, self.flow, values, self.settings, base_url=self.cfg.base_url,
                                heal=self.cfg.heal, artifacts=self.artifacts(claim, "attempt"),
                                on_step_start=on_step_start, path=self.cfg.flow, sign_in=self.sign_in,
                                counted=True,
                                fail_on=self.cfg.fail_on, screenshots=self.cfg.screenshots,
                                html=inside(self.cfg.html, claim.key) if self.cfg.html is not None else None)
        except Exception as exc:  # noqa: BLE001 - one row's surprise never stops the worker
            report = RunReport(flow=self.flow.name, status="failed", error=self.redact(values)(one_line(exc)))
        self.signed(report)
        # the journal's share of the row's time: its claim, its durable commit point
        evidence = _evidence(page, report, self.redact(values)) | {
            "worker": self.id, "claim_ms": round(self.claim_ms, 2), "commit_ms": round(commit_ms, 2)}
        shot = _screenshot(report)
        if report.passed:
            self.finish(claim.key, "done", evidence=evidence)
            self.flow = adopt(self.flow, report)
            if self.verify is not None:
                self.verify = with_pages(self.verify, report.page_states)
            return
        if lost:
            pass  # another worker may own the row now: its journal entry is not this one's to write
        elif not committed:
            if claim.attempts <= self.cfg.retry:
                self.finish(claim.key, "failed", error=report.error, evidence=evidence, screenshot=shot,
                            retry_after=self.backoff(claim.attempts))
            else:
                self.finish(claim.key, "failed", error=report.error, evidence=evidence, screenshot=shot)
        else:
            error = f"cut short at or after the commit step: {report.error}"
            self.finish(claim.key, "uncertain", error=error, evidence=evidence, screenshot=shot)
        self.fresh_context()

    def check(self, page: Page, claim: Claim) -> None:
        """Run the flow's `verify:` for an uncertain row: landed -> done; provably not landed -> entered
        again (within --retry); anything else stays uncertain, for a person."""
        values = self.values(claim)
        if values is None or self.verify is None:
            return
        try:
            report = replay_row(page, self.verify, values, self.settings, base_url=self.cfg.base_url,
                                heal=self.cfg.heal, artifacts=self.artifacts(claim, "verify"), sign_in=self.sign_in)
        except Exception as exc:  # noqa: BLE001
            report = RunReport(flow=self.verify.name, status="failed", error=self.redact(values)(one_line(exc)))
        self.signed(report)
        evidence = _evidence(page, report, self.redact(values)) | {"verified": report.passed, "worker": self.id}
        failed = report.failed_step()
        if report.passed:
            self.finish(claim.key, "done", evidence=evidence | {"how": "verified it landed"})
            self.verify = adopt(self.verify, report)
            self.flow = with_pages(self.flow, report.page_states)
            return
        if failed is not None and failed.unmet:
            error = f"verify: not landed ({report.error})"
            if claim.attempts <= self.cfg.retry:
                self.finish(claim.key, "failed", error=error, evidence=evidence,
                            retry_after=self.backoff(claim.attempts))
            else:
                self.finish(claim.key, "failed", error=error, evidence=evidence)
        else:
            evidence["verified"] = False
            self.finish(claim.key, "uncertain", error=f"verify could not tell: {report.error}",
                        evidence=evidence, screenshot=_screenshot(report))
        self.fresh_context()

    def redact(self, values: dict[str, Any]) -> Redactor:
        signing = self.sign_in.secrets if self.sign_in else []
        return Redactor([*Redactor.for_flow(self.flow, values).secrets, *signing])

    def finish(self, key: str, status: str, **how: Any) -> None:
        """How a row ended, written with the next claim (one transaction, right away: the loop goes straight
        on to it; a worker that stops writes it on its way out)."""
        self.outcome = Outcome(key, status, **how)

    def backoff(self, attempts: int) -> float:
        return min(60.0, self.cfg.backoff_s * 2 ** (attempts - 1))


def _evidence(page: Page, report: RunReport, redact: Redactor) -> dict[str, Any]:
    failed = report.failed_step()
    out: dict[str, Any] = {"steps": len(report.steps), "ms": report.duration_ms, "run": report.status}
    with contextlib.suppress(Exception):
        out["url"] = redact(page.url)  # a GET form puts what was typed in the URL: ?password=...
    if failed is not None:
        out["failed_step"] = failed.index
    if report.extracted:
        out["extracted"] = report.extracted
    if report.signed_in:
        out["signed_in"] = report.signed_in
    if report.drift_error:  # a row that landed, but healed or drifted where the run fails on that (exit 4)
        out["drifted"] = redact(report.drift_error)
    if report.html:
        out["html"] = report.html
    return out


def _screenshot(report: RunReport) -> str | None:
    failed = report.failed_step()
    return failed.screenshot if failed is not None else None


if __name__ == "__main__":  # pragma: no cover - started by webmem.batch.run
    main(os.environ.pop(WORKER_ENV))
