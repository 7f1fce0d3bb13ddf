"""`webmem mcp`, measured: for each portal task, what an MCP agent spends on a miss (it does the task
through the browser tools while webmem records it) against a hit (one `do`): tool calls and characters
received (about 4 a token). Then the wall time of a hit through MCP (stdio, the SDK's client) beside the
same hit in-process (`Memory.do`, as `webmem do` runs it), side by side in one run.

    .venv/bin/python bench/mcp_hits.py [--hits 7] [--think 0.3]

Goal: a hit through MCP within 1.1x of Memory.do in-process. The two alternate hit by hit, so both see
the same load on the machine; a stdio client keeps its browser context between calls, like the
in-process page. A stateless HTTP client is shown too: each of its calls gets a fresh context.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

# this file is bench/mcp_hits.py (not mcp.py: a test that puts bench/ on sys.path would shadow the `mcp` SDK)
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.test_record import CASES  # noqa: E402
from webmem.browser import launch as browser  # noqa: E402
from webmem.browser.config import load_settings  # noqa: E402
from webmem.browser.session import new_context  # noqa: E402
from webmem.cache.memory import Memory  # noqa: E402

ROOT = HERE.parent
SETTLE = 1.0  # seconds for the HTTP server's context churn to finish before the next measured hit

# what the agent does on each task's miss: (tool, role, element name, arguments)
SCRIPTS: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {
    "customer": [("fill", "textbox", "Full name", {"value": "{{ full_name }}"}),
                 ("fill", "textbox", "Email", {"value": "{{ email }}"}),
                 ("select", "combobox", "Plan", {"value": "{{ plan }}"}),
                 ("check", "radio", "Phone", {}),
                 ("click", "button", "Save customer", {})],
    "wizard": [("fill", "textbox", "Company name", {"value": "{{ company }}"}),
               ("select", "combobox", "Country", {"value": "{{ country }}"}),
               ("click", "button", "Next", {}),
               ("fill", "textbox", "Contact name", {"value": "{{ contact_name }}"}),
               ("fill", "textbox", "Phone", {"value": "{{ phone }}"}),
               ("click", "button", "Next", {}),
               ("check", "checkbox", "I confirm these details are correct", {}),
               ("click", "button", "Submit application", {})],
    "contact": [("click", "button", "Add contact", {}),
                ("fill", "textbox", "Name", {"value": "{{ name }}"}),
                ("fill", "textbox", "Email", {"value": "{{ email }}"}),
                ("select", "combobox", "Role", {"value": "{{ role }}"}),
                ("click", "button", "Save contact", {})],
}


def element(page: str, role: str, name: str) -> int:
    m = re.search(rf'^\[(\d+)\] {role}(?: type=\w+)? "{re.escape(name)}"', page, re.M)
    if not m:
        raise SystemExit(f"no {role} {name!r} on the page:\n{page}")
    return int(m.group(1))


def other(values: dict[str, str], i: int) -> dict[str, str]:
    """Other inputs for the i-th hit (text changed, choices kept)."""
    keep = {"country", "plan", "role"}
    return {k: v if k in keep else (f"{i}{v}" if k != "email" else f"u{i}.{v}") for k, v in values.items()}


class Counter:
    def __init__(self, client: Client):
        self.client, self.calls, self.chars = client, 0, 0

    async def call(self, tool: str, **args: Any) -> str:
        self.calls += 1
        res = await self.client.call_tool(tool, args)
        text = "\n".join(c.text for c in res.content if c.type == "text")
        if res.is_error:
            raise SystemExit(f"{tool}: {text}")
        self.chars += len(text)
        return text


def in_process_loop(store: Path) -> None:
    """`Memory.do` on a warm page, as `webmem do` runs it, in a process of its own (like each MCP server):
    one JSON job a line on stdin, its time and status a line on stdout."""
    settings = load_settings()
    with sync_playwright() as pw:
        b = browser.launch(pw, settings)
        page = new_context(b, settings).new_page()
        memory = Memory(store, agent="heuristic", settings=settings)
        print("ready", flush=True)
        for line in sys.stdin:
            job = json.loads(line)
            started = time.perf_counter()
            res = memory.do(page, job["task"], job["values"], url=job["url"])
            print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "status": res.status}), flush=True)
        b.close()


class InProcess:
    """The other end of `in_process_loop`."""

    def __init__(self, store: Path):
        self.proc = subprocess.Popen([sys.executable, __file__, "--in-process", str(store)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout and self.proc.stdout.readline().strip() == "ready"

    def hit(self, task: str, url: str, values: dict[str, str]) -> float:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"task": task, "url": url, "values": values}) + "\n")
        self.proc.stdin.flush()
        got = json.loads(self.proc.stdout.readline())
        assert got["status"] == "hit", got
        return float(got["ms"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


@contextmanager
def portal_process() -> Iterator[str]:
    """The demo portal in a process of its own: in this one it would share the GIL with the in-process
    replay (but not with the MCP servers' replays), which skews the comparison."""
    proc = subprocess.Popen([sys.executable, "-m", "webmem.demo_site", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.search(r"(http://\S+?)/?$", line.strip())
        assert m, line
        yield m.group(1)
    finally:
        proc.terminate()
        proc.wait(15)


@asynccontextmanager
async def http_server(store: Path, log: Path) -> AsyncIterator[str]:
    """`webmem mcp --transport http` on a free 127.0.0.1 port; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log, "w") as errlog:
        proc = subprocess.Popen([sys.executable, "-m", "webmem.cli", "mcp", "--store", str(store), "--transport",
                                 "http", "--port", str(port)], cwd=ROOT, stdout=errlog, stderr=errlog)
        try:
            with anyio.fail_after(30):
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port), 0.2).close()
                        break
                    except OSError:
                        await anyio.sleep(0.1)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            proc.wait(15)


async def measure(store: Path, portal_url: str, hits: int, think: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    params = StdioServerParameters(command=sys.executable, args=["-m", "webmem.cli", "mcp", "--store", str(store)],
                                   cwd=str(ROOT))
    local: InProcess | None = None
    try:
        with open(store.parent / "server.log", "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client, \
                    http_server(store, store.parent / "http.log") as url_of_server, \
                    Client(url_of_server, read_timeout_seconds=120) as stateless:
                for case, (path, task, values, *_rest) in CASES.items():
                    url = portal_url + path
                    miss = Counter(client)
                    page = await miss.call("do", task=task, url=url, inputs=values)
                    sid = re.search(r"^session: (\S+)$", page, re.M)
                    assert sid, page
                    for tool, role, name, args in SCRIPTS[case]:
                        page = await miss.call(tool, session=sid.group(1), element=element(page, role, name), **args)
                    learned = await miss.call("done", session=sid.group(1), summary="done")
                    assert '"status":"learned"' in learned, learned
                    local = local or InProcess(store)
                    times: dict[str, list[float]] = {"mcp": [], "server": [], "http": [], "local": []}
                    hit = Counter(client)
                    for i in range(hits):  # alternating, so all see the same load on the machine
                        await anyio.sleep(think)
                        times["local"].append(await anyio.to_thread.run_sync(local.hit, task, url,
                                                                             other(values, 1000 + i)))
                        for key, c in (("mcp", client), ("http", stateless)):
                            await anyio.sleep(think)
                            hit = Counter(c)
                            started = time.perf_counter()
                            text = await hit.call("do", task=task, url=url, inputs=other(values, 10 * i + len(key)))
                            times[key].append((time.perf_counter() - started) * 1000)
                            assert '"status":"hit"' in text, text
                            if key == "mcp":
                                times["server"].append(json.loads(text)["duration_ms"])
                        # the HTTP server now closes that context and opens the next: let it finish, or
                        # the next in-process hit would pay for it
                        await anyio.sleep(think + SETTLE)
                    out[case] = {"miss": miss, "hit": hit, **{k: statistics.median(v) for k, v in times.items()}}
    finally:
        if local is not None:
            local.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, default=7)
    ap.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)  # the in-process side's own process
    ap.add_argument("--think", type=float, default=0.2, help="seconds between calls (as an agent would pause)")
    a = ap.parse_args()
    if a.in_process:
        in_process_loop(a.in_process)
        return
    with portal_process() as portal_url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "flows"
        mcp = anyio.run(measure, store, portal_url, a.hits, a.think)
    print("what the agent spends: a miss (it does the task with webmem's browser tools) vs a hit (one do)")
    print(f"{'task':<10}{'miss calls':>11}{'miss chars':>12}{'hit calls':>10}{'hit chars':>10}{'chars ratio':>13}")
    for case, r in mcp.items():
        m, h = r["miss"], r["hit"]
        print(f"{case:<10}{m.calls:>11}{m.chars:>12}{h.calls:>10}{h.chars:>10}{m.chars / h.chars:>12.1f}x")
    print(f"\nwall time of a hit, median of {a.hits}, alternating: Memory.do in-process vs through MCP "
          "(the SDK's client; goal <= 1.1x)")
    print(f"{'task':<10}{'in-process':>11}{'MCP stdio':>11}{'ratio':>7}{'(server':>9}{'MCP layer':>11}"
          f"{'ratio)':>8}{'MCP http*':>11}{'ratio':>7}")
    for case, r in mcp.items():
        lo, layer = r["local"], r["mcp"] - r["server"]
        print(f"{case:<10}{lo:>9.0f}ms{r['mcp']:>9.0f}ms{r['mcp'] / lo:>6.2f}x{r['server']:>7.0f}ms"
              f"{layer:>9.0f}ms{r['mcp'] / r['server']:>7.2f}x{r['http']:>9.0f}ms{r['http'] / lo:>6.2f}x")
    print("server: Memory.do inside the stdio server; MCP layer: the rest (protocol, pipes, JSON), the cost MCP\n"
          "adds, and its ratio: the hit through MCP against the very Memory.do it wraps. Each side runs in a\n"
          "process of its own; on a loaded machine all of these swing from run to run (the layer least).\n"
          "* a stateless HTTP client has no identity to keep a context for: each do gets a fresh browser "
          f"context,\n  opened ahead while idle (the agent pauses {a.think:g} s between calls here).")

if __name__ == "__main__":
    main()
