"""`webmem mcp` driven by the official MCP SDK's client, over stdio and over HTTP (127.0.0.1), against the
demo portal in real Chromium. The "agent" is plain test code: it reads the numbered page digests webmem
returns and acts by element number, as a model would."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

import webmem
from webmem.flow.flowfile import load_flow

from .conftest import listed_runs

ROOT = Path(__file__).resolve().parent.parent
SECRET = "demo-pass-123"  # the portal's demo password, which the server reads from its environment
CALL_TIMEOUT = 60  # seconds any one call may take
BROWSER_TOOLS = {"snapshot", "click", "fill", "select", "check", "uncheck", "press", "dismiss", "goto", "done", "fail"}


class Agent:
    """A scripted MCP client: every answer it receives is kept (to count it and search it for secrets)."""

    def __init__(self, client: Client):
        self.client = client
        self.received: list[str] = []
        self.browser_calls = 0
        self.page = ""

    async def call(self, tool: str, **args: Any) -> tuple[bool, str]:
        if tool in BROWSER_TOOLS:
            self.browser_calls += 1
        with anyio.fail_after(CALL_TIMEOUT):
            res = await self.client.call_tool(tool, args)
        text = "\n".join(c.text for c in res.content if c.type == "text")
        self.received.append(text)
        if "Elements:" in text:
            self.page = text
        return bool(res.is_error), text

    async def ok(self, tool: str, **args: Any) -> str:
        failed, text = await self.call(tool, **args)
        assert not failed, f"{tool}: {text}"
        return text

    def element(self, role: str, name: str) -> int:
        """The number of the element with this role and accessible name in the last page digest."""
        m = re.search(rf'^\[(\d+)\] {role}(?: type=\w+)? "{re.escape(name)}"', self.page, re.M)
        assert m, f"no {role} {name!r} in:\n{self.page}"
        return int(m.group(1))


def session_of(text: str) -> str:
    m = re.search(r"^session: (\S+)$", text, re.M)
    assert m, text
    return m.group(1)


def result_of(text: str) -> dict[str, Any]:
    assert text.startswith("{"), text  # a finished do, not a session's page
    return json.loads(text)


async def do_customer(agent: Agent, portal, name: str, email: str) -> str:
    return await agent.ok("do", task=f"Create a customer named {name}", url=portal.url + "/customers/new",
                          inputs={"full_name": name, "email": email})


async def learn_customer(agent: Agent, portal) -> dict[str, Any]:
    """The miss: the client does the task with the browser tools, one bad call of each kind on the way."""
    first = await do_customer(agent, portal, "Ada Lovelace", "ada@example.com")
    assert "status: recording" in first and "{{ full_name }} = Ada Lovelace" in first
    sid = session_of(first)
    for tool, args, says in [
        ("click", {"element": 999}, "there is no element [999] on this page"),
        ("check", {"element": agent.element("textbox", "Full name")}, "is a textbox, not something you can check"),
        ("fill", {"element": agent.element("textbox", "Email"), "value": "{{ phone }}"}, "no input named phone"),
        ("goto", {"url": "https://example.org/"}, "not on this task's site"),
        ("click", {"session": "nope", "element": 1}, "there is no session 'nope'"),
    ]:
        failed, text = await agent.call(tool, **{"session": sid, **args})
        assert failed and says in text and "\n" not in text, text
    await agent.ok("fill", session=sid, element=agent.element("textbox", "Full name"), value="{{ full_name }}")
    await agent.ok("fill", session=sid, element=agent.element("textbox", "Email"), value="{{ email }}")
    assert "Email" in await agent.ok("snapshot", session=sid)
    await agent.ok("click", session=sid, element=agent.element("button", "Save customer"))
    async with agent.client.listen(tools_list_changed=True, resources_list_changed=True) as changes:
        learned = result_of(await agent.ok("done", session=sid, summary="customer created"))
        with anyio.fail_after(10):  # a client listening hears that the store has a new tool and resource
            heard = {type(await changes.__anext__()).__name__ for _ in range(2)}
    assert heard == {"ToolsListChanged", "ResourcesListChanged"}, heard
    return learned


async def customer_story(agent: Agent, portal, store: Path, keeps_context: bool) -> None:
    learned = await learn_customer(agent, portal)
    assert (learned["status"], learned["flow"], learned["model_calls"]) == \
        ("learned", "create-a-customer-named.yaml", 0)
    flow = load_flow(store / "create-a-customer-named.yaml").flow
    assert flow.task == "Create a customer named {{ full_name }}"
    # the refused calls left no trace: the flow is the four steps that worked
    assert [(s.action, getattr(s.args, "value", None)) for s in flow.steps] == \
        [("goto", None), ("fill", "{{ full_name }}"), ("fill", "{{ email }}"), ("click", None)]

    calls = agent.browser_calls
    hit = result_of(await do_customer(agent, portal, "Bob Smith", "bob@example.com"))
    assert (hit["status"], hit["model_calls"], hit["entered"]) == \
        ("hit", 0, {"full_name": "Bob Smith", "email": "bob@example.com"})
    assert agent.browser_calls == calls  # not one browser tool: the flow did it

    tools = {t.name: t for t in (await agent.client.list_tools()).tools}
    flow_tool = tools["create_a_customer_named"]  # each stored task is a typed tool
    assert set(flow_tool.input_schema["properties"]) == {"full_name", "email", "url"}
    assert set(flow_tool.input_schema["required"]) == {"full_name", "email"}
    typed = result_of(await agent.ok("create_a_customer_named", full_name="Cy Young", email="cy@example.com"))
    assert typed["status"] == "hit"
    failed, text = await agent.call("create_a_customer_named", full_name="Di")
    assert failed and "missing required input(s): email" in text
    failed, text = await agent.call("create_a_customer_named", full_name="Di", email="d@example.com",
                                    url="https://example.org/customers/new")
    assert failed and "not on this flow's site" in text

    portal.set_variant("terms_added")  # a new required checkbox: handed over at the broken step
    text = await do_customer(agent, portal, "Eve Adams", "eve@example.com")
    assert "status: handed_over" in text and "was done, but then" in text
    sid = session_of(text)
    if keeps_context:  # a client with a context of its own finishes one session before the next do
        failed, busy = await agent.call("do", task="Create a customer named Gus", url=portal.url + "/customers/new",
                                        inputs={"full_name": "Gus", "email": "gus@example.com"})
        assert failed and busy.endswith(f"session {sid} is still open: finish it with done or fail first")
    await agent.ok("check", session=sid, element=agent.element("checkbox", "I accept the terms of service"))
    await agent.ok("click", session=sid, element=agent.element("button", "Save customer"))
    over = result_of(await agent.ok("done", session=sid, summary="customer created"))
    assert (over["status"], over["flow"]) == ("handed_over", "create-a-customer-named-2.yaml")
    failed, text = await agent.call("click", session=sid, element=1)
    assert failed and f"session {sid} is closed" in text
    calls = agent.browser_calls
    again = result_of(await do_customer(agent, portal, "Fay Wray", "fay@example.com"))
    assert (again["status"], again["flow"], agent.browser_calls) == ("hit", "create-a-customer-named-2.yaml", calls)
    portal.set_variant("labels_reworded")  # a layout change: healed with no tool call from the agent
    healed = result_of(await do_customer(agent, portal, "Di Prince", "di@example.com"))
    assert (healed["status"], healed["healed_steps"] > 0, agent.browser_calls) == ("healed", True, calls)

    landed = [(s["variant"], s["data"]["full_name"]) for s in portal.submissions()]
    assert landed == [("baseline", "Ada Lovelace"), ("baseline", "Bob Smith"), ("baseline", "Cy Young"),
                      ("terms_added", "Eve Adams"), ("terms_added", "Fay Wray"), ("labels_reworded", "Di Prince")]

    resources = (await agent.client.list_resources()).resources
    uris = sorted(str(r.uri) for r in resources)
    assert uris == ["webmem://flows/create-a-customer-named-2.yaml", "webmem://flows/create-a-customer-named.yaml"]
    body = (await agent.client.read_resource(uris[0])).contents[0]
    assert body.text == (store / "create-a-customer-named-2.yaml").read_text()
    listed = json.loads(await agent.ok("list_flows"))
    assert [f["flow"] for f in listed] == ["create-a-customer-named-2.yaml", "create-a-customer-named.yaml"]
    totals = json.loads(await agent.ok("flow_stats"))["totals"]
    assert (totals["hits"], totals["learned"], totals["handed_over"], totals["healed"]) == (5, 1, 1, 1)
    # every replay counts in the flows' track records, a flow tool's call too (Bob, Cy, Eve, Fay, Di Prince)
    assert sum(f["runs"] for f in listed) == 5
    assert sum(int(runs) for runs, _ in listed_runs(store).values()) == 5


async def sign_in_story(agent: Agent, portal, store: Path) -> None:
    """A secret input: named by the client, read from the server's environment, seen by nobody."""
    args = {"task": "Sign in as demo", "url": portal.url + "/login", "inputs": {"username": "demo"},
            "secrets": {"password": "PORTAL_PASSWORD"}}
    first = await agent.ok("do", **args)
    assert "{{ password }} (secret)" in first
    sid = session_of(first)
    await agent.ok("fill", session=sid, element=agent.element("textbox", "Username"), value="{{ username }}")
    await agent.ok("fill", session=sid, element=agent.element("textbox", "Password"), value="{{ password }}")
    await agent.ok("click", session=sid, element=agent.element("button", "Sign in"))
    assert result_of(await agent.ok("done", session=sid, summary="signed in"))["status"] == "learned"
    hit = result_of(await agent.ok("do", **args))
    assert (hit["status"], hit["entered"]) == ("hit", {"username": "demo", "password": "(secret)"})
    tools = {t.name: t for t in (await agent.client.list_tools()).tools}
    assert set(tools["sign_in_as"].input_schema["properties"]) == {"username", "url"}  # no password
    assert result_of(await agent.ok("sign_in_as", username="demo"))["status"] == "hit"
    failed, text = await agent.call("sign_in_as", username="demo", password="guess")
    assert failed and "password is a secret input" in text
    failed, text = await agent.call("do", **{**args, "secrets": {"password": "NOT_SET_ANYWHERE"}})
    assert failed and "$NOT_SET_ANYWHERE is not an allowed secret variable" in text  # only what the operator allows
    for r in (await agent.client.list_resources()).resources:
        agent.received.append((await agent.client.read_resource(str(r.uri))).contents[0].text)


