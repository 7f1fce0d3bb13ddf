"""`webmem mcp`: webmem as an MCP server between an agent and the browser.

The agent stays the brain; webmem is the cache of what it already worked out. `do` replays a stored
flow when one fits (a hit: no browser tools, no page text for the agent to read); on a miss it opens a
recording session and the agent does the task with the browser tools, each action validated against
the last snapshot and recorded by webmem's own recorder. Every stored flow is also a typed tool of its
own and a read-only YAML resource.

Secrets never reach the agent: a secret input is named, never valued, in every call and answer; its
value comes from the server's environment, from a variable the operator allows for the task's site
(`--secret-env NAME=https://origin`, webmem.flow.secrets_allow): a client cannot have any other variable typed.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urljoin

import anyio
import uvicorn
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, Resource, TextContent, Tool, ToolAnnotations
from pydantic import Field
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webmem.browser.config import Settings
from webmem.cache import stats
from webmem.cache.memory import DoResult
from webmem.cache.store import Entry, FlowStore
from webmem.errors import InvalidAction, WebmemError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import placeholders, render, resolve_inputs
from webmem.flow.model import InputSpec
from webmem.flow.secrets_allow import SecretAllowlist
from webmem.flow.urlpattern import origin_of, url_problem
from webmem.learn.agents.base import Dismiss, Done, Fail, check_against
from webmem.mcp.sessions import Browsers, Event, Finished, Session, SessionError, Turn
from webmem.playback.heal import HealMode
from webmem.steps import KINDS, Action, OnElement
from webmem.steps.goto import Goto
from webmem.version import VERSION

FLOW_URI = "webmem://flows/"
INSTRUCTIONS = """webmem remembers browser tasks. Call `do` with the task in words, the start URL and the inputs.
If webmem knows the task, it replays it at once (no page to read). If not, it opens a recording session
and shows you the page as numbered elements: act with """ + "/".join(
    k.action.tool for k in KINDS if k.on_mcp and k.action) + """ by
