"""The commit point: the step that hands the data to the server. It splits a run in two: a failure before it
changed nothing on the server (enter again freely); a failure after it acted means "committed, unconfirmed"
(report it as such, never enter again blindly: verify)."""

from __future__ import annotations

from webmem.flow.format import Flow
from webmem.steps import STEPS


def commit_index(flow: Flow) -> int:
    """The step that hands the row to the server: the one marked `commit: true`, else the last click
    or key press (the submit before the confirmation), else the last step."""
    marked = [i for i, s in enumerate(flow.steps) if s.commit]
    if marked:
        return marked[0]
    clicks = [i for i, s in enumerate(flow.steps) if STEPS[s.action].commits]
    return clicks[-1] if clicks else len(flow.steps) - 1


def past_commit(at: int, index: int, acted: bool) -> bool:
    """Whether a run that failed at step `index` (0-based) had handed its data over, the commit step being
    `at` (`commit_index`): the commit step acted (a later step failed, or its own expectation did)."""
    return index > at or (index == at and acted)
