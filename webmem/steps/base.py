"""What a step kind declares, in one place: its flow model, the action an agent takes for it, which elements
fit it, whether it may navigate, how it is performed and read back on a page during replay, and how it is
recorded when a person or an agent does it.

The step loop (webmem.playback.run), the recorder (webmem.learn.record) and the agents (webmem.learn.agents)
know no step kind by name: they ask the registry (webmem.steps.STEPS).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from webmem.browser.config import Timeouts
from webmem.errors import StepFailed
from webmem.flow.model import Expect, Fingerprint, StepModel

if TYPE_CHECKING:  # a flow loads its step kinds with no browser: Playwright is imported where a step acts
    from playwright.sync_api import ElementHandle, Locator, Page


# ---- what an agent may do (pydantic models: also the LLM's tool schemas) -----------------------------


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: ClassVar[str] = ""
    why: str | None = Field(None, description="one short sentence: why this action")

    @property
    def name(self) -> str:
        return type(self).tool


class OnElement(Action):
    element: int = Field(description="the element's number from the page digest")


# ---- what a step kind may use of the run that replays it, of the element found, of the recorder -------------
# (protocols, not the classes: those live in the layers above, which import this one)


class Replay(Protocol):
    """The replaying run, as a step kind sees it."""

    page: Page
    timeouts: Timeouts
    extracted: dict[str, Any]
    origin: str | None  # the flow's site: secrets are typed there only
    files_dir: str | None  # the folder a flow's literal upload path may name (None: only inputs' files)

    @property
    def redact(self) -> Callable[[str], str]: ...

    def render(self, template: str) -> str: ...

    def url_for(self, template: str) -> str: ...

    # `res`: the `Found` the step was given (typed Any: the run's own, a Resolution, is one)
    def read_back_later(self, index: int, res: Any, check: Callable[[str | None], bool]) -> bool: ...

    def guard_origin(self, url: str) -> None: ...

    def at_start(self, index: int, url: str) -> bool: ...

    def handler_up(self) -> bool: ...

    def expect(self, exp: Expect, timeout: int | None = None) -> None: ...


class Found(Protocol):
    """The element the step loop found and verified for a step (`webmem.page.locate.Resolution`)."""

    locator: Locator | ElementHandle | None  # an element handle: the very element a probe verified
    state: dict[str, Any]  # what the probe read of it (a field's value, a select's options)


class Recording(Protocol):
    """The recorder (`webmem.learn.record.Recorder`), as a step kind's `carry_out` uses it."""

    page: Page

    def act(self, kind: str, element: ElementHandle, **params: Any) -> StepModel | None: ...


# ---- the step kind --------------------------------------------------------------------------------------


class StepKind:
    """One kind of step. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    model: ClassVar[type[StepModel]]  # the flow file's model of the step: `{name: args, expect: ...}`
    action: ClassVar[type[Action] | None] = None  # the agent's tool for it (None: agents cannot take it)
    roles: ClassVar[frozenset[str] | None] = None  # the element roles it fits (None: any element)
    navigates: ClassVar[bool] = False  # the page may be another page state after it
    needs_enabled: ClassVar[bool] = False  # a disabled element cannot take it
    sets_state: ClassVar[bool] = False  # sets a field: re-doing it on the same field replaces the earlier step
    confirms: ClassVar[bool] = False  # recording keeps what it led to (a new URL, a confirmation) as `expect`
    # what the layers above used to decide by comparing action names (they read these instead):
    commits: ClassVar[bool] = False  # with no step marked `commit: true`, the last such step hands the data over
    opens_address: ClassVar[bool] = False  # its argument is an address: a new page state begins, a flow starts so
    asserts: ClassVar[bool] = False  # the step is an expectation itself (its arguments), not an action plus one
    holds_steps: ClassVar[bool] = False  # a block of steps (`args.steps`, `args.add`): a repeat
    reads_only: ClassVar[bool] = False  # reads the element, never acts on it: a disabled element can take it
    on_recorder: ClassVar[bool] = False  # `Recorder.<name>(element, ...)` records it (a person's or a test's call)
    on_mcp: ClassVar[bool] = False  # the MCP server offers its action as a browser tool in a recording session

    def fits(self, fp: Fingerprint) -> bool:
        """Whether an element can take this step (the one rule for verifying, healing and agents' actions)."""
        return self.roles is None or (fp.role or "") in self.roles

    # ---- replay ---------------------------------------------------------------------------------

    def perform(self, run: Replay, index: int, step: Any, res: Found) -> None:
        """Act on the element `res` found and verified, and read back what can be read back. Raise
        StepFailed when the page did not take it."""
        raise NotImplementedError(f"{self.name} steps have no target")

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        """A step with no target (a goto, an expectation, a key press on the page)."""
        raise StepFailed(f"{self.name}: this step needs a target")

    # ---- recording ------------------------------------------------------------------------------

    def record(self, rec: Recording, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        """Do the step on `handle` as a person or agent asked (`params`: its arguments, values as given) and
        return the step's arguments besides target and page, as the flow keeps them (values as templates)."""
        raise NotImplementedError(f"{self.name} cannot be recorded on an element")

    def kept(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        """The step's arguments as `record` returns them, for an action a person has already taken on `handle`
        (typing, a choice, a tick: `Recorder.act(..., done=True)`); nothing is done on the page."""
        from webmem.errors import RecordError

        raise RecordError(f"{self.name}: recorded only as it is done (the recorder does it)")

    def carry_out(self, rec: Recording, action: Any, handle: ElementHandle | None) -> tuple[str, str | None]:
        """Carry out an agent's validated action through the recorder: (message for the agent, the value to
        log). Element steps go through `Recorder.act` with the action's arguments."""
        assert handle is not None
        page = rec.page
        before = page.url
        params = {k: v for k, v in action.model_dump(exclude={"element", "why"}, by_alias=True).items()
                  if v is not None}  # an optional argument left out (a check bound to no input)
        step = rec.act(self.name, handle, **params)
        logged = getattr(step.args, "value", None) if step is not None else None
        if logged is None and params:
            logged = str(next(iter(params.values())))
        return (f"ok: now at {page.url}" if page.url != before else "ok"), logged

    def __repr__(self) -> str:
        return f"<step kind {self.name}>"


def require(res: Found) -> Locator | ElementHandle:
    assert res.locator is not None
    return res.locator