def assert_no_secret(agent: Agent, store: Path, log: Path) -> None:
    for text in agent.received:
        assert SECRET not in text
    for path in store.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in log.read_text(errors="replace")


def server_env() -> dict[str, str]:
    return {**os.environ, "PORTAL_PASSWORD": SECRET, "NO_COLOR": "1"}


@asynccontextmanager
async def over_stdio(store: Path, log: Path, *extra: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=server_env(),
                                   args=["-m", "webmem.cli", "mcp", "--store", str(store), *extra])
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=CALL_TIMEOUT) as client:
            yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def over_http(store: Path, log: Path, *extra: str) -> AsyncIterator[Callable[..., Client]]:
    port = free_port()
    with log.open("w") as errlog:
        proc = subprocess.Popen([sys.executable, "-m", "webmem.cli", "mcp", "--store", str(store), "--transport",
                                 "http", "--port", str(port), *extra], cwd=ROOT, env=server_env(),
                                stdout=errlog, stderr=errlog)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                    await anyio.sleep(0.1)
            yield lambda mode="auto": Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=CALL_TIMEOUT,
                                             mode=mode)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def run(body: Callable[[], Awaitable[None]], limit: float = 240) -> None:
    """Run the client in a thread of its own: the worker's main thread may hold the event loop of
    pytest-playwright's sync API (from an earlier test), and one thread runs one loop."""
    async def bounded() -> None:
        with anyio.fail_after(limit):
            await body()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, bounded).result()


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_client_learns_then_hits_heals_and_finishes_a_handover(transport: str, portal, tmp_path: Path) -> None:
    store, log = tmp_path / "flows", tmp_path / "server.log"

    async def body() -> None:
        async with connected(transport, store, log, "--secret-env", f"PORTAL_PASSWORD={portal.url}") as client:
            agent = Agent(client)
            assert client.server_info is not None and client.server_info.name == "webmem"
            assert client.server_info.version == webmem.__version__  # the package's own, said by the server
            names = {t.name for t in (await client.list_tools()).tools}
            assert names >= BROWSER_TOOLS | {"do", "list_flows", "flow_stats"}
            await customer_story(agent, portal, store, keeps_context=transport == "stdio")
            await sign_in_story(agent, portal, store)
            # a client the transport tells apart (stdio) keeps its context: still signed in; a stateless one not
            sid = session_of(await agent.ok("do", task="Look at the records", url=portal.url + "/records"))
            assert ('button "Sign in"' in agent.page) == (transport == "http"), agent.page
            assert json.loads(await agent.ok("fail", session=sid, reason="only looking"))["status"] == "failed"
            assert not (store / "look-at-the-records.yaml").exists()
            assert_no_secret(agent, store, log)

    run(body)


