"""The model: any OpenAI-compatible chat-completions endpoint through the `openai` package.

`OPENAI_API_KEY` and `OPENAI_BASE_URL` select the endpoint (hosted, vLLM, Ollama, llama.cpp server);
the model comes from `--model`, `WEBMEM_MODEL` or webmem.json. Retries with backoff on
rate limits and server errors are the client's own; an authentication error stops at once.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from webmem.errors import ModelError
from webmem.extras import check, require


def configured(model: str | None) -> bool:
    return bool(model) and bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))


class Model:
    """A chat model with call and token counters."""

    def __init__(self, name: str, *, max_retries: int = 3, timeout: float = 60.0, token_budget: int | None = None):
        if not name:
            raise ModelError(
                "no model configured: pass --model, set WEBMEM_MODEL, or `model` in webmem.json"
            )
        check("openai")  # said where the model is chosen, before a browser starts; imported at the first call
        self.name = name
        self.max_retries, self.timeout = max_retries, timeout
        self.calls = 0
        self.tokens = 0
        self.token_budget = token_budget

    @cached_property
    def client(self) -> Any:
        """Built at the first call (some 30 ms of CPU): a replay with llm healing that needs no heal, say a
        batch row, never pays for it."""
        openai = require("openai")
        return openai.OpenAI(
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",  # local servers often need none
            base_url=os.environ.get("OPENAI_BASE_URL") or None,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )

    def chat(self, messages: list[dict[str, Any]], **kw: Any) -> Any:
        openai = require("openai")

        if self.token_budget is not None and self.tokens >= self.token_budget:
            raise ModelError(f"token budget of {self.token_budget} used up ({self.tokens} tokens)")
        self.calls += 1
        try:
            response = self.client.chat.completions.create(model=self.name, messages=messages, **kw)
        except openai.AuthenticationError:
            raise ModelError("the model endpoint refused the API key (check OPENAI_API_KEY)") from None
        except openai.PermissionDeniedError as exc:
            raise ModelError(f"the model endpoint denied the request: {exc.message}") from None
        except openai.NotFoundError:
            raise ModelError(f"model {self.name!r} not found at the endpoint") from None
        except openai.APIConnectionError:
            raise ModelError("cannot reach the model endpoint (check OPENAI_BASE_URL)") from None
        except openai.APIStatusError as exc:
            raise ModelError(f"the model endpoint failed after retries: HTTP {exc.status_code}") from None
        except openai.APIError as exc:
            raise ModelError(f"the model call failed: {exc}") from None
        usage = getattr(response, "usage", None)
        if usage is not None and usage.total_tokens:
            self.tokens += int(usage.total_tokens)
        if not getattr(response, "choices", None):
            raise ModelError("the model answered with no choices")
        return response
