"""What every recording agent shares: the actions it may take (pydantic models, which are also the LLM's
tool schemas), their validation against the current page digest, the agent protocol, and the result of
a recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webmem.flow.model import Flow, InputSpec
from webmem.learn.agents.digest import Digest
from webmem.page.locate import fits


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: ClassVar[str] = ""
    why: str | None = Field(None, description="one short sentence: why this action")

    @property
    def name(self) -> str:
        return type(self).tool


class _OnElement(_Action):
    element: int = Field(description="the element's number from the page digest")


class Click(_OnElement):
    """Click an element (button, link, radio, checkbox, tab...)."""

    tool: ClassVar[str] = "click"


class Fill(_OnElement):
    """Type a value into a text field (replacing what is there). For an input type `{{ key }}`."""

    tool: ClassVar[str] = "fill"
    value: str = Field(description="the text, or an input placeholder such as {{ email }}")


class Select(_OnElement):
    """Choose an option of a select element by its value or label."""

    tool: ClassVar[str] = "select"
    value: str = Field(description="the option's value or label, or an input placeholder")


class Check(_OnElement):
    """Tick a checkbox or choose a radio option."""

    tool: ClassVar[str] = "check"


class Uncheck(_OnElement):
    """Untick a checkbox."""

    tool: ClassVar[str] = "uncheck"


class Press(_OnElement):
    """Press a key (e.g. Enter) with an element focused."""

    tool: ClassVar[str] = "press"
    key: str = Field("Enter", description="a key name such as Enter, Tab, Escape, ArrowDown")


class Goto(_Action):
    """Open a URL on this site (a path like /customers or a full URL of the same origin)."""

    tool: ClassVar[str] = "goto"
    url: str


class WaitFor(_Action):
    """Wait until a text shows on the page (for content that loads late)."""

    tool: ClassVar[str] = "wait_for"
    text: str
    timeout_ms: int = Field(5000, ge=0, le=30000)


class Extract(_OnElement):
    """Read an element's text as a named result of the task."""

    tool: ClassVar[str] = "extract"
    as_: str = Field(alias="as", description="the result's name, e.g. record_id")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Done(_Action):
    """The task is complete: say what was done."""

    tool: ClassVar[str] = "done"
    summary: str


class Fail(_Action):
    """The task cannot be done: say why."""

    tool: ClassVar[str] = "fail"
    reason: str


Action = Click | Fill | Select | Check | Uncheck | Press | Goto | WaitFor | Extract | Done | Fail
ACTIONS: dict[str, type[_Action]] = {m.tool: m for m in (Click, Fill, Select, Check, Uncheck, Press, Goto,
                                                         WaitFor, Extract, Done, Fail)}

class InvalidAction(ValueError):
    """A proposed action that cannot be carried out; its message goes back to the agent."""


def parse_action(tool: str, arguments: str | dict[str, Any]) -> _Action:
    """A tool call as a validated action, or InvalidAction naming what is wrong."""
    import json

    model = ACTIONS.get(tool)
    if model is None:
        raise InvalidAction(f"unknown tool {tool!r}; the tools are: {', '.join(ACTIONS)}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidAction(f"{tool}: the arguments are not valid JSON ({exc.msg})") from None
    if not isinstance(arguments, dict):
        raise InvalidAction(f"{tool}: the arguments must be a JSON object")
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise InvalidAction(f"{tool}: {problems}") from None


def check_against(action: _Action, digest: Digest) -> None:
    """Raise InvalidAction if the action names no element of the digest or one of the wrong kind."""
    index = getattr(action, "element", None)
    if index is None:
        return
    el = digest.element(index)
    if el is None:
        top = max((e.index for e in digest.elements), default=-1)
        raise InvalidAction(f"{action.name}: there is no element [{index}] on this page (elements are 0..{top})")
    if not fits(action.name, el.fp):
        raise InvalidAction(f"{action.name}: element [{index}] is a {el.role}, not something you can {action.name}")
    if not el.enabled and action.name not in {"extract"}:
        raise InvalidAction(f"{action.name}: element [{index}] is disabled")


@dataclass
class InputView:
    """An input as an agent sees it: secrets by name only."""

    key: str
    spec: InputSpec
    value: Any = None  # None for secrets

    @property
    def placeholder(self) -> str:
        return "{{ " + self.key + " }}"


@dataclass
class Outcome:
    """What happened when the last action was carried out (told back to the agent)."""

    ok: bool
    message: str


class Agent(Protocol):
    """Decides the next action from the page digest; told each action's outcome."""

    name: str
    model_calls: int
    tokens: int

    def start(self, task: str, inputs: list[InputView], max_steps: int, progress: list[str] | None = None) -> None:
        """Begin a task. `progress` lists what was already done on this page (a replay that broke and
        handed over): the agent continues from the current page rather than starting over."""

    def next_action(self, digest: Digest) -> _Action: ...

    def observe(self, outcome: Outcome) -> None: ...


class AgentError(Exception):
    """The agent cannot go on (refused mapping, budget used up, model unreachable)."""


@dataclass
class ActionLog:
    """One executed (or refused) action, for the console and the result."""

    index: int
    action: str
    element: str | None = None  # what the element is, in words
    value: str | None = None  # as recorded (templates, never a secret)
    why: str | None = None
    ok: bool = True
    message: str = ""


@dataclass
class RecordingResult:
    status: Literal["done", "failed", "budget", "error"]
    flow: Flow | None = None
    summary: str = ""  # the agent's done summary, or why it stopped
    actions: list[ActionLog] = field(default_factory=list)
    model_calls: int = 0
    tokens: int = 0
    wall_ms: float = 0.0
    extracted: dict[str, Any] = field(default_factory=dict)
    agent: str = ""

    @property
    def done(self) -> bool:
        return self.status == "done" and self.flow is not None
