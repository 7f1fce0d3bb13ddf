"""webmem: muscle memory for browser automation.

The public face: a flow (`Flow`, `load_flow`, `save_flow`), the browser webmem finds (`launch`), demonstrating
a task (`Recorder`, `record_by_hand`, `import_script`), replaying it with healing (`replay`, `Replayer`,
`RunReport`), the behaviour cache (`Memory`, `DoResult`), sharing flows between teams (`pack`, `push`,
`pull`), and the errors. Everything else is private by convention. What drives a browser is imported when
first used, so loading and checking flows (`load_flow`, `Flow`) needs no Playwright.
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
    MissingExtra,
    ModelError,
    OriginError,
    PageError,
    RecordError,
    RegistryError,
    ScriptError,
    SelectorError,
    SessionError,
    StepFailed,
    StoreError,
    TrustRefused,
    Unconfirmed,
    UsageError,
    WebmemError,
)
from webmem.flow.flowfile import FlowFile, load_flow, save_flow
from webmem.flow.format import Flow
from webmem.version import VERSION

if TYPE_CHECKING:
    from webmem.browser.launch import launch
    from webmem.cache.memory import DoResult, Memory
    from webmem.learn.manual import ManualResult, record_by_hand
    from webmem.learn.record import Recorder
    from webmem.playback.html import write_html
    from webmem.playback.replayer import Replayer, replay
    from webmem.playback.report import Drift, RunReport, StepReport
    from webmem.script.exporter import export_flow
    from webmem.script.importer import ImportResult, import_script
    from webmem.share.bundle import pack
    from webmem.share.install import pull
    from webmem.share.oci import push

_LATER = {"launch": "webmem.browser.launch", "DoResult": "webmem.cache.memory", "Memory": "webmem.cache.memory",
          "Recorder": "webmem.learn.record",
          "Replayer": "webmem.playback.replayer", "replay": "webmem.playback.replayer",
          "RunReport": "webmem.playback.report", "StepReport": "webmem.playback.report",
          "record_by_hand": "webmem.learn.manual", "ManualResult": "webmem.learn.manual",
          "import_script": "webmem.script.importer", "ImportResult": "webmem.script.importer",
          "export_flow": "webmem.script.exporter",
          "pack": "webmem.share.bundle", "pull": "webmem.share.install", "push": "webmem.share.oci",
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
    "FlowFailed", "FlowFile", "FlowFormatError", "ImportResult", "InputError", "InvalidAction", "JournalError",
    "ManualResult", "Memory", "MissingExtra", "ModelError", "OriginError", "PageError", "RecordError", "Recorder",
    "RegistryError", "Replayer", "RunReport", "ScriptError", "SelectorError", "SessionError", "StepFailed",
    "StepReport", "StoreError", "TrustRefused", "Unconfirmed", "UsageError", "WebmemError", "export_flow",
    "import_script", "launch", "load_flow", "pack", "pull", "push", "record_by_hand", "replay", "save_flow",
    "write_html",
]
__version__ = VERSION