element number, type inputs as placeholders such as {{ email }}, and end with `done` (webmem stores the
flow) or `fail`. Each stored flow is also a tool of its own."""

Sid = Annotated[str, Field(description="the session id that do returned")]
Element = Annotated[int, Field(description="the element's number in the last snapshot")]


def _step_tools_text() -> str:
    """The step kinds' browser tools in words (the first turn's reminder), from the registry."""
    on = [k.action for k in KINDS if k.on_mcp and k.action is not None]
    on_element = "/".join(a.tool for a in on if issubclass(a, OnElement))
    rest = [f"{a.tool}(session, {', '.join(n for n in a.model_fields if n != 'why')})"
            for a in on if not issubclass(a, OnElement)]
    return ", ".join([f"{on_element}(session, element, ...)", *rest])


STEP_TOOLS = _step_tools_text()


def step_tool(action: type[Action], ask: Callable[[str, Action, Context], str]) -> Callable[..., str]:
    """The browser tool for a step kind's action (`StepKind.on_mcp`), built from the registry: the session,
    then the action's own fields (their types, defaults and descriptions are the tool's schema)."""

    def tool(session: str, ctx: Context, **fields: Any) -> str:
        return ask(session, action(**fields), ctx)

    P = inspect.Parameter
    params = [P("session", P.POSITIONAL_OR_KEYWORD, annotation=Sid),
              P("ctx", P.POSITIONAL_OR_KEYWORD, annotation=Context)]
    for name, f in action.model_fields.items():
        if name == "why":  # the agent's reason: a client says nothing of the kind
            continue
        kind = Element if name == "element" else Annotated[f.annotation, Field(description=f.description)]
        params.append(P(name, P.KEYWORD_ONLY, annotation=kind,
                        default=P.empty if f.is_required() else f.default))
    tool.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
    tool.__name__ = tool.__qualname__ = action.tool
    tool.__doc__ = inspect.cleandoc(action.__doc__ or "")
    return tool


# ---- what the agent receives --------------------------------------------------------------------


KeyOf = Callable[[Context], str | None]


STDIO_CLIENT = "stdio"


def stdio_client_key(ctx: Context) -> str | None:
    return STDIO_CLIENT  # a stdio server has exactly one client


def http_client_key(ctx: Context) -> str | None:
    """An HTTP client's MCP session id, when it has one (a stateless client has none: a fresh context each do).
    The SDK answers a request only for an MCP session it opened (and for the credential that opened it), so
    the header names the client that sent it: the sessions it opens are bound to it."""
    headers = getattr(ctx.request_context.request, "headers", None)
    return headers.get(MCP_SESSION_HEADER) if headers is not None else None


MCP_SESSION_HEADER = "mcp-session-id"


def hangups(app: ASGIApp, gone: Callable[[str], None]) -> ASGIApp:
    """The HTTP app, telling `gone` which client ended its MCP session (a client's DELETE, as it sends when
    it closes; the SDK accepts it only for a session that exists): its recording session ends and its
    browser is free before the client hears back. (A client that vanishes without a word is covered by
    the session timeout, and by its idle browser going to the next client that needs one.)"""
    async def app_telling_hangups(scope: Scope, receive: Receive, send: Send) -> None:
        sid = None
        if scope["type"] == "http" and scope["method"] == "DELETE":
            sid = Headers(scope=scope).get(MCP_SESSION_HEADER)
        if sid is None:
            await app(scope, receive, send)
            return

        async def hung_up(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await anyio.to_thread.run_sync(gone, sid)
            await send(message)

        await app(scope, receive, hung_up)

    return app_telling_hangups


def hit_text(res: DoResult, shown: Mapping[str, Any]) -> str:
    """A finished do, compactly: what happened, what was entered (secrets by name), what came out."""
    out: dict[str, Any] = {"status": res.status, "task": res.task, "flow": res.flow}
    if shown:
        out["entered"] = dict(shown)
    if res.extracted:
        out["extracted"] = res.extracted
    if res.replay is not None:
        out["steps"] = len(res.replay.steps)
        if res.replay.healed_steps:
            out["healed_steps"] = res.replay.healed_steps
    out["model_calls"] = res.model_calls
    out["duration_ms"] = res.duration_ms
    if res.error:
        out["error"] = res.error
    if res.notes:
        out["notes"] = res.notes
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def turn_text(session: Session, turn: Turn, first: bool) -> str:
    """The page for the agent: on the first turn what the session is; later what the last action did."""
    lines = []
    if first:
        lines.append(f"session: {session.id}")
        if turn.progress:
            lines.append("status: handed_over (the stored flow broke beyond healing; finish the task from here, "
                         "webmem splices your steps into the flow)")
            lines.append("already done: " + "; ".join(turn.progress))
        else:
            lines.append("status: recording (miss: no stored flow fits; do the task, webmem records it)")
        lines.append(f"task: {session.task}")
        inputs = [("{{ " + k + " }}") + (" (secret)" if session.inputs[k] else f" = {v}")
                  for k, v in session.shown.items()]
        lines.append("inputs: " + (", ".join(inputs) or "none") + " - type them as the placeholders")
        lines.append(f"tools: {STEP_TOOLS}, snapshot(session), then done(session, summary) or fail(session, reason)")
    elif turn.outcome is not None:
        said = session.redact(turn.outcome.message)  # the recorder's messages may quote the page
        lines.append(("" if turn.outcome.ok else "not done: ") + (said if said != "ok" else "ok"))
    lines.append(turn.digest.render())
    return "\n".join(lines)


def answer(session: Session, event: Event, first: bool = False) -> str:
    if isinstance(event, Finished):
        if event.result is None:
            raise ToolError(event.error or "the task could not be done")
        return hit_text(event.result, session.shown)
    return turn_text(session, event, first)


async def announce(ctx: Context, text: str) -> None:
    """Tell listening clients what a finished do changed in the store: a new flow is a new tool and a
    new resource; a healed or spliced flow is an updated resource."""
    if not text.startswith("{"):
        return  # a session's page: nothing stored yet
    res = json.loads(text)
    if res["status"] in {"learned", "handed_over"}:
        await ctx.notify_tools_changed()
        await ctx.notify_resources_changed()
    if res["status"] in {"healed", "handed_over"} and res.get("flow"):
        await ctx.notify_resource_updated(FLOW_URI + res["flow"])


# ---- flows as tools -----------------------------------------------------------------------------


def input_schema(spec: InputSpec) -> dict[str, Any]:
    kind = {"string": "string", "number": "number", "bool": "boolean", "enum": "string"}[spec.type]
    out: dict[str, Any] = {"type": kind}
    if spec.choices:
        out["enum"] = spec.choices
    if spec.format:
        out["format"] = spec.format
    if spec.description:
        out["description"] = spec.description
    if spec.default is not None:
        out["default"] = spec.default
    return out


def flow_tool_schema(flow: Flow, entry: Entry) -> dict[str, Any]:
    """The flow's inputs as JSON Schema; secrets left out (the server reads them from its environment)."""
    props = {k: input_schema(s) for k, s in flow.inputs.items() if not s.secret}
    required = [k for k, s in flow.inputs.items() if not s.secret and s.required and s.default is None]
    props["url"] = {"type": "string", "description": "the start page, if not the flow's own"
                    + (f" ({entry.start})" if entry.start else "")}
    if entry.start and "{" in entry.start:
        required.append("url")
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def tool_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")[:60] or "flow"


