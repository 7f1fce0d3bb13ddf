"""webmem: muscle memory for browser automation.

The public face: a flow (`Flow`, `load_flow`, `save_flow`), demonstrating a task (`Recorder`), replaying it
with healing (`replay`, `Replayer`, `RunReport`), the behaviour cache (`Memory`, `DoResult`), and the errors.
Everything else is private by convention. What drives a browser is imported when first used, so loading and
checking flows (`load_flow`, `Flow`) needs no Playwright.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from webmem.errors import (
    AgentError,
    BrowserNotFound,
    ConfigError,
    DataFileError,
    Drifted,
    FlowFailed,
    FlowFormatError,
    InputError,
    InvalidAction,
    JournalError,
    ModelError,
    OriginError,
    PageError,
    RecordError,
    SelectorError,
    SessionError,
    StepFailed,
    StoreError,
    Unconfirmed,
    UsageError,
    WebmemError,
)
from webmem.flow.flowfile import FlowFile, load_flow, save_flow
from webmem.flow.format import Flow

if TYPE_CHECKING:
    from webmem.cache.memory import DoResult, Memory
    from webmem.learn.record import Recorder
    from webmem.playback.html import write_html
    from webmem.playback.replayer import Replayer, replay
    from webmem.playback.report import Drift, RunReport, StepReport

_LATER = {"DoResult": "webmem.cache.memory", "Memory": "webmem.cache.memory", "Recorder": "webmem.learn.record",
          "Replayer": "webmem.playback.replayer", "replay": "webmem.playback.replayer",
          "RunReport": "webmem.playback.report", "StepReport": "webmem.playback.report",
          "Drift": "webmem.playback.report", "write_html": "webmem.playback.html"}


def __getattr__(name: str) -> Any:
    """`webmem.Memory` and the others that drive a browser, imported on first use (PEP 562)."""
    if name not in _LATER:
        raise AttributeError(f"module 'webmem' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LATER[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AgentError", "BrowserNotFound", "ConfigError", "DataFileError", "DoResult", "Drift", "Drifted", "Flow",
    "FlowFailed", "FlowFile",
    "FlowFormatError", "InputError", "InvalidAction", "JournalError", "Memory", "ModelError", "OriginError",
    "PageError", "RecordError", "Recorder", "Replayer", "RunReport", "SelectorError", "SessionError", "StepFailed",
    "StepReport", "StoreError", "Unconfirmed", "UsageError", "WebmemError", "load_flow", "replay", "save_flow",
    "write_html",
]
__version__ = "0.1.0"
