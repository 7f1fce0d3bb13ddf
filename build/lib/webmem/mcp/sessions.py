"""Browsers for MCP clients, and the recording sessions they hold open.

A client the transport can tell apart (the stdio peer, an HTTP client with an MCP session) gets a
browser context of its own, kept between its calls while its browser is not needed elsewhere: a hit
costs what `Memory.do` costs, and the client's cookies (a sign-in) carry over from one task to the
next. A stateless HTTP client has no identity, so each of its `do` calls gets a fresh context. Browsers
are few (`max_browsers`) and are never held by an idle client: one without an open session gives its
browser (and its context) to the next client that needs one, the least recently used first.

A recording session belongs to the client that opened it: its id (unguessable) answers only to that
client; to another, it does not exist. It ends with `done`/`fail`, when its client leaves, or after
`session_timeout` without a call.

Sync Playwright objects may only be used from the thread that made them,
so each browser has a worker thread and everything that touches its pages runs there: a `do` is a job
on it, and on a miss (or a handover) `Memory.do` asks a `ClientAgent` for each action, whose
`next_action` blocks on a queue the client's tool calls feed. The recording loop, its validation and
the store writes are webmem's own (`record_task` under `Memory.do`).
"""

from __future__ import annotations

import logging
import queue
import secrets as tokens
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from webmem.browser import launch as browser
from webmem.browser.config import Settings
from webmem.browser.session import new_context
from webmem.cache.memory import DoResult, Memory
from webmem.errors import AgentError, SessionError, WebmemError
from webmem.flow.inputs import Redactor
from webmem.learn.agents.base import InputView, Outcome
from webmem.learn.agents.digest import Digest
from webmem.playback.heal import HealMode
from webmem.playback.run import one_line
from webmem.steps import Action

log = logging.getLogger("webmem.mcp")
CLOSED_KEPT = 1000  # closed sessions remembered, so a late call hears why rather than "no such session"


@dataclass
class Turn:
    """The page waits for the client's next action: what it looks like, and what the last action did."""

    digest: Digest
    outcome: Outcome | None = None
    progress: list[str] = field(default_factory=list)  # a handover: what the replay already did


@dataclass
class Finished:
    """The `do` is over: its result, or why it could not run (one line, secrets hidden)."""

    result: DoResult | None = None
    error: str | None = None


Event = Turn | Finished


class ClientAgent:
    """An `Agent` whose decisions are an MCP client's tool calls. Runs on the worker thread."""

    name = "mcp client"

    def __init__(self, events: queue.Queue[Event], timeout: float):
        self.events, self.timeout = events, timeout
        self.actions: queue.Queue[Action | None] = queue.Queue()
        self.model_calls = self.tokens = 0
        self.task = ""
        self.inputs: list[InputView] = []
        self.progress: list[str] = []
        self.outcome: Outcome | None = None
        self.timed_out = False

    def start(self, task: str, inputs: list[InputView], max_steps: int, progress: list[str] | None = None) -> None:
        self.task, self.inputs, self.progress = task, inputs, list(progress or [])

    def next_action(self, digest: Digest) -> Action:
        self.events.put(Turn(digest, self.outcome, self.progress))
        self.outcome = None
        try:
            action = self.actions.get(timeout=self.timeout)
        except queue.Empty:
            self.timed_out = True
            raise AgentError(f"no tool call for {self.timeout:g} s: the session timed out") from None
        if action is None:
            raise AgentError("the session was closed")
        return action

    def observe(self, outcome: Outcome) -> None:
        self.outcome = outcome


@dataclass
class Session:
    """A recording the client drives: a miss being learned, or a broken replay being finished."""

    id: str
    owner: str | None  # the client that opened it (None: a stateless client, which only the id stands for)
    task: str
    inputs: dict[str, bool]  # input -> secret
    shown: dict[str, Any]  # the inputs as the client may see them (secrets by name only)
    agent: ClientAgent
    events: queue.Queue[Event]
    origin: str = ""
    redact: Redactor = field(default_factory=Redactor)  # the secret values, for the server's eyes only
    turn: Turn | None = None
    busy: threading.Lock = field(default_factory=threading.Lock)
    over: threading.Event = field(default_factory=threading.Event)  # its do has ended and its browser is free

    def wait(self, timeout: float) -> Event:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise SessionError(f"the browser did not answer within {timeout:g} s") from None
        if isinstance(event, Turn):
            self.turn = event
        return event


Job = Callable[["Worker", Page, Memory], None]


@dataclass
class Work:
    """What a browser is asked to do: `job` for the client `key` (None: in a fresh context). A `job` of
    None only hands the browser back (the last client's context is closed)."""

    key: str | None
    job: Job | None