def test_over_http_clients_get_their_own_contexts_and_idle_sessions_time_out(portal, tmp_path: Path) -> None:
    store, log = tmp_path / "flows", tmp_path / "server.log"
    idle = 8  # seconds a session may wait for its client's next call

    async def body() -> None:
        async with over_http(store, log, "--session-timeout", str(idle)) as connect, connect() as one, \
                connect("legacy") as two:  # a stateless client, and one with an HTTP session id
            a, b = Agent(one), Agent(two)
            # two clients at once, each with a session (and a browser context) of its own
            first = await do_customer(a, portal, "Ada", "ada@example.com")
            await a.ok("fill", session=session_of(first), element=a.element("textbox", "Full name"),
                       value="{{ full_name }}")
            second = await b.ok("do", task="Look at the records", url=portal.url + "/records")
            assert session_of(first) != session_of(second)
            assert "Sign in" in b.page and "Full name" in a.page  # each sees its own page
            failed, text = await b.call("do", task="Look at the records", url=portal.url + "/records")
            assert failed and f"session {session_of(second)} is still open" in text  # b's context is b's
            failed, text = await b.call("fail", session=session_of(second), reason="needs a login")
            assert not failed and json.loads(text)["status"] == "failed"
            await anyio.sleep(idle + 1)  # a's session times out: its context is closed and nothing is stored
            failed, text = await a.call("click", session=session_of(first), element=1)
            assert failed and "is closed (it timed out)" in text
            assert list(store.glob("*.yaml")) == []
            assert portal.submissions("customer") == []

    run(body)


