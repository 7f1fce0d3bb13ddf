"""Recording agents: an LLM (any OpenAI-compatible endpoint) or the offline heuristic does a task on a
live page, and `record_task` turns what it did into a flow through the shared `Recorder`."""

from __future__ import annotations

from webmem.errors import AgentError, UsageError
from webmem.learn.agents.base import ActionLog, Agent, InputView, Outcome, RecordingResult
from webmem.learn.agents.heuristic import HeuristicAgent
from webmem.learn.agents.llm import SYSTEM_PROMPT, LLMAgent
from webmem.learn.agents.recording import DEFAULT_MAX_STEPS, Resume, record_task

__all__ = [
    "DEFAULT_MAX_STEPS", "SYSTEM_PROMPT", "ActionLog", "Agent", "AgentError", "HeuristicAgent", "InputView",
    "LLMAgent", "Outcome", "RecordingResult", "Resume", "make_agent", "record_task",
]


def make_agent(kind: str, model: str | None = None, *, max_retries: int = 3,
               token_budget: int | None = 200_000) -> Agent:
    """`openai` (needs a model name) or `heuristic`."""
    if kind == "heuristic":
        return HeuristicAgent()
    if kind == "openai":
        from webmem.llm import Model

        return LLMAgent(Model(model or "", max_retries=max_retries, token_budget=token_budget))
    raise UsageError(f"unknown agent {kind!r} (openai or heuristic)")
