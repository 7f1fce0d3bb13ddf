"""Every error webmem reports, in one hierarchy: each names the file, step or field it is about, and is shown
as one clear line (never a traceback). `exit_code` is what the command line exits with: 2 for bad usage or
input (reported before any browser starts), 1 for work that failed on the page or at the model, 3 for a run
that handed its data over (its commit step acted) and then failed: committed, unconfirmed; 4 for a run that
passed but healed or drifted where the caller asked to fail on that (`--fail-on-heal`, `--fail-on-drift`).

    WebmemError
    ├── ConfigError          webmem.json (or the old playwright.config.json) or the environment
    ├── MissingExtra         an optional part whose packages are not installed (`pip install 'webmem[X]'`)
    ├── UsageError           an argument a call does not take (also a ValueError)
    ├── BrowserNotFound      no Chromium to launch
    ├── FlowFormatError      a flow file that cannot be loaded
    ├── SelectorError        a selector outside the grammar (a ValueError: a flow field's problem)
    ├── InputError           inputs that do not fit the flow
    ├── DataFileError        a file of rows that cannot be read
    ├── JournalError         a batch run's journal cannot be opened, or a row's claim was lost
    ├── OriginError          a run that would leave the flow's site
    ├── StoreError           the flow store or its statistics
    ├── TrustRefused         a shared bundle the user's trust refuses (nothing of it is stored)
    ├── RegistryError        an OCI registry or folder a bundle cannot be pushed to or pulled from
    ├── PageError            the page a task starts on cannot be opened
    ├── ModelError           the model endpoint failed or answered nonsense
    ├── RecordError          a demonstration that cannot be recorded as done (also a ValueError)
    ├── ScriptError          a Playwright script that cannot be imported, or a flow that cannot be exported
    ├── AgentError           an agent cannot go on
    │   └── InvalidAction    one proposed action that cannot be carried out (told back to the agent)
    ├── SessionError         an MCP tool call that cannot be carried out (`webmem mcp`)
    ├── StepFailed           a step could not be carried out on the page
    └── FlowFailed           a replay that did not pass, raised by `check=True`
        ├── Unconfirmed      ...whose commit step acted before it failed: committed, unconfirmed (exit 3)
        └── Drifted          ...that passed, but healed or drifted where the caller fails on it (exit 4)
"""

from __future__ import annotations

from typing import Any


class WebmemError(Exception):
    """Base for every error meant to be shown as one clear line (never a traceback)."""

    exit_code = 2


class ConfigError(WebmemError):
    pass


class MissingExtra(WebmemError):
    """A call that needs an optional part of webmem whose packages are not installed; the message names the
    `pip install 'webmem[EXTRA]'` to run (webmem.extras.require)."""

    def __init__(self, message: str, extra: str):
        super().__init__(message)
        self.extra = extra


class BrowserNotFound(WebmemError):
    pass


class UsageError(WebmemError, ValueError):
    """An argument a call does not take (a heal mode, options that exclude each other, an agent's kind); a
    ValueError too, as a Python caller expects of a bad argument."""


class RecordError(WebmemError, ValueError):
    """A demonstration that cannot be recorded as it was done: an element no selector singles out, a value no
    option or yes/no matches, list items recorded out of order. A ValueError too, as it was before."""


class ScriptError(WebmemError):
    """A Playwright script that cannot be imported (a line webmem cannot translate, a step the page refused)."""


class FlowFormatError(WebmemError):
    """A flow file that cannot be loaded: names the file, the step and the field."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid flow file\n{lines}")


class SelectorError(WebmemError, ValueError):
    """A selector outside the grammar; as a ValueError, a flow's validation reports it as the field's problem."""


class InputError(WebmemError):
    """Inputs that do not fit the flow's input schema; raised before any browser starts."""


class DataFileError(WebmemError):
    """A file of input rows (test data, a batch) that cannot be read."""


class JournalError(WebmemError):
    """A batch run's journal (SQLite or PostgreSQL) cannot be opened or used, or a worker lost a row's claim."""


class OriginError(WebmemError):
    """A run that would leave the flow's origin (credentials must not go to another site)."""


class StoreError(WebmemError):
    """The flow store or its statistics cannot be read or written."""


class TrustRefused(WebmemError):
    """A bundle the user's trust refuses: a bad signature, a signature by another key than the one listed for
    the signer it names, a file altered or added after signing, a flow acting on a site its manifest does not
    name or the user did not allow. Nothing of it is stored."""


class RegistryError(WebmemError):
    """An OCI registry (or folder) a bundle cannot be pushed to or pulled from."""

    exit_code = 1


class PageError(WebmemError):
    """The page a task starts on cannot be opened (unreachable, refused, timed out)."""

    exit_code = 1


class ModelError(WebmemError):
    """The model endpoint refused, failed, or answered something that is not an answer."""

    exit_code = 1


class AgentError(WebmemError):
    """The agent cannot go on (refused mapping, budget used up, model unreachable)."""

    exit_code = 1


class InvalidAction(AgentError):
    """A proposed action that cannot be carried out; its message goes back to the agent."""


class SessionError(WebmemError):
    """A tool call of the MCP server that cannot be carried out (one sentence, for the client)."""


class StepFailed(WebmemError):
    """A step could not be carried out on the page. `resolution` says what the page offered, `page_match` how
    the page compared with the learned one, `unmet` (for an expectation) the fields that did not hold."""

    exit_code = 1

    def __init__(self, message: str, resolution: Any = None, page_match: str | None = None,
                 unmet: list[str] | None = None):
        super().__init__(message)
        self.resolution = resolution
        self.page_match = page_match
        self.unmet = unmet or []


class FlowFailed(WebmemError):
    """A replay that did not pass (raised by `check=True`); the message explains the broken step and `report`
    holds the whole run."""

    exit_code = 1

    # `report`: a webmem.playback.report.RunReport (not imported: this module is the bottom layer, imports none)
    def __init__(self, message: str, report: Any = None):
        super().__init__(message)
        self.report = report


class Unconfirmed(FlowFailed):
    """Committed, unconfirmed: the commit step acted (the data was handed to the server), then a later step or
    expectation failed. It may have landed: check on the site (batch: `verify:`) before entering it again."""

    exit_code = 3


class Drifted(FlowFailed):
    """A run that passed, but a step used a fallback selector, met a page unlike the learned one, or was healed,
    where the caller asked to fail on that (`--fail-on-drift`, `--fail-on-heal`): in CI, a flow that no longer
    matches its page is a finding, not a silent pass. Its repairs (if any) were proposed or written as asked."""

    exit_code = 4
