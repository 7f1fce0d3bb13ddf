"""`webmem mcp`, measured: for each portal task, what an MCP agent spends on a miss (it does the task
through the browser tools while webmem records it) against a hit (one `do`): tool calls and characters
received (about 4 a token). Then the wall time of a hit through MCP (stdio, the SDK's client) beside the
same hit in-process (`Memory.do`, as `webmem do` runs it), side by side in one run.

    .venv/bin/python bench/mcp.py [--hits 7] [--think 0.3]

Goal: a hit through MCP within 1.1x of Memory.do in-process. The two alternate hit by hit, so both see
the same load on the machine; a stdio client keeps its browser context between calls, like the
in-process page.
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# this file is bench/mcp.py: its folder must not shadow the `mcp` SDK
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from fixtures_site.server import PortalServer  # noqa: E402
from tests.test_record import CASES  # noqa: E402
from webmem import browser  # noqa: E402
from webmem.config import load_settings  # noqa: E402
from webmem.memory import Memory  # noqa: E402
from webmem.session import new_context  # noqa: E402

ROOT = HERE.parent

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


class InProcess(threading.Thread):
    """`Memory.do` on a warm page in this process, on a thread of its own (sync Playwright stays on the
    thread that made it), so its hits can alternate with the MCP hits and share the same machine load."""

    def __init__(self, store: Path):
        super().__init__(daemon=True)
        self.store, self.jobs, self.done = store, queue.Queue(), queue.Queue()

    def run(self) -> None:
        settings = load_settings()
        with sync_playwright() as pw:
            b = browser.launch(pw, settings)
            page = new_context(b, settings).new_page()
            memory = Memory(self.store, agent="heuristic", settings=settings)
            while (job := self.jobs.get()) is not None:
                task, url, values = job
                started = time.perf_counter()
                res = memory.do(page, task, values, url=url)
                self.done.put(((time.perf_counter() - started) * 1000, res.status))
            b.close()

    def hit(self, task: str, url: str, values: dict[str, str]) -> float:
        self.jobs.put((task, url, values))
        ms, status = self.done.get(timeout=120)
        assert status == "hit", status
        return ms


async def measure(store: Path, portal: PortalServer, hits: int, think: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    params = StdioServerParameters(command=sys.executable, args=["-m", "webmem.cli", "mcp", "--store", str(store)],
                                   cwd=str(ROOT))
    local = InProcess(store)
    local.start()
    try:
        with open(store.parent / "server.log", "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
                for case, (path, task, values, *_rest) in CASES.items():
                    url = portal.url + path
                    miss = Counter(client)
                    page = await miss.call("do", task=task, url=url, inputs=values)
                    sid = re.search(r"^session: (\w+)$", page, re.M)
                    assert sid, page
                    for tool, role, name, args in SCRIPTS[case]:
                        page = await miss.call(tool, session=sid.group(1), element=element(page, role, name), **args)
                    learned = await miss.call("done", session=sid.group(1), summary="done")
                    assert '"status":"learned"' in learned, learned
                    via_mcp, server_side, in_process, hit = [], [], [], Counter(client)
                    for i in range(hits):  # alternating, so both see the same load on the machine
                        await anyio.sleep(think)
                        hit = Counter(client)
                        started = time.perf_counter()
                        text = await hit.call("do", task=task, url=url, inputs=other(values, i))
                        via_mcp.append((time.perf_counter() - started) * 1000)
                        assert '"status":"hit"' in text, text
                        server_side.append(json.loads(text)["duration_ms"])
                        await anyio.sleep(think)
                        in_process.append(await anyio.to_thread.run_sync(local.hit, task, url, other(values, 100 + i)))
                    out[case] = {"miss": miss, "hit": hit, "mcp": statistics.median(via_mcp),
                                 "server": statistics.median(server_side),
                                 "local": statistics.median(in_process)}
    finally:
        local.jobs.put(None)
        local.join(30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, default=7)
    ap.add_argument("--think", type=float, default=0.2, help="seconds between calls (as an agent would pause)")
    a = ap.parse_args()
    with PortalServer() as portal, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "flows"
        mcp = anyio.run(measure, store, portal, a.hits, a.think)
    print("what the agent spends: a miss (it does the task with webmem's browser tools) vs a hit (one do)")
    print(f"{'task':<10}{'miss calls':>11}{'miss chars':>12}{'hit calls':>10}{'hit chars':>10}{'chars ratio':>13}")
    for case, r in mcp.items():
        m, h = r["miss"], r["hit"]
        print(f"{case:<10}{m.calls:>11}{m.chars:>12}{h.calls:>10}{h.chars:>10}{m.chars / h.chars:>12.1f}x")
    print(f"\nwall time of a hit, median of {a.hits}, alternating: Memory.do in-process vs through MCP "
          "(stdio, the SDK's client; goal <= 1.1x)")
    print(f"{'task':<10}{'in-process':>11}{'MCP':>9}{'ratio':>8}   {'Memory.do in the server':>24}{'MCP layer':>11}")
    for case, r in mcp.items():
        print(f"{case:<10}{r['local']:>9.0f}ms{r['mcp']:>7.0f}ms{r['mcp'] / r['local']:>7.2f}x   "
              f"{r['server']:>22.0f}ms{r['mcp'] - r['server']:>9.0f}ms")

if __name__ == "__main__":
    main()
