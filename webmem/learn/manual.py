"""Recording a task a person demonstrates by hand in a browser (`webmem record URL --manual`).

The page runs `webmem/page/js/manual.js`: it holds back each click and Enter the person makes and reports it
with the element, and reports a field's final value when the person leaves it, a select's choice and a tick.
Each report becomes a step through the same `Recorder` as every other recording (intent, ranked selectors,
fingerprint, page state; values given as inputs become `{{ key }}`). A click or Enter is learned on the page as
it is *before* the action (it may leave the page), then the recorder does it, as for an agent; typing, a choice
and a tick are kept as the person did them (`Recorder.act(..., done=True)`), never done again (no focus taken
from the person).

A toolbar in the page (a closed shadow root, hidden while a step is recorded) or keys mark the commit point
(Alt+Shift+C: the latest click or key press), add an assertion (Alt+Shift+T: the selected text must show;
Alt+Shift+U: the page must be at this URL) and end the recording (Alt+Shift+E, or closing the window).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from playwright.sync_api import ElementHandle, Frame, Page
from playwright.sync_api import Error as PlaywrightError

from webmem.browser.config import Timeouts
from webmem.errors import RecordError, WebmemError
from webmem.flow.format import Flow
from webmem.flow.inputs import Redactor
from webmem.flow.model import InputSpec
from webmem.learn.record import Recorder

BINDING = "__webmemManual"
CONTROL = "window.__webmemManualCtl"
POLL_MS = 50  # how often the loop gives Playwright the chance to deliver the page's reports
DEFAULT_LIMIT = 30 * 60.0  # a recording nobody ends stops after this many seconds (what was recorded is kept)


@dataclass
class Report:
    """One thing the person did, as the page reported it."""

    kind: str  # click, check, uncheck, fill, select, press, commit, expect_text, expect_url, end
    frame: Frame
    element: int | None = None
    value: str | None = None
    label: str | None = None
    key: str | None = None


@dataclass
class ManualResult:
    flow: Flow
    ended: str  # "end" (the person ended it), "closed" (the window was closed), "limit" (time ran out)
    notes: list[str] = field(default_factory=list)  # reports that could not be recorded, and why


def script() -> str:
    return resources.files("webmem.page").joinpath("js/manual.js").read_text(encoding="utf-8")


def record_by_hand(
    page: Page,
    url: str,
    task: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    name: str,
    specs: Mapping[str, InputSpec] | None = None,
    secrets: Collection[str] | Mapping[str, str] = (),
    timeouts: Timeouts | None = None,
    redactor: Redactor | None = None,
    limit: float = DEFAULT_LIMIT,
    on_step: Callable[[str], None] | None = None,
) -> ManualResult:
    """Open `url` on `page` and record what a person does there until they end it (toolbar, Alt+Shift+E, or
    closing the window) or `limit` seconds pass. Returns the flow (steps recorded through `Recorder`)."""
    rec = Recorder(page, name=name, task=task, inputs=inputs, specs=specs, secrets=secrets, timeouts=timeouts,
                   redactor=redactor)
    queue: list[Report] = []

    def reported(source: dict[str, Any], message: Any) -> None:
        if isinstance(message, dict) and isinstance(message.get("kind"), str):
            queue.append(Report(kind=message["kind"], frame=source["frame"], element=message.get("element"),
                                value=message.get("value"), label=message.get("label"), key=message.get("key")))

    page.expose_binding(BINDING, reported)
    page.add_init_script(script=script())
    say = on_step or (lambda _text: None)
    rec.goto(url)
    say(f"opened {rec.here()}")
    notes: list[str] = []
    deadline = time.monotonic() + limit
    ended = "limit"
    while time.monotonic() < deadline:
        if page.is_closed():
            ended = "closed"
            break
        if not queue:
            try:
                page.wait_for_timeout(POLL_MS)  # Playwright delivers the page's reports while it waits
            except PlaywrightError:
                ended = "closed"
                break
            continue
        report = queue.pop(0)
        if report.kind == "end":
            ended = "end"
            break
        _control(page, "busy", True)
        try:
            said = _take(rec, report)
            say(rec.redact(said))
        except (WebmemError, PlaywrightError) as exc:
            note = rec.redact(f"{report.kind}: not recorded: {str(exc).splitlines()[0]}")
            notes.append(note)
            say(note)
            if report.element is not None:  # a click or Enter the recorder did not do: the person's next one is seen
                with contextlib.suppress(PlaywrightError):
                    report.frame.evaluate(f"n => {CONTROL}.drop(n)", report.element)
        finally:
            _control(page, "busy", False)
            _control(page, "say", f"webmem: {len(rec.steps)} steps")
    return ManualResult(flow=rec.flow(), ended=ended, notes=notes)


def _take(rec: Recorder, report: Report) -> str:
    """Record one report through the recorder; what was recorded, in words."""
    if report.kind == "commit":
        step = rec.mark_commit()
        return f"commit point: {step.target.intent}" if step.target else "commit point marked"
    if report.kind == "expect_url":
        here = rec.here()
        rec.expect_page(url=here)
        return f"expect the URL {here}"
    if report.kind == "expect_text":
        text = (report.value or "").strip()
        if not text:
            raise RecordError("expect text: select the text on the page first")
        rec.expect_page(text=text)
        return f"expect the text {text!r}"
    element = _element(report)
    if report.kind == "fill":
        step = rec.act("fill", element, done=True, value=report.value or "")
    elif report.kind == "select":
        step = rec.act("select", element, done=True, value=_choice(rec, report))
    elif report.kind in ("check", "uncheck"):
        step = rec.act(report.kind, element, done=True)
    elif report.kind == "click":
        step = rec.click(element)
    elif report.kind == "press":
        step = rec.press(element, report.key or "Enter")
    else:
        raise RecordError(f"the page reported an unknown action {report.kind!r}")
    value = getattr(step.args, "value", None)
    return f"{report.kind} {step.target.intent if step.target else ''}{f' = {value}' if value else ''}"


def _element(report: Report) -> ElementHandle:
    if report.element is None:
        raise RecordError("the page reported no element")
    try:
        handle = report.frame.evaluate_handle(f"n => {CONTROL}.el(n)", report.element).as_element()
    except PlaywrightError:
        handle = None  # the document it was on is gone (an earlier step navigated)
    if handle is None:
        raise RecordError("the element is gone from the page (an earlier step left it)")
    return handle


def _choice(rec: Recorder, report: Report) -> str:
    """The option as the flow keeps it: the one of its value and label that is an input's value (so it becomes
    the placeholder), else the label people read."""
    given = {str(v) for v in rec.plain_values().values()}
    for text in (report.value, report.label):
        if text and text in given:
            return text
    return report.label or report.value or ""


def _control(page: Page, fn: str, arg: Any) -> None:
    with contextlib.suppress(PlaywrightError):  # a page between two documents: the new one starts afresh
        page.evaluate(f"([fn, arg]) => {CONTROL} && {CONTROL}[fn](arg)", [fn, arg])

