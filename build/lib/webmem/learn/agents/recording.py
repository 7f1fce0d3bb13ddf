"""`record_task`: an agent does a task on a live page; every action it takes goes through the `Recorder`,
so what comes out is a flow that replays with no model.

The loop only ever executes actions that validated against the current page digest: an agent (or a
model behind it) cannot make webmem do anything else, whatever the page text says. Failed actions are
told back to the agent and never recorded; waits are carried out but not recorded (replay waits for
every element anyway), so the flow is the shortest path that worked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from pydantic import ValidationError

from webmem.browser.config import Timeouts
from webmem.errors import AgentError, InvalidAction, RecordError, WebmemError
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor, placeholders, spec_for
from webmem.flow.model import InputSpec, PageState, slug
from webmem.flow.urlpattern import origin_of
from webmem.learn.agents import digest as dg
from webmem.learn.agents.base import (
    ActionLog,
    Agent,
    Dismiss,
    Done,
    Fail,
    InputView,
    Outcome,
    RecordingResult,
    check_against,
)
from webmem.learn.record import Recorder
from webmem.page import guard
from webmem.steps import STEPS

DEFAULT_MAX_STEPS = 30


@dataclass
class Resume:
    """Continue a task a replay began and could not finish (a handover): the agent starts from the page
    as it is, knows what was done (in words), and page states the flow already knows keep their names."""

    pages: dict[str, PageState] = field(default_factory=dict)
    progress: list[str] = field(default_factory=list)


def record_task(
    page: Page,
    url: str,
    task: str,
    inputs: Mapping[str, Any] | None = None,
    specs: Mapping[str, InputSpec] | None = None,
    agent: Agent | None = None,
    *,
    name: str | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    on_action: Callable[[ActionLog], None] | None = None,
    redactor: Redactor | None = None,
    timeouts: Timeouts | None = None,
    resume: Resume | None = None,
) -> RecordingResult:
    """Open `url`, let `agent` do `task` with `inputs` (values by key; `specs` describe them, secrets
    included), and return the recording. `result.flow` is set only when the agent finished (`done`).

    Secret values go to the browser only: agents see them as `{{ key }}` placeholders, and `redactor`
    (built from the secrets when not given) scrubs them from digests, messages and logs.

    With `resume`, the page is not loaded: the agent continues from where it is, and the flow holds
    only the steps taken from there on."""
    from webmem.learn.agents.heuristic import HeuristicAgent

    values = dict(inputs or {})
    specs = {k: (specs or {}).get(k) or spec_for(values.get(k)) for k in {**values, **(specs or {})}}
    missing = [k for k in specs if k not in values]
    if missing:
        raise WebmemError(f"no value for input(s): {', '.join(missing)}")
    redact = redactor or Redactor.for_inputs(specs, values)
    agent = agent or HeuristicAgent()
    name = name or slug(task)[:48].strip("-")
    started = time.monotonic()
    rec = Recorder(page, name=name, task=task, inputs=values, specs=specs, base_url=origin_of(url), timeouts=timeouts,
                   redactor=redact)
    if resume is not None:
        rec.pages.update(resume.pages)
    views = [InputView(k, s, None if s.secret else values[k]) for k, s in specs.items()]
    result = RecordingResult(status="failed", agent=agent.name)

    def report(log: ActionLog) -> None:
        result.actions.append(log)
        if on_action is not None:
            on_action(log)

    try:
        if resume is None:
            agent.start(task, views, max_steps)
            rec.goto(url)
        else:
            agent.start(task, views, max_steps, progress=resume.progress)
        for n in range(1, max_steps + 1):
            guard.still_on(rec.origin, page)  # a page that left the task's site: stop (it gets nothing typed)
            digest = dg.take(page, redact)
            action = agent.next_action(digest)
            rejected = digest.marked_invalid if isinstance(action, Done) else []
            if rejected and isinstance(action, Done):
                # a form the site marked invalid is not a finished task: never store that as one
                log = ActionLog(n, "done", why=redact(action.summary), ok=False,
                                message=f"not done: the page marks these fields invalid: {', '.join(rejected)}; "
                                        "fix them, or call fail")
                report(log)
                agent.observe(Outcome(False, log.message))
                continue
            _scope(rec, None if isinstance(action, Done | Fail) else getattr(agent, "scope", None))
            if isinstance(action, Done):
                result.status, result.summary = "done", redact(action.summary)
                report(ActionLog(n, "done", why=result.summary))
                break
            if isinstance(action, Fail):
                result.summary = redact(action.reason)
                report(ActionLog(n, "fail", why=result.summary, ok=False))
                break
            log = ActionLog(n, action.name, why=redact(action.why) if action.why else None)
            try:
                check_against(action, digest)
                scope = getattr(agent, "scope", None)
                if scope is not None and scope[1] == -2:  # an "add another" to learn, not to click
                    el = digest.element(getattr(action, "element", -1))
                    log.element = f"{el.role} {el.title!r}" if el is not None else None
                    rec.add_another(dg.handle(page, getattr(action, "element", -1)), scope[0], click=False)
                    message = "learned (not clicked: the next row is on the page already)"
                else:
                    message = _execute(rec, page, action, digest, log)
                outcome = Outcome(True, message)
            # told back to the agent: what webmem refused, what the page refused, arguments a step model refused
            except (WebmemError, PlaywrightError, ValidationError) as exc:
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.ok, log.message = False, redact(text[:300])
                outcome = Outcome(False, log.message)
            report(log)
            agent.observe(outcome)
        else:
            result.status, result.summary = "budget", f"the step budget of {max_steps} ran out before the task was done"
    except (AgentError, WebmemError) as exc:
        result.status, result.summary = "error", redact(str(exc))
    except PlaywrightError as exc:
        result.status, result.summary = "error", redact(str(exc).strip().splitlines()[0])
    result.model_calls = getattr(agent, "model_calls", 0)
    result.tokens = getattr(agent, "tokens", 0)
    # resuming, an agent may find nothing left to do: "done" with no flow, the caller judges that
    result.extracted.update(rec.extracted)
    if result.status == "done" and rec.steps:
        try:
            result.flow = _finish(rec.flow(), values)
        except (RecordError, ValidationError) as exc:  # repeated rows that are no one item's template
            result.status, result.summary = "error", redact(str(exc))
    result.wall_ms = round((time.monotonic() - started) * 1000, 1)
    return result


def _scope(rec: Recorder, scope: tuple[str, int] | None) -> None:
    """Tell the recorder which list input's item (index -1 or -2: its "add another") the agent's next action is
    part of (an agent that enters repeated rows says so through its `scope`)."""
    try:
        if rec.in_item is not None and rec.in_item != scope:
            rec.end_item()  # (item 1 ends: the two items become one repeat block, or the reason they cannot)
        if scope is None:
            return
        over, index = scope
        if index == -1:  # (-2, an add control learned without clicking it, is the recorder's own step)
            rec.adding(over)
        elif index >= 0 and rec.in_item is None:
            rec.begin_item(over, index)
    except RecordError as exc:
        raise AgentError(str(exc)) from None


def _execute(rec: Recorder, page: Page, action: Any, digest: dg.Digest, log: ActionLog) -> str:
    """Carry out one validated action through the recorder, as its step kind does; the message goes back
    to the agent."""
    index = getattr(action, "element", None)
    el = digest.element(index) if index is not None else None
    if el is not None:
        log.element = f"{el.role} {el.title!r}" + (f" ({el.fp.attrs['value']})" if el.role == "radio"
                                                    and el.fp.attrs.get("value") else "")
    handle = dg.handle(page, index) if index is not None else None
    if isinstance(action, Dismiss):
        if handle is None:
            raise InvalidAction(f"dismiss: element [{index}] is no longer on the page")
        handler = rec.dismiss(handle)
        return f"dismissed the overlay ({handler.when}); replay will dismiss it whenever it shows up"
    message, log.value = STEPS[action.name].carry_out(rec, action, handle)
    return message


def _finish(flow: Flow, values: Mapping[str, Any]) -> Flow:
    """Inputs no step refers to stay declared (so the same --input list replays) but become optional,
    defaulting to the recorded value (never a secret's)."""
    used = set(placeholders(flow.model_dump_json()))
    used |= {k.partition(".")[0] for k in used}  # an item's field: its list input is used
    specs = {}
    for key, spec in flow.inputs.items():
        if key not in used:
            spec = spec.model_copy(update={"required": False,
                                           "default": None if spec.secret else values.get(key)})
        specs[key] = spec
    return flow.model_copy(update={"inputs": specs})
