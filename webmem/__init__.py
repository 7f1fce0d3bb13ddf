"""webmem: muscle memory for browser automation.

The public face: a flow (`Flow`, `load_flow`, `save_flow`), demonstrating a task (`Recorder`), replaying it
with healing (`replay`, `Replayer`, `RunReport`), the behaviour cache (`Memory`, `DoResult`), and the errors.
Everything else is private by convention.
"""

from webmem.cache.memory import DoResult, Memory
from webmem.errors import (
    AgentError,
    BrowserNotFound,
    ConfigError,
    DataFileError,
    FlowFailed,
    FlowFormatError,
    InputError,
    InvalidAction,
    ModelError,
    OriginError,
    PageError,
    SelectorError,
    StepFailed,
    StoreError,
    WebmemError,
)
from webmem.flow.flowfile import FlowFile, load_flow, save_flow
from webmem.flow.format import Flow
from webmem.learn.record import Recorder
from webmem.playback.replayer import Replayer, replay
from webmem.playback.report import RunReport, StepReport

__all__ = [
    "AgentError", "BrowserNotFound", "ConfigError", "DataFileError", "DoResult", "Flow", "FlowFailed", "FlowFile",
    "FlowFormatError", "InputError", "InvalidAction", "Memory", "ModelError", "OriginError", "PageError", "Recorder",
    "Replayer", "RunReport", "SelectorError", "StepFailed", "StepReport", "StoreError", "WebmemError", "load_flow",
    "replay", "save_flow",
]
__version__ = "0.1.0"