class Worker(threading.Thread):
    """A warm browser on a thread of its own, running one `do` at a time: in the context of the client it
    serves (`key`, kept for that client's next call), or else each in a fresh context opened ahead."""

    def __init__(self, pool: Browsers, key: str | None = None):
        super().__init__(name="webmem-mcp-browser", daemon=True)
        self.pool = pool
        self.key = key  # the client this browser serves now (changed under the pool's lock)
        self.used = time.monotonic()  # when its last do ended: the least recently used is given away first
        self.jobs: queue.Queue[Work | None] = queue.Queue()
        self.agent: ClientAgent | None = None  # the agent Memory hands a miss or a broken replay to
        self.session: Session | None = None  # the do it is running (a hit, or an open session)
        self.spare: Page | None = None
        self.failure: str | None = None

    def run(self) -> None:
        p = self.pool
        held: str | None = None  # the client whose context `spare` is (None: a fresh, unused one)
        try:
            with sync_playwright() as pw:
                b = browser.launch(pw, p.settings, headed=p.headed)
                memory = Memory(p.store, agent=self._agent, heal=p.heal, settings=p.settings,
                                on_event=lambda text: log.info("%s", text))
                while True:
                    if self.spare is None:
                        self.spare = new_context(b, p.settings).new_page()
                    try:
                        work = self.jobs.get(timeout=p.idle_timeout)
                    except queue.Empty:
                        if p.retire(self):
                            break
                        continue
                    if work is None:
                        break
                    if held is not None and work.key != held:  # the browser changes hands: no cookie crosses
                        self.spare.context.close()
                        self.spare, held = new_context(b, p.settings).new_page(), None
                    if work.job is None:
                        continue
                    if work.key is not None:  # the client's own context, kept for its next call ...
                        held = work.key
                        work.job(self, self.spare, memory)
                        with p.lock:
                            kept = self.key == held
                        if not kept:  # ... unless its session timed out: then the context goes with it
                            self.spare.context.close()
                            self.spare, held = None, None
                        continue
                    page, self.spare = self.spare, None
                    try:
                        work.job(self, page, memory)
                    finally:  # the do's context ends with it: a hit at once, a session at done/fail/timeout
                        page.context.close()
                b.close()
        except (WebmemError, PlaywrightError) as exc:
            self.failure = f"the browser failed: {one_line(exc)}"
            log.error("%s", self.failure)
            if self.session is not None:  # a call waiting for its answer gets this one
                self.session.events.put(Finished(error=self.failure))
        finally:
            p.retire(self, force=True)

    def _agent(self) -> ClientAgent:
        if self.agent is None:  # pragma: no cover - every job sets it before Memory.do runs
            raise AgentError("no client agent for this job")
        return self.agent


