"""webmem: muscle memory for browser automation."""

from webmem.flow import Flow
from webmem.flowfile import load_flow, save_flow
from webmem.memory import DoResult, Memory
from webmem.replay import RunOptions, run_flow

__all__ = ["DoResult", "Flow", "Memory", "RunOptions", "load_flow", "run_flow", "save_flow"]
__version__ = "0.1.0"
