"""webmem: muscle memory for browser automation."""

from webmem.cache.memory import DoResult, Memory
from webmem.flow.flowfile import load_flow, save_flow
from webmem.flow.model import Flow
from webmem.replay.run import RunOptions, run_flow

__all__ = ["DoResult", "Flow", "Memory", "RunOptions", "load_flow", "run_flow", "save_flow"]
__version__ = "0.1.0"
