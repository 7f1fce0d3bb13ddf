"""A step's page work as one explicit value (webmem.playback.run): what the step asks the page along with its
first in-page call (the last step's read-back riding along, a probe of its target with the page check) and
what came back, made new for each step and passed from call to call; and how the page last compared with a
learned page state, which the steps after it on the same page state and address share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from webmem.flow.model import Signature, Target
from webmem.page import inpage
from webmem.page.locate import Probed, Resolution


@dataclass
class ReadBack:
    """A field's read-back a step left for the next one to make along with its first in-page call (one round
    trip fewer per field): the step that typed (`index`), what found the field, and the check of what it held."""

    index: int
    res: Resolution
    check: Callable[[str | None], bool]
    along: inpage.ReadAlong


@dataclass
class Pending:
    """A careful page state's signature to take once its target shows: where to keep it, under what name, and
    when (the page's clock) the one the page check observed was taken."""

    into: dict[str, Signature]
    key: str
    taken_at: float | None


@dataclass
class PageCheck:
    """How the page compared with a learned page state at an address. Valid for the steps that follow on the
    same page state and address until one may have changed the page (`key` None then; `careful` still says
    how the last page compared, for a step with no page state)."""

    key: tuple[str, str] | None = None  # (page state, URL) compared
    match: str = ""  # how it compared, in words
    careful: bool = False  # not the learned page state: every target verifies on its own evidence
    pending: Pending | None = None  # taken by the first step on it that has a target


@dataclass
class StepWork:
    """One step's page work, made new for each step the run does (skipped steps make none)."""

    index: int  # the step's place in the plan
    page: str | None  # its page state (None: it opens an address, or names none)
    last_page: str | None  # ...and the last step's (None after a step that opened an address)
    target: Target | None  # its target, rendered with the run's values
    carried: ReadBack | None = None  # the last step's read-back, riding along this step's first in-page call
    probed: Probed | None = None  # its target probed along with the page check (its resolve's first look)
    leaves: ReadBack | None = None  # this step's read-back, for the next step to carry
    handled: list[str] = field(default_factory=list)  # what the flow's overlay handlers clicked during it
    refused: str | None = None  # ...or why one left an overlay alone (not on its page)

    def along(self) -> inpage.ReadAlong | None:
        """The carried read-back, for a call of this step to make (one that did already is passed on as made:
        nothing is read twice)."""
        return self.carried.along if self.carried is not None else None

    def passed_on(self) -> ReadBack | None:
        """What the next step carries: this step's read-back, or the one it carried and did not check."""
        return self.leaves if self.leaves is not None else self.carried