class WebmemMCP(MCPServer):
    """MCPServer with the store's flows as tools and resources, listed afresh on every request."""

    allow: SecretAllowlist  # the variables clients and stored flows may use as secrets, each for its sites

    def __init__(self, store: Path, browsers: Browsers, key_of: KeyOf, **kwargs: Any):
        self.builtins: set[str] = set()  # every tool registered in code: a stored flow never takes one's name
        super().__init__(**kwargs)
        self.store_root, self.browsers, self.key_of = store, browsers, key_of
        self.flow_store = FlowStore(store)

    def add_tool(self, fn: Callable[..., Any], name: str | None = None, *args: Any, **kwargs: Any) -> None:
        self.builtins.add(name or fn.__name__)  # the one list of built-in tools: their registrations
        super().add_tool(fn, name, *args, **kwargs)

    def flow_tools(self) -> dict[str, Entry]:
        """One tool per task the store knows (its variants are Memory's to choose between)."""
        taken = set(self.builtins)
        out: dict[str, Entry] = {}
        seen: set[str] = set()
        if not self.store_root.is_dir():
            return out
        for e in sorted(self.flow_store.entries(), key=lambda e: e.path):
            if e.error or not e.start or e.key in seen:
                continue
            seen.add(e.key)
            name = base = tool_name(e.name or Path(e.path).stem)
            n = 2
            while name in taken or name in out:
                name, n = f"{base}_{n}", n + 1
            out[name] = e
        return out

    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        for name, e in self.flow_tools().items():
            try:
                flow = flowfile.load_flow(self.flow_store.path_of(e.path), round_trip=False).flow
            except WebmemError:
                continue
            tools.append(Tool(name=name, description=f"Do the stored task: {e.task} (flow {e.path}; replays "
                              "with no model, opens a recording session if the page has changed beyond healing)",
                              input_schema=flow_tool_schema(flow, e),
                              annotations=ToolAnnotations(title=e.task, read_only_hint=False)))
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        if name in self.builtins or context is None:
            return await super().call_tool(name, arguments, context)
        entry = self.flow_tools().get(name)
        if entry is None:
            return await super().call_tool(name, arguments, context)  # the SDK's unknown-tool error
        try:
            text = await anyio.to_thread.run_sync(self._run_flow_tool, entry, dict(arguments),
                                                self.key_of(context))
        except (ToolError, WebmemError) as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        await announce(context, text)
        return CallToolResult(content=[TextContent(type="text", text=text)])

    async def list_resources(self) -> list[Resource]:
        found = await super().list_resources()
        if self.store_root.is_dir():
            for e in sorted(self.flow_store.entries(), key=lambda e: e.path):
                if not e.error:
                    found.append(Resource(uri=FLOW_URI + e.path, name=e.path, title=e.task or e.path,
                                          description="a stored flow (read-only)", mime_type="application/yaml"))
        return found

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        text = str(uri)
        if not text.startswith(FLOW_URI):
            return await super().read_resource(uri, context)
        rel = text.removeprefix(FLOW_URI)
        known = {e.path for e in self.flow_store.entries() if not e.error} if self.store_root.is_dir() else set()
        if rel not in known:  # only the store's own flow files: no path reaches anything else
            raise ResourceError(f"no flow {rel} in the store")
        body = self.flow_store.path_of(rel).read_text(encoding="utf-8")
        return [ReadResourceContents(content=body, mime_type="application/yaml")]

    def _run_flow_tool(self, e: Entry, args: dict[str, Any], key: str | None) -> str:
        flow = flowfile.load_flow(self.flow_store.path_of(e.path), round_trip=False).flow
        url = args.pop("url", None)
        secret_specs = {k: s for k, s in flow.inputs.items() if s.secret}
        given = [k for k in args if k in secret_specs]
        if given:
            raise ToolError(f"{', '.join(given)} is a secret input: the server reads it from its environment, "
                            "never from a call")
        for k, s in secret_specs.items():
            if not s.env:
                raise ToolError(f"secret input {k} names no environment variable (env:) to read it from")
        if url is None:
            if not e.start or "{" in e.start:
                raise ToolError(f"this flow starts at {e.start}: pass the start page as url")
            url = e.start if "://" in e.start else urljoin(e.origin or "", e.start)
        elif e.origin and origin_of(url) != e.origin:
            raise ToolError(f"url {url} is on {origin_of(url)}, not on this flow's site {e.origin}")
        # a stored flow names its variables: read only those the operator allows for this site
        values = resolve_inputs(flow, args, allow=self.allow, origin=origin_of(url))
        task = render(flow.task, values)
        return run_do(self.browsers, key, task, url, values, {k: s.env or "" for k, s in secret_specs.items()},
                      self.allow)


