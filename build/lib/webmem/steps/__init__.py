"""The step vocabulary: one registry of step kinds, each declared in its own module (its flow model, agent
action, the elements it fits, whether it navigates, how it is performed, read back and recorded).

Adding a kind: write its module here and list it in `KINDS`; the flow format's `Step` union, the agents'
tools, the MCP server's browser tools and the recorder's methods (its `on_mcp`, `on_recorder`), and what replay,
recording, commit detection, splicing and the store do with it all come from this registry.
"""

from __future__ import annotations

from webmem.flow.model import Fingerprint
from webmem.steps.base import Action, OnElement, StepKind
from webmem.steps.check import CheckKind, UncheckKind
from webmem.steps.click import ClickKind
from webmem.steps.expect import ExpectKind
from webmem.steps.extract import ExtractKind
from webmem.steps.fill import FillKind
from webmem.steps.goto import GotoKind
from webmem.steps.press import PressKind
from webmem.steps.repeat import RepeatKind
from webmem.steps.select import SelectKind
from webmem.steps.upload import UploadKind
from webmem.steps.wait_for import WaitForKind

# in the order the flow format lists them
KINDS: tuple[StepKind, ...] = (
    GotoKind(), ClickKind(), FillKind(), SelectKind(), CheckKind(), UncheckKind(), UploadKind(), PressKind(),
    WaitForKind(), ExtractKind(), ExpectKind(), RepeatKind(),
)
STEPS: dict[str, StepKind] = {k.name: k for k in KINDS}


def fits(action: str, fp: Fingerprint) -> bool:
    """Whether an element can take `action`."""
    k = STEPS.get(action)
    return k is None or k.fits(fp)


__all__ = ["KINDS", "STEPS", "Action", "OnElement", "StepKind", "fits"]