@asynccontextmanager
async def connected(transport: str, store: Path, log: Path, *extra: str) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with over_stdio(store, log, *extra) as client:
            yield client
    else:
        async with over_http(store, log, *extra) as connect, connect() as client:
            yield client


def test_the_command_refuses_an_unknown_transport(webmem_cli) -> None:
    bad = webmem_cli("mcp", "--transport", "carrier-pigeon", timeout=60)
    assert bad.returncode == 2 and "'carrier-pigeon' is not one of 'stdio'" in bad.stderr  # a choice


async def look_at_records(agent: Agent, portal) -> str:
    """A miss that opens a recording session (and holds a browser while it is open)."""
    return session_of(await agent.ok("do", task="Look at the records", url=portal.url + "/records"))


def test_a_session_answers_only_to_its_client_and_idle_browsers_serve_the_next(portal, tmp_path: Path) -> None:
    store, log = tmp_path / "flows", tmp_path / "server.log"

    async def body() -> None:
        async with over_http(store, log, "--browsers", "1") as connect:
            async with connect("legacy") as one, connect("legacy") as two, connect() as three:
                a, b, c = Agent(one), Agent(two), Agent(three)  # two clients with an MCP session, one stateless
                sid = await look_at_records(a, portal)
                assert len(sid) >= 20  # unguessable
                for other in (b, c):  # even with A's id, another client can neither read nor drive A's session
                    for tool, args in [("snapshot", {}), ("click", {"element": a.element("button", "Sign in")}),
                                       ("goto", {"url": "/contacts"}), ("done", {"summary": "mine now"}),
                                       ("fail", {"reason": "stolen"})]:
                        failed, text = await other.call(tool, session=sid, **args)
                        assert failed and f"there is no session {sid!r}" in text, (tool, text)
                assert "Sign in" in await a.ok("snapshot", session=sid)  # untouched, still A's
                failed, text = await b.call("do", task="Look at the records", url=portal.url + "/records")
                assert failed and "all 1 browsers are busy with open sessions" in text  # A is at work: said at once
                await a.ok("fail", session=sid, reason="only looking")
                failed, text = await b.call("snapshot", session=sid)  # closed: still not B's to know about
                assert failed and "there is no session" in text and "closed" not in text, text
                failed, text = await a.call("snapshot", session=sid)
                assert failed and f"session {sid} is closed" in text
                # the one browser is idle: it serves B, then A again
                await b.ok("fail", session=await look_at_records(b, portal), reason="only looking")
                await look_at_records(a, portal)  # A leaves with this session open ...
            async with connect() as four:  # ... which ends with it: the browser is free at once (stateless D)
                d = Agent(four)
                await d.ok("fail", session=await look_at_records(d, portal), reason="only looking")
            assert list(store.glob("*.yaml")) == []

    run(body)


def test_a_stored_flow_never_takes_a_built_in_tools_name(tmp_path: Path) -> None:
    from webmem.browser.config import load_settings
    from webmem.mcp.server import build

    store = tmp_path / "flows"
    store.mkdir()
    server = build(store, load_settings())  # in-process: no browser starts for these calls

    async def body() -> None:
        async with Client(server) as client:
            builtins = {t.name for t in (await client.list_tools()).tools}
            assert BROWSER_TOOLS | {"do", "list_flows", "flow_stats"} <= builtins
            for i, name in enumerate(sorted(builtins)):  # a stored flow named after every built-in tool
                (store / f"{name}.yaml").write_text(
                    f"webmem: 1\nname: {name}\ntask: stored task number {i}\nbase_url: http://127.0.0.1:9\n"
                    "steps:\n  - goto: /\n", encoding="utf-8")
            tools: dict[str, Any] = {}
            for t in (await client.list_tools(cache_mode="bypass")).tools:
                assert t.name not in tools, f"{t.name} listed twice"
                tools[t.name] = t
            assert len(tools) == 2 * len(builtins)
            for name in builtins:  # the built-in keeps its name; the flow is a tool under another
                assert not (tools[name].description or "").startswith("Do the stored task"), name
            failed, text = await Agent(client).call("dismiss", session="nope", element=1)
            assert failed and "there is no session 'nope'" in text, text

    try:
        run(body, limit=60)
    finally:
        server.browsers.shutdown()
