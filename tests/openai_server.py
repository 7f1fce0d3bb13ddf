"""A small OpenAI-compatible chat-completions server on 127.0.0.1 that answers from a script.

Each script entry answers one POST /v1/chat/completions: a tool call (`call("fill", "Full name",
value=...)` finds the element number by its name in the latest page digest the request carries), a raw
tool call with arbitrary arguments (malformed calls), plain text, or an HTTP error (429/500/401, sent with
`retry-after-ms: 10` so the client's own backoff stays fast). Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
_ELEMENT = re.compile(r'^\[(\d+)\] (\S+)(?: type=\S+)? "((?:[^"\\]|\\.)*)"', re.M)


def latest_digest(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user" and "Elements:" in str(m.get("content")):
            return str(m["content"])
    raise AssertionError("the request carries no page digest")


def element_number(body: dict[str, Any], name: str, role: str | None = None) -> int:
    """The number of the element called `name` (and of `role`, if given) in the latest digest."""
    found = [int(n) for n, r, t in _ELEMENT.findall(latest_digest(body))
             if json.loads(f'"{t}"') == name and (role is None or r == role)]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} elements called {name!r} in the digest:\n{latest_digest(body)}")
    return found[0]


def tool_message(calls: list[tuple[str, str]], content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": [
        {"id": f"call_{i}_{time.monotonic_ns()}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)]}


def call(tool: str, name: str | None = None, role: str | None = None, **args: Any) -> Reply:
    """A tool call; `name` picks the element by its accessible name in the digest the model was sent."""

    def make(body: dict[str, Any]) -> dict[str, Any]:
        full = dict(args)
        if name is not None:
            full["element"] = element_number(body, name, role)
        return {"message": tool_message([(tool, json.dumps(full))])}

    return make


def calls(*replies: Reply) -> Reply:
    """Several tool calls in one answer."""

    def make(body: dict[str, Any]) -> dict[str, Any]:
        tcs = []
        for r in replies:
            msg = (r(body) if callable(r) else r)["message"]
            tcs += msg["tool_calls"]
        return {"message": {"role": "assistant", "content": None, "tool_calls": tcs}}

    return make


def raw(tool: str, arguments: str) -> Reply:
    """A tool call with arguments exactly as given (malformed JSON, unknown elements...)."""
    return {"message": tool_message([(tool, arguments)])}


def text(content: str) -> Reply:
    return {"message": {"role": "assistant", "content": content}}


def status(code: int, message: str = "scripted error") -> Reply:
    return {"status": code, "error": message}


class ScriptedOpenAI:
    def __init__(self, latency: float = 0.0):
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.latency = latency
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(data or b"{}")
                with server.lock:
                    server.raw_bodies.append(data)
                    server.requests.append(body)
                    entry = server.script.pop(0) if server.script else None
                if server.latency:
                    time.sleep(server.latency)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found", "type": "not_found"}})
                if entry is None:
                    return self._send(500, {"error": {"message": "the script ran out", "type": "server_error"}})
                try:
                    answer = entry(body) if callable(entry) else entry
                except AssertionError as exc:
                    return self._send(500, {"error": {"message": str(exc), "type": "script_error"}})
                if "status" in answer:
                    return self._send(answer["status"], {"error": {"message": answer["error"], "type": "scripted",
                                                                  "code": str(answer["status"])}})
                prompt = len(data) // 4
                completion = len(json.dumps(answer["message"])) // 4
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "scripted"),
                    "choices": [{"index": 0, "message": answer["message"],
                                 "finish_reason": "tool_calls" if answer["message"].get("tool_calls") else "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion},
                })

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                out = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                if code >= 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="scripted-openai", daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def load(self, *replies: Reply) -> None:
        with self.lock:
            self.script = list(replies)
            self.requests.clear()
            self.raw_bodies.clear()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ScriptedOpenAI:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