class Browsers:
    """Warm browsers for the clients' `do` calls, and the sessions open on them. No two clients ever
    share a context (cookies, storage): a known client has its own, a stateless call a fresh one."""

    def __init__(self, store: Path, settings: Settings, *, headed: bool = False, heal: HealMode = "local",
                 session_timeout: float = 300.0, call_timeout: float = 300.0, max_browsers: int = 4):
        self.store, self.settings, self.headed, self.heal = store, settings, headed, heal
        self.session_timeout, self.call_timeout = session_timeout, call_timeout
        self.idle_timeout = session_timeout  # a browser idle this long is closed (one shared one stays warm)
        self.max_browsers = max_browsers
        self.lock = threading.Lock()
        self.workers: list[Worker] = []
        self.sessions: dict[str, Session] = {}
        self.closed: dict[str, tuple[str | None, str]] = {}  # session id -> (its client, why it is closed)

    # ---- workers ------------------------------------------------------------------------------

    def _submit(self, key: str | None, job: Job, session: Session) -> None:
        with self.lock:
            w = self._browser_for(key)
            w.key, w.session = key, session  # the session before it starts: a browser that cannot start answers it
            w.jobs.put(Work(key, job))  # under the lock: a worker retiring now would see it
            if not w.is_alive() and w.ident is None:
                w.start()

    def _browser_for(self, key: str | None) -> Worker:
        """The browser for the client `key`'s next do (under the lock): its own; else an idle one (a
        shared one, whose fresh context costs nothing to adopt; a new one while there are fewer than
        `max_browsers`; else the one another client left idle longest, whose context is closed)."""
        mine = next((w for w in self.workers if key is not None and w.key == key), None)
        if mine is not None:
            if mine.session is not None:
                raise SessionError(f"session {mine.session.id} is still open: finish it with done or fail first")
            return mine
        idle = [w for w in self.workers if w.session is None and w.failure is None]
        shared = [w for w in idle if w.key is None]
        if shared:
            return next((w for w in shared if w.spare is not None), shared[0])
        if len(self.workers) < self.max_browsers:
            w = Worker(self, key)
            self.workers.append(w)
            return w
        if idle:
            w = min(idle, key=lambda w: w.used)
            log.info("a browser left idle by a client goes to another (its context is closed)")
            return w
        raise SessionError(f"all {self.max_browsers} browsers are busy with open sessions; finish one "
                           "(done or fail) or try again later")

    def warm(self, key: str | None = None) -> None:
        """Start a browser before the first call needs it (for the client `key`, or a shared one)."""
        with self.lock:
            if not any(w.key == key for w in self.workers) and len(self.workers) < self.max_browsers:
                w = Worker(self, key)
                self.workers.append(w)
                w.start()

    def retire(self, worker: Worker, *, force: bool = False) -> bool:
        """Let an idle browser go (after its idle time; of the shared ones one stays warm), or one that must
        stop; False if it is still wanted."""
        with self.lock:
            shared = [w for w in self.workers if w.key is None]
            if not force and (not worker.jobs.empty() or worker.session is not None
                              or (worker.key is None and len(shared) <= 1)):
                return False
            if worker in self.workers:
                self.workers.remove(worker)
            if worker.session is not None:
                self._close(worker.session, "its browser closed")
                worker.session.over.set()  # nobody waits for a browser that is gone
                worker.session = None
            return True

    def gone(self, key: str) -> None:
        """The client `key` has left (it ended its MCP session): its open session ends, nothing is stored, and
        its browser is free for the next client (its context closed)."""
        ending: list[Session] = []
        with self.lock:
            for w in self.workers:
                if w.key == key:
                    w.key = None
                    if w.session is not None:
                        self._close(w.session, "its client left")
                        w.session.agent.actions.put(None)
                        ending.append(w.session)
                    w.jobs.put(Work(None, None))
        for s in ending:  # returns once the browser is free: the next client's call finds it so
            s.over.wait(self.call_timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self.lock:
            workers = list(self.workers)
        for w in workers:
            if w.agent is not None:
                w.agent.actions.put(None)
            w.jobs.put(None)
        for w in workers:
            w.join(timeout)

    # ---- sessions -----------------------------------------------------------------------------

    def do(self, key: str | None, task: str, url: str, values: Mapping[str, Any], secrets: Mapping[str, str],
           origin: str = "") -> tuple[Session, Event]:
        """Run `Memory.do` in the client's context (`key`), or a fresh one. A hit (or an error) comes back
        finished; a miss or a handover comes back as the open session's first turn."""
        events: queue.Queue[Event] = queue.Queue()
        agent = ClientAgent(events, self.session_timeout)
        redact = Redactor([str(values[k]) for k in secrets if k in values])
        session = Session(id=tokens.token_urlsafe(16), owner=key, task=redact(task),
                          inputs={k: k in secrets for k in values},
                          shown={k: "(secret)" if k in secrets else v for k, v in values.items()},
                          agent=agent, events=events, origin=origin, redact=redact)

        def job(worker: Worker, page: Page, memory: Memory) -> None:
            worker.agent = agent
            event: Finished
            try:
                event = Finished(memory.do(page, task, values, url=url, secrets=secrets))
            except (WebmemError, PlaywrightError) as exc:
                event = Finished(error=redact(one_line(exc)))
            except Exception as exc:  # a bug: say so in one line, never the values
                log.error("do failed: %s", redact(one_line(exc)))
                event = Finished(error=f"internal error ({type(exc).__name__}); see the server log")
            worker.agent = None
            with self.lock:  # free before the answer goes out: the client's next do may come at once
                worker.session, worker.used = None, time.monotonic()
                self._close(session, "it timed out" if agent.timed_out else "it ended")
                if agent.timed_out:  # its context goes with it
                    worker.key = None
            session.over.set()
            events.put(event)

        self._submit(key, job, session)
        try:
            event = session.wait(self.call_timeout)
        except SessionError:
            agent.actions.put(None)
            raise
        if isinstance(event, Turn):
            with self.lock:
                if session.id not in self.closed:
                    self.sessions[session.id] = session
        return session, event

    def _close(self, session: Session, why: str) -> None:
        self.sessions.pop(session.id, None)
        self.closed.setdefault(session.id, (session.owner, why))
        while len(self.closed) > CLOSED_KEPT:  # a long-running server forgets the oldest
            del self.closed[next(iter(self.closed))]

    def session(self, sid: str, key: str | None) -> Session:
        """The open session `sid` of the client `key`. Another client's session does not exist for it, whether
        open or closed: the same answer as an id nobody was given."""
        with self.lock:
            s = self.sessions.get(sid)
            if s is not None and s.owner == key:
                return s
            owner, why = self.closed.get(sid, (None, ""))
            if why and owner == key:
                raise SessionError(f"session {sid} is closed ({why}); start again with do")
            raise SessionError(f"there is no session {sid!r}; do returns one on a miss or a handover")

    def act(self, session: Session, action: Action) -> Event:
        """Hand one (already validated) action to the recording and wait for what it did."""
        if not session.busy.acquire(blocking=False):
            raise SessionError(f"session {session.id} is busy with another call")
        try:
            if session.id not in self.sessions:
                why = self.closed.get(session.id, (None, "ended"))[1]
                raise SessionError(f"session {session.id} is closed ({why})")
            session.agent.actions.put(action)
            return session.wait(self.call_timeout)
        finally:
            session.busy.release()
