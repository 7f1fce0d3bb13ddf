"""What every recording agent shares: the actions it may take (pydantic models, which are also the LLM's
tool schemas), their validation against the current page digest, the agent protocol, and the result of
a recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from pydantic import ValidationError

from webmem.errors import InvalidAction
from webmem.flow.format import Flow
from webmem.flow.model import InputSpec
from webmem.learn.agents.digest import Digest
from webmem.steps import KINDS, STEPS, Action, OnElement, fits


class Done(Action):
    """The task is complete: say what was done."""

    tool: ClassVar[str] = "done"
    summary: str


class Fail(Action):
    """The task cannot be done: say why."""

    tool: ClassVar[str] = "fail"
    reason: str


class Dismiss(OnElement):
    """Close an overlay that is in the way and not part of the task (a cookie banner, a newsletter or
    confirmation popup): name its close or accept button. It becomes a handler of the flow (dismissed
    whenever it shows up again), not a step."""

    tool: ClassVar[str] = "dismiss"


# an agent's tools: one per step kind an agent may take (from the registry), then dismiss, done and fail
ACTIONS: dict[str, type[Action]] = {
    **{k.action.tool: k.action for k in KINDS if k.action is not None}, Dismiss.tool: Dismiss, Done.tool: Done,
    Fail.tool: Fail}


def parse_action(tool: str, arguments: str | dict[str, Any]) -> Action:
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


def check_against(action: Action, digest: Digest) -> None:
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
    kind = STEPS.get(action.name)  # dismiss is no step kind: it clicks
    if not el.enabled and not (kind is not None and kind.reads_only):
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

    @property
    def model_calls(self) -> int: ...

    @property
    def tokens(self) -> int: ...

    def start(self, task: str, inputs: list[InputView], max_steps: int, progress: list[str] | None = None) -> None:
        """Begin a task. `progress` lists what was already done on this page (a replay that broke and
        handed over): the agent continues from the current page rather than starting over."""

    def next_action(self, digest: Digest) -> Action: ...

    def observe(self, outcome: Outcome) -> None: ...


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
