"""The behaviour cache: `Memory(store).do(page, task, inputs)`.

A stored flow that fits the task and the page is replayed with no model (a hit, healed where the page
drifted). Otherwise the agent does the task once and its flow is stored (a miss, learned). When a replay
breaks beyond healing, the agent takes over from the broken step on the page as it is, and its steps are
spliced into the flow (handed over); the store changes only if the task got finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from pydantic import BaseModel, Field

from webmem.browser.config import Settings, load_settings
from webmem.cache import stats
from webmem.cache.splice import done_part, splice
from webmem.cache.store import Entry, FlowStore, task_key, task_template
from webmem.errors import InputError, PageError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import PLACEHOLDER, Redactor, spec_for
from webmem.flow.model import InputSpec, Signature, slug
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.flow.urlpattern import matches, origin_of, url_problem
from webmem.learn.agents import DEFAULT_MAX_STEPS, ActionLog, Agent, RecordingResult, Resume, make_agent, record_task
from webmem.llm import configured
from webmem.page import guard, signature
from webmem.playback.heal import DEFAULT_HEAL, HealMode, parse_heal
from webmem.playback.replayer import Replayer, Screenshots, SignInLike
from webmem.playback.report import RunReport, StepReport
from webmem.playback.run import RunOptions, one_line, run_flow
from webmem.playback.signin import HINT, is_sign_in_flow, plain_inputs, shows_password, sign_in_of
from webmem.share import provenance

Status = Literal["hit", "healed", "learned", "handed_over", "failed", "unconfirmed"]


class RecordingInfo(BaseModel):
    status: str
    summary: str = ""
    actions: int = 0
    model_calls: int = 0
    tokens: int = 0
    wall_ms: float = 0.0


class DoResult(BaseModel):
    """What `do` did: hit / healed / learned / handed over / failed, at what cost, and what it saved."""

    status: Status
    task: str
    flow: str | None = Field(None, description="the flow file used or written, relative to the store")
    similarity: float | None = Field(None, description="the start page against the flow's start page state")
    model_calls: int = 0
    tokens: int = 0
    duration_ms: float = 0.0
    saved_calls: int = Field(0, description="estimated: the model calls the flow's learning took")
    saved_tokens: int = 0
    learn_ms: float | None = Field(None, description="how long learning the flow took")
    replay: RunReport | None = None
    recording: RecordingInfo | None = None
    patch: str | None = Field(None, description="the change to the stored flow, as a unified diff")
    skipped: list[str] = Field(default_factory=list, description="quarantined flows that were not used")
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
    extracted: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "unconfirmed")


@dataclass
class Pick:
    entry: Entry
    similarity: float
    record: stats.FlowStats  # its track record, as the lookup read it


@dataclass
class Lookup:
    """Which stored flow fits a task on a page, and why others did not."""

    pick: Pick | None = None
    quarantined: list[Pick] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # quarantined flows, said in words
    notes: list[str] = field(default_factory=list)  # flows of this task that did not fit


AgentSpec = str | Callable[[], Agent] | None


class Memory:
    """Replays what it knows, learns what it does not, and hands over mid-flow.

    `agent`: "openai", "heuristic", a factory of agents, or None (openai when a model is configured,
    else heuristic). `heal`: off, local or llm. `handover`: let the agent finish a replay that broke.
    `on_step`, `on_action` and `on_event` report replayed steps, agent actions and decisions as they
    happen. `sign_in`: a sign-in flow, run where the start page (or a replayed step's page) turns out to be its
    sign-in page; the run then goes back where it was. `html`: a folder for a hit's HTML run report (with
    `screenshots` as Replayer takes them)."""

    def __init__(
        self,
        store: str | Path = "flows",
        *,
        agent: AgentSpec = None,
        model: str | None = None,
        heal: HealMode = DEFAULT_HEAL,
        handover: bool = True,
        settings: Settings | None = None,
        quarantine_after: int = stats.QUARANTINE_AFTER,
        max_steps: int = DEFAULT_MAX_STEPS,
        on_step: Callable[[StepReport], None] | None = None,
        on_action: Callable[[ActionLog], None] | None = None,
        on_event: Callable[[str], None] | None = None,
        artifacts: Path | None = None,
        sign_in: SignInLike = None,
        html: Path | None = None,
        screenshots: Screenshots = "each",
    ):
        heal = parse_heal(heal)
        self.html, self.screenshots = html, screenshots  # a hit's HTML report (Replayer's `html`)
        self.store = FlowStore(store)
        self.settings = settings or load_settings()
        self.model = model or self.settings.model
        self.agent_spec = agent
        self.heal, self.handover = heal, handover
        self.quarantine_after, self.max_steps = quarantine_after, max_steps
        self.on_step, self.on_action, self.artifacts = on_step, on_action, artifacts
        self.on_event = on_event or (lambda _: None)  # what do is about to do, in words (progress)
        # its inputs resolved now: a missing (or not allowed) secret is said before any page
        self.sign_in = sign_in_of(sign_in, SecretAllowlist.of(self.settings.secret_env))

    @property
    def agent_kind(self) -> str:
        if callable(self.agent_spec):
            return "custom"
        return self.agent_spec or ("openai" if configured(self.model) else "heuristic")

    def _agent(self) -> Agent:
        if callable(self.agent_spec):
            return self.agent_spec()
        return make_agent(self.agent_kind, self.model)

    # ---- the one call -------------------------------------------------------------------------

    def do(self, page: Page, task: str, inputs: Mapping[str, Any] | None = None, *, url: str | None = None,
           secrets: Collection[str] | Mapping[str, str] = ()) -> DoResult:
        """Do `task` on `page` (opened at `url` if given, else where it is) with `inputs`. The keys in
        `secrets` are secret inputs: never stored, logged or shown to a model (a mapping names the
        environment variable a stored flow reads each secret from)."""
        started = time.perf_counter()
        values = dict(inputs or {})
        env = secrets if isinstance(secrets, Mapping) else {}
        specs = {k: spec_for(v, k in secrets, env.get(k)) for k, v in values.items()}
        redact = Redactor.for_inputs(specs, values)
        template = task_template(task, values)
        if url is not None and (problem := url_problem(url, absolute=True)):  # the one URL rule
            raise InputError(f"url: {problem}")
        if url is not None:
            try:
                page.goto(url, wait_until="load", timeout=self.settings.timeouts.navigation)
            except PlaywrightError as exc:
                raise PageError(f"{url}: cannot open the page: {one_line(exc)}") from None
        if self.sign_in is not None:
            redact.extend(self.sign_in.secrets)
            self._sign_in_first(page, url)
        try:
            # a page already showing a stored start page of this task needs no quiet wait (nor one quiet already)
            known = {e.signature.hash for e in self.store.candidates(task_key(template), page.url)
                     if e.signature is not None}
            now = signature.settled_at(page, known, self.settings.timeouts.quiet,
                                         self.settings.timeouts.settle).signature
        except PlaywrightError as exc:  # e.g. a script navigated away while the page was read
            raise PageError(f"{page.url}: cannot read the page: {one_line(exc)}") from None
        if url is not None:  # the start page may have sent the browser to another site
            guard.same_site(url, page)
        look = self.lookup(template, values, page.url, now)
        result = DoResult(status="failed", task=redact(task), skipped=look.skipped, notes=look.notes)
        job = _Job(self, page, task, template, values, specs, redact, result, now)
        if look.pick is None:
            job.learn(look.quarantined)
        else:
            job.replay(look.pick)
        result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        job.commit()
        return result

    def _sign_in_first(self, page: Page, url: str | None) -> None:
        """The start page turned out to be the sign-in page (a redirect to the login): sign in, go back, and
        look the task up on the page it was meant for."""
        sign_in = self.sign_in
        assert sign_in is not None
        if url is not None and matches(sign_in.start.url, url, origin_of(url)):
            return  # the task starts on the sign-in page itself
        site = origin_of(page.url)  # the sign-in page of this site (a flow learned elsewhere runs here too)
        try:
            if not sign_in.shows(page, site):
                return
            self.on_event(f"the start page is a sign-in page: signing in ({sign_in.flow.name})")
            problem = sign_in.sign_in_and_return(page, run_flow, RunOptions.from_settings(self.settings), site, url,
                                                 self.settings.timeouts.navigation)
            if problem is not None:
                raise PageError(f"the start page is a sign-in page and signing in failed: {problem}")
        except PlaywrightError as exc:
            raise PageError(f"{page.url}: cannot sign in: {one_line(exc)}") from None

    def lookup(self, task: str, inputs: Mapping[str, Any], url: str, page_signature: Signature) -> Lookup:
        """The stored flow for `task` (input values in its words do not matter) starting at `url` on a
        page with this signature: the most similar start page state, then the best track record.
        Quarantined flows are skipped and reported. A page that is not at least similar to a flow's start
        page is a miss (the agent learns it), never a guess that healing would have to rescue."""
        look = self._look(task, inputs, url, page_signature)
        if look.pick is None and self.store.verify():  # a miss costs a learning: first, no file edited in place
            look = self._look(task, inputs, url, page_signature)  # was missed
        return look

    def _look(self, task: str, inputs: Mapping[str, Any], url: str, page_signature: Signature) -> Lookup:
        look = Lookup()
        candidates = self.store.candidates(task_key(task_template(task, inputs)), url)  # (may re-read the files)
        records = stats.of_flows(self.store.root, (e.path for e in candidates))
        for e in self.store.broken():  # a broken file may be this task's flow: say so, or it is learned twice
            look.notes.append(f"{e.path} is not a valid flow file and was not considered ({e.error})")
        fits: list[tuple[tuple[float, float, str], Pick]] = []
        for e in candidates:
            known = e.signature is not None and signature.comparable(e.signature, page_signature)
            sim = signature.similarity(e.signature, page_signature) if known else signature.SIMILAR  # type: ignore[arg-type]
            fs = records.get(e.path) or stats.FlowStats()
            if not e.accepts(inputs):
                fixed = ", ".join(f"{k}={v}" for k, v in e.fixed.items())
                look.notes.append(f"{e.path} does not fit these inputs (it takes: {', '.join(e.inputs) or 'none'}"
                                  + (f"; learned with {fixed}, which its steps do not vary" if fixed else "") + ")")
            elif fs.is_quarantined(e.digest):
                look.skipped.append(f"{e.path}: quarantined ({fs.quarantine_reason})")
                look.quarantined.append(Pick(e, sim, fs))
            elif sim < signature.SIMILAR:
                look.notes.append(f"{e.path}: the page is not its start page (similarity {sim:.2f})")
            else:
                rank = (round(sim, 2), fs.success_rate if fs.success_rate is not None else 0.5, fs.last_success or "")
                fits.append((rank, Pick(e, sim, fs)))
        best = max(fits, key=lambda f: f[0], default=None)
        look.pick = best[1] if best else None
        return look


class _Job:
    """One `do`: the work and the statistics it leaves behind (written once, at the end)."""

    def __init__(self, memory: Memory, page: Page, task: str, template: str, values: dict[str, Any],
                 specs: dict[str, InputSpec], redact: Redactor, result: DoResult, start_signature: Signature):
        self.m, self.page, self.template = memory, page, template
        self.values, self.specs, self.redact, self.result = values, specs, redact, result
        self.start_url = page.url
        self.start_signature = start_signature  # taken for the lookup: the replay's first check reuses it
        self.changes: list[Callable[[stats.Changes], None]] = []
        # the agent sees the task with secrets as placeholders; the store keeps every value as one
        self.agent_task = task_template(task, {k: v for k, v in values.items() if specs[k].secret})

    @property
    def root(self) -> Path:
        return self.m.store.root

    def commit(self) -> None:
        r = self.result

        def totals(s: stats.Changes) -> None:
            t = s.totals
            if r.replay is not None:
                t.hits += 1
            else:
                t.misses += 1
            t.healed += r.status == "healed"
            t.handed_over += r.status == "handed_over"
            t.learned += r.status == "learned"
            t.failed += r.status in ("failed", "unconfirmed")
            t.model_calls += r.model_calls
            t.tokens += r.tokens
            t.saved_calls += r.saved_calls
            t.saved_tokens += r.saved_tokens

        self.m.store.ensure()
        with stats.updating(self.root) as s:
            for change in [*self.changes, totals]:
                change(s)

    # ---- hit ----------------------------------------------------------------------------------

    def replay(self, pick: Pick) -> None:
        m, r, e = self.m, self.result, pick.entry
        r.flow, r.similarity = e.path, round(pick.similarity, 3)
        path = m.store.path_of(e.path)
        ff = flowfile.load_flow(path, round_trip=False)  # write-back re-reads it to edit
        m.on_event(f"hit: replaying {e.path} (start page similarity {pick.similarity:.2f})")
        replayer = Replayer(m.settings, heal=m.heal, model=m.model, write=True, on_step=m.on_step,
                            artifacts=m.artifacts, sign_in=m.sign_in, html=m.html, screenshots=m.screenshots,
                            secrets=self.redact.secrets,  # the caller's secrets, declared or not
                            track=False)  # counted below, in the one transaction of this do
        # heals are written back with paths as the store's reviewers see them
        report = replayer.run(self.page, ff, self.values, path=str(path), label=e.path,
                              start_signature=self.start_signature)
        r.replay = report
        r.model_calls, r.tokens = report.llm_calls, report.llm_tokens
        r.extracted = report.extracted
        record = pick.record
        r.learn_ms = record.learn_ms or None
        if report.write_error:
            r.notes.append(report.write_error)
        if report.passed:
            r.patch = report.patch
            r.status = "healed" if report.healed_steps else "hit"
            r.saved_calls = max(0, record.learn_calls - r.model_calls)
            r.saved_tokens = max(0, record.learn_tokens - r.tokens)
        self.changes.append(lambda s: stats.count_run(s, e.path, report, e.digest, m.quarantine_after))
        if report.passed:
            return
        failed = report.failed_step()
        r.error = report.error
        if report.unconfirmed:  # handed to the server already: so it stays unless the agent, looking at the
            r.status = "unconfirmed"  # page (a form that refused it, a confirmation elsewhere), finishes the task
        # never hand a page of another site to the agent (the replay refused to go there for a reason)
        home = origin_of(ff.flow.base_url) if ff.flow.base_url else (e.origin or origin_of(self.start_url))
        # (a flow that broke on its first step, the goto, never reached the page to continue on; one that broke
        # inside a repeat block cannot be spliced there: the agent's steps are not one item's)
        if not m.handover or failed is None or failed.index < 2 or failed.item is not None \
                or origin_of(self.page.url) != home:
            return
        self.hand_over(ff, report, failed, record)

    # ---- handover -----------------------------------------------------------------------------

    def hand_over(self, ff: flowfile.FlowFile, report: RunReport, failed: StepReport,
                  record: stats.FlowStats) -> None:
        """The agent finishes the task from the broken step on the page as it is; the flow becomes what
        this run did: its steps before the break (the broken one too if its action ran), then the agent's."""
        m, r, flow = self.m, self.result, ff.flow
        done = done_part(flow, report, failed)
        m.on_event(f"step {failed.index} broke beyond healing: handing over to the {m.agent_kind} agent")
        rec = record_task(self.page, self.page.url, self.agent_task, self.values, self.specs, m._agent(),
                          name=flow.name, max_steps=m.max_steps, on_action=m.on_action, redactor=self.redact,
                          timeouts=m.settings.timeouts, resume=Resume(done.pages, done.progress))
        self._took(rec)
        r.extracted = {**r.extracted, **self.redact.data(rec.extracted)}
        if rec.status != "done" or (rec.flow is None and not failed.acted):
            why = rec.summary if rec.status != "done" else "it said done without doing anything"
            r.error = (f"{r.error}; the {rec.agent} agent took over and did not finish ({rec.status}): {why}; "
                       "the store is unchanged")
            return
        spliced = splice(flow, done, rec.flow)
        r.status, r.error = "handed_over", None
        start = next((s.page for s in flow.steps if s.page), None)
        pulled = provenance.of_flow(ff.path)
        # not the learned start page; or a pulled flow on probation, whose file is never rewritten here
        if (start is not None and start in report.observed) or (pulled is not None and pulled[1].level == "probation"):
            self._store_variant(ff, spliced, rec, record)
        else:
            self._splice_in_place(ff, spliced, rec)

    def _store_variant(self, ff: flowfile.FlowFile, spliced: Flow, rec: RecordingResult,
                       record: stats.FlowStats) -> None:
        """The start page differs from the learned one: the old flow may still be right where it was
        learned, so the spliced flow becomes a variant beside it."""
        m, r = self.m, self.result
        rel = m.store.add(spliced)
        r.patch = flowfile.unified_diff(ff.text, m.store.path_of(rel).read_text(encoding="utf-8"), r.flow or "", rel)
        r.notes.append(f"stored as a new variant {rel} (the start page differs from {r.flow}'s)")
        r.flow = rel

        def variant(s: stats.Changes) -> None:
            fs = s.flows[rel] = stats.FlowStats(handovers=1, last_success=stats.now())
            fs.learn_calls = record.learn_calls + rec.model_calls
            fs.learn_tokens = record.learn_tokens + rec.tokens
            fs.learn_ms = record.learn_ms + rec.wall_ms
        self.changes.append(variant)

    def _splice_in_place(self, ff: flowfile.FlowFile, spliced: Flow, rec: RecordingResult) -> None:
        """Same start page: the flow itself was wrong from the broken step on. Its file is edited (comments
        and formatting kept) unless someone changed it while the agent worked."""
        r, rel = self.result, self.result.flow or ""

        def change(current: flowfile.FlowFile) -> None:
            if current.text != ff.text:
                raise _Changed
            plain = flowfile.to_plain(spliced)
            for key in ("pages", "steps"):
                current.doc[key] = flowfile.merge_into(current.doc.get(key), plain.get(key, {}), key)

        path = self.m.store.path_of(rel)
        try:
            before, after = flowfile.update_flow(path, change)
        except _Changed:
            r.notes.append(f"{rel} changed while the agent worked: the finished steps were not stored")
            return
        r.patch = flowfile.unified_diff(before, after, rel, rel)
        if (pulled := provenance.of_flow(path)) is not None:  # a trusted pulled flow: the signer did not write this
            provenance.rewritten(pulled[0], path)

        def in_place(s: stats.Changes) -> None:
            fs = s.of(rel)
            fs.handovers += 1
            fs.consecutive_failures, fs.quarantined, fs.quarantine_reason = 0, None, None
            fs.learn_calls += rec.model_calls
            fs.learn_tokens += rec.tokens
            fs.learn_ms += rec.wall_ms
            fs.last_success = stats.now()
        self.changes.append(in_place)

    # ---- miss ---------------------------------------------------------------------------------

    def learn(self, quarantined: list[Pick]) -> None:
        m, r = self.m, self.result
        name = slug(PLACEHOLDER.sub(" ", self.template))[:48].strip("-")  # named after the task, not its values
        m.on_event(f"miss: no stored flow fits; the {m.agent_kind} agent does the task")
        rec = record_task(self.page, self.page.url, self.agent_task, self.values, self.specs, m._agent(),
                          name=name, max_steps=m.max_steps, on_action=m.on_action, redactor=self.redact,
                          timeouts=m.settings.timeouts)
        self._took(rec)
        r.extracted = self.redact.data(rec.extracted)
        if not rec.done:
            r.error = f"the {rec.agent} agent did not finish the task ({rec.status}): {rec.summary}; nothing stored"
            if not any(s.secret for s in self.specs.values()) and shows_password(self.page):
                r.error += f"; {HINT}"  # it was given nothing to sign in with: the session is what is missing
            return
        assert rec.flow is not None
        # re-recording a quarantined flow of this page replaces it; anything else is a new flow
        again = next((q for q in quarantined if q.similarity >= signature.SIMILAR), None)
        flow = rec.flow
        if is_sign_in_flow(flow):  # it keeps the user name it signed in with, to sign in later runs by itself
            flow = flow.model_copy(update={"inputs": plain_inputs(flow.inputs, self.values)})
        rel = m.store.add(flow.model_copy(update={"task": self.template}),
                          replace=again.entry.path if again else None)
        r.status, r.flow = "learned", rel
        if again:
            r.notes.append(f"re-recorded the quarantined {rel}")

        def learned(s: stats.Changes) -> None:  # a re-recorded flow starts its track record afresh
            s.flows[rel] = stats.FlowStats(learn_calls=rec.model_calls, learn_tokens=rec.tokens,
                                           learn_ms=r.duration_ms, last_success=stats.now())
        self.changes.append(learned)

    def _took(self, rec: RecordingResult) -> None:
        r = self.result
        r.recording = RecordingInfo(status=rec.status, summary=rec.summary, actions=len(rec.actions),
                                    model_calls=rec.model_calls, tokens=rec.tokens, wall_ms=rec.wall_ms)
        r.model_calls += rec.model_calls
        r.tokens += rec.tokens


class _Changed(Exception):
    """The flow file changed between the replay and the write."""