def check_url(url: str) -> None:
    if problem := url_problem(url, absolute=True):  # the one URL rule
        raise ToolError(f"url: {problem}")


def secret_values(secrets: Mapping[str, str], allow: SecretAllowlist, url: str) -> dict[str, str]:
    """The secrets' values: only from variables the operator allows for the task's site (refused by name)."""
    try:
        for k, env in secrets.items():
            allow.check(env, origin_of(url), f"secret input {k}")
    except WebmemError as exc:
        raise ToolError(str(exc)) from None
    missing = [f"{k} (${env})" for k, env in secrets.items() if env not in os.environ]
    if missing:
        raise ToolError(f"secret input(s) {', '.join(missing)} not set in the server's environment")
    return {k: os.environ[env] for k, env in secrets.items()}


def run_do(browsers: Browsers, key: str | None, task: str, url: str, values: Mapping[str, Any],
           secrets: Mapping[str, str], allow: SecretAllowlist) -> str:
    check_url(url)
    values = {**values, **secret_values(secrets, allow, url)}
    try:
        session, event = browsers.do(key, task, url, values, secrets, origin=origin_of(url))
    except SessionError as exc:
        raise ToolError(str(exc)) from None
    return answer(session, event, first=True)


# ---- the server ---------------------------------------------------------------------------------


