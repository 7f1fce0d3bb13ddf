"""The errors webmem reports to people: each names the file, step or field it is about."""

from __future__ import annotations


class WebmemError(Exception):
    """Base for every error meant to be shown as one clear line (never a traceback)."""

    exit_code = 2


class ConfigError(WebmemError):
    pass


class BrowserNotFound(WebmemError):
    pass


class FlowFormatError(WebmemError):
    """A flow file that cannot be loaded: names the file, the step and the field."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid flow file\n{lines}")


class InputError(WebmemError):
    """Inputs that do not fit the flow's input schema; raised before any browser starts."""


class OriginError(WebmemError):
    """A run that would leave the flow's origin (credentials must not go to another site)."""


class StepFailed(WebmemError):
    """A step could not be carried out on the page; the run stops here."""

    exit_code = 1


class PageError(WebmemError):
    """The page a task starts on cannot be opened (unreachable, refused, timed out)."""

    exit_code = 1
