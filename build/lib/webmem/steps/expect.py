"""`expect`: a step that is only an assertion about the page (url, text, title, gone)."""

from __future__ import annotations

from typing import Any

from webmem.flow.model import Expect, StepModel
from webmem.steps.base import Replay, StepKind


class ExpectStep(StepModel):
    expect: Expect  # required here: the step is the assertion itself


class ExpectKind(StepKind):
    name = "expect"
    asserts = True
    model = ExpectStep

    def perform_untargeted(self, run: Replay, index: int, step: Any) -> None:
        run.expect(step.expect)