def build(store: Path, settings: Settings, *, headed: bool = False, heal: HealMode = "local",
          session_timeout: float = 300.0, key_of: KeyOf = http_client_key, max_browsers: int = 4,
          secret_env: Mapping[str, Iterable[str]] | None = None) -> WebmemMCP:
    """The MCP server over a flow store (its browsers start with the first call that needs one). `secret_env`:
    the variables clients may use as secrets, each with its sites (besides the config's); none without."""
    allow = SecretAllowlist(settings.secret_env).merged(secret_env or {})
    # always an allowlist here (empty: no variable), so a stored flow's env: is checked on a hit too
    settings = settings.model_copy(update={"secret_env": allow.as_config()})
    browsers = Browsers(store, settings, headed=headed, heal=heal, session_timeout=session_timeout,
                        max_browsers=max_browsers)
    server = WebmemMCP(store, browsers, key_of, name="webmem", instructions=INSTRUCTIONS, version=VERSION)
    server.allow = allow

    def ask(sid: str, action: Action, ctx: Context) -> str:
        try:
            s = browsers.session(sid, key_of(ctx))  # only the client's own sessions
            if s.turn is None:  # pragma: no cover - a session is registered with its first turn
                raise SessionError(f"session {sid} has no page yet")
            check_against(action, s.turn.digest)
            value = getattr(action, "value", None)
            unknown = [k for k in placeholders(value or "") if k not in s.inputs]
            if unknown:
                raise SessionError(f"there is no input named {unknown[0]} (the inputs are: "
                                   f"{', '.join(s.inputs) or 'none'})")
            if isinstance(action, Goto):
                target = urljoin(s.turn.digest.url, action.url)
                if origin_of(target) != s.origin:
                    raise SessionError(f"goto {action.url}: that is on {origin_of(target)}, not on this task's "
                                       f"site {s.origin}")
            event = browsers.act(s, action)
        except (InvalidAction, SessionError) as exc:
            raise ToolError(str(exc)) from None
        return answer(s, event)

    @server.tool(annotations=ToolAnnotations(title="Do a browser task", open_world_hint=True))
    async def do(task: Annotated[str, Field(description="the task in words, with the input values in it")],
                 url: Annotated[str, Field(description="the page the task starts on")],
                 ctx: Context,
                 inputs: Annotated[dict[str, str | int | float | bool], Field(
                     description="the task's inputs by name (no secrets here)")] | None = None,
                 secrets: Annotated[dict[str, str], Field(
                     description="secret inputs: name -> environment variable the server reads the value from")]
                 | None = None) -> str:
        """Do a task in the browser. A task webmem knows is replayed at once (no page to read); otherwise a
        recording session opens and you do the task with the browser tools, ending with done or fail."""
        values = dict(inputs or {})
        clash = sorted(set(values) & set(secrets or {}))
        if clash:
            raise ToolError(f"{', '.join(clash)}: an input is either a value or a secret, not both")
        text = await anyio.to_thread.run_sync(run_do, browsers, key_of(ctx), task, url, values, dict(secrets or {}),
                                              allow)
        await announce(ctx, text)
        return text

    @server.tool()
    def snapshot(session: Sid, ctx: Context) -> str:
        """The page of a session as numbered elements (as it was after the last action)."""
        try:
            s = browsers.session(session, key_of(ctx))
        except SessionError as exc:
            raise ToolError(str(exc)) from None
        assert s.turn is not None
        return s.turn.digest.render()

    for k in KINDS:  # one browser tool per step kind the registry offers here
        if k.on_mcp and k.action is not None:
            server.add_tool(step_tool(k.action, ask))

    @server.tool()
    def dismiss(session: Sid, element: Element, ctx: Context) -> str:
        """Close an overlay that is in the way and not part of the task (a cookie banner, a popup): name its
        close or accept button. The flow keeps it as a handler, dismissed whenever it shows up again."""
        return ask(session, Dismiss(element=element), ctx)

    @server.tool()
    async def done(session: Sid, summary: Annotated[str, Field(description="what was done, in one sentence")],
                   ctx: Context) -> str:
        """The task is complete: webmem stores the flow (named after the task) and closes the session."""
        text = await anyio.to_thread.run_sync(ask, session, Done(summary=summary), ctx)
        await announce(ctx, text)
        return text

    @server.tool()
    def fail(session: Sid, reason: Annotated[str, Field(description="why the task cannot be done")],
             ctx: Context) -> str:
        """The task cannot be done: nothing is stored and the session closes."""
        return ask(session, Fail(reason=reason), ctx)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def list_flows() -> str:
        """The stored flows: task, start URL, inputs, runs, success rate, quarantine."""
        return json.dumps(flow_list(server.flow_store, store), ensure_ascii=False, separators=(",", ":"))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def flow_stats(flow: Annotated[str | None, Field(description="one flow file (as list_flows names it)")]
                   = None) -> str:
        """What the store did and saved (hits, misses, model calls), and each flow's track record."""
        record = stats.load(store) if store.is_dir() else stats.StoreStats()
        if flow is not None:
            if flow not in record.flows:
                raise ToolError(f"no statistics for {flow} (see list_flows)")
            return record.flows[flow].model_dump_json(exclude_none=True)
        return record.model_dump_json(exclude_none=True)

    return server


def flow_list(fs: FlowStore, root: Path) -> list[dict[str, Any]]:
    if not root.is_dir():
        return []
    record = stats.load(root)
    out: list[dict[str, Any]] = []
    for e in sorted(fs.entries(), key=lambda e: e.path):
        if e.error:
            out.append({"flow": e.path, "error": e.error})
            continue
        st = record.flows.get(e.path) or stats.FlowStats()
        out.append({"flow": e.path, "task": e.task, "start": e.start, "inputs": list(e.inputs),
                    "runs": st.runs, "success_rate": st.success_rate, "last_success": st.last_success,
                    "quarantined": st.is_quarantined(e.digest)})
    return out


def serve(store: Path, *, transport: str = "stdio", port: int = 8000, headed: bool = False, heal: HealMode = "local",
          session_timeout: float = 300.0, max_browsers: int = 4,
          secret_env: Mapping[str, Iterable[str]] | None = None) -> None:
    """Run the server until the client hangs up (stdio) or it is stopped (HTTP on 127.0.0.1:port)."""
    from webmem.browser.config import load_settings

    server = build(store, load_settings(), headed=headed, heal=heal, session_timeout=session_timeout,
                   key_of=stdio_client_key if transport == "stdio" else http_client_key, max_browsers=max_browsers,
                   secret_env=secret_env)
    server.browsers.warm(STDIO_CLIENT if transport == "stdio" else None)  # Chromium starts while the client connects
    try:
        if transport == "stdio":
            server.run("stdio")  # the client leaving ends the process, and its session with it
        else:
            app = hangups(server.streamable_http_app(host="127.0.0.1"), server.browsers.gone)
            uvicorn.run(app, host="127.0.0.1", port=port, log_level=server.settings.log_level.lower())
    finally:
        server.browsers.shutdown()
