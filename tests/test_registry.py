"""The step registry drives every front end: walk `webmem.steps.KINDS` and check that the flow format, the
agents' tools (the LLM's tool schemas), the recorder and the MCP server each offer every kind that the kind
says it is offered there; and that the layers which used to compare action names read the kind instead."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from webmem.browser.config import Settings
from webmem.errors import RecordError
from webmem.flow.commit import commit_index
from webmem.flow.format import Flow, json_schema, step_kind
from webmem.learn.agents.base import ACTIONS
from webmem.learn.agents.llm import tool_schemas
from webmem.learn.record import Recorder
from webmem.mcp.server import INSTRUCTIONS, STEP_TOOLS, build
from webmem.steps import KINDS, STEPS, OnElement, StepKind


def _keys(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON schema."""
    out: set[str] = set()
    if isinstance(schema, dict):
        out |= set(schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else ())
        for v in schema.values():
            out |= _keys(v)
    elif isinstance(schema, list):
        for v in schema:
            out |= _keys(v)
    return out


@pytest.fixture(scope="module")
def mcp_tools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    server = build(tmp_path_factory.mktemp("store"), Settings())  # no browser starts until a tool needs one
    # in a thread of its own: a sync Playwright page of an earlier test keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        tools = pool.submit(asyncio.run, server.list_tools()).result(timeout=60)
    return {t.name: t for t in tools}


def test_the_registry_is_one_kind_per_name() -> None:
    assert [k.name for k in KINDS] == list(STEPS)
    assert all(isinstance(k, StepKind) for k in KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_flow_format_takes_every_kind(kind: StepKind) -> None:
    assert step_kind({kind.name: {}}) == kind.name
    assert kind.name in _keys(json_schema())
    with pytest.raises(ValidationError) as err:  # an unknown kind is refused naming every known one
        Flow.model_validate({"name": "x", "steps": [{"no_such_kind": {}}]})
    assert kind.name in str(err.value)


@pytest.mark.parametrize("kind", [k for k in KINDS if k.action is not None], ids=lambda k: k.name)
def test_agents_offer_every_kind_with_an_action(kind: StepKind) -> None:
    assert kind.action is not None
    assert ACTIONS[kind.action.tool] is kind.action
    llm = {t["function"]["name"] if "function" in t else t["name"]: t for t in tool_schemas()}
    assert kind.action.tool in llm


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_recorder_offers_every_kind_it_records(kind: StepKind) -> None:
    """`on_recorder` says the Recorder has a typed method of the kind's name taking an element (one mypy and IDEs
    see: defined on the class, no `__getattr__`), both ways; any kind recorded on an element, one without such a
    method included, is `Recorder.act(kind, element, ...)`."""
    method = vars(Recorder).get(kind.name)
    on_element = method is not None and list(inspect.signature(method).parameters)[:2] == ["self", "element"]
    assert on_element == kind.on_recorder, f"{kind.name}: on_recorder={kind.on_recorder}, method: {method}"
    if kind.on_recorder:
        assert kind.action is not None and issubclass(kind.action, OnElement)  # recorded on an element
    assert "__getattr__" not in vars(Recorder)


def test_the_recorder_refuses_a_name_that_is_no_kind() -> None:
    rec = Recorder.__new__(Recorder)  # the kind is looked up before any page is touched
    on_element = [k.name for k in KINDS if k.action is not None and issubclass(k.action, OnElement)]
    for name in ("no_such_kind", "expect", "goto"):  # no kind; kinds not recorded on an element
        with pytest.raises(RecordError) as err:
            rec.act(name, None)  # type: ignore[arg-type]
        assert repr(name) in str(err.value) and all(k in str(err.value) for k in on_element)
    with pytest.raises(AttributeError):
        rec.no_such_kind  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_mcp_server_offers_every_kind_it_should(kind: StepKind, mcp_tools: dict[str, Any]) -> None:
    if not kind.on_mcp:
        return
    assert kind.action is not None
    tool = mcp_tools[kind.action.tool]
    props = tool.input_schema["properties"]
    wanted = {f.alias or n for n, f in kind.action.model_fields.items() if n != "why"}
    assert set(props) == {"session", *wanted}
    required = {f.alias or n for n, f in kind.action.model_fields.items() if f.is_required()}
    assert set(tool.input_schema.get("required", [])) == {"session", *required}
    assert kind.action.tool in INSTRUCTIONS and kind.action.tool in STEP_TOOLS


def test_the_mcp_server_offers_no_step_tool_the_registry_does_not(mcp_tools: dict[str, Any]) -> None:
    step_tools = {k.action.tool for k in KINDS if k.action is not None}
    offered = {k.action.tool for k in KINDS if k.on_mcp and k.action is not None}
    assert step_tools & set(mcp_tools) == offered
    assert "dismiss" in mcp_tools  # not a step kind (a handler), still a browser tool


def test_the_readme_lists_the_mcp_browser_tools_the_server_offers(mcp_tools: dict[str, Any]) -> None:
    """The README's list of a recording session's tools is the server's tools that take a session: the registry's
    `on_mcp` kinds (not `upload`, `wait_for`, `extract`: their modules say why) and the session's own."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"^- (`\w+`(?:, `\w+`)+) — by\s+element number", readme, re.M)
    assert listed is not None, "README: the `webmem mcp` section's list of browser tools is gone"
    in_readme = set(re.findall(r"`(\w+)`", listed.group(1)))
    with_session = {name for name, t in mcp_tools.items() if "session" in t.input_schema.get("properties", {})}
    assert in_readme == with_session
    offered = {k.action.tool for k in KINDS if k.on_mcp and k.action is not None}
    assert offered <= in_readme and not {"upload", "wait_for", "extract"} & in_readme


def test_commit_detection_reads_the_registry() -> None:
    """The last step whose kind `commits` is the commit point, whatever the kind is called."""
    flow = Flow.model_validate({"name": "x", "task": "x", "steps": [
        {"goto": "/a"},
        {"click": {"target": {"intent": "go", "selectors": ["css=#go"]}}},
        {"fill": {"target": {"intent": "f", "selectors": ["css=#f"]}, "value": "v"}},
        {"press": {"target": {"intent": "f", "selectors": ["css=#f"]}, "key": "Enter"}},
        {"expect": {"url": "/done"}},
    ]})
    committing = [i for i, s in enumerate(flow.steps) if STEPS[s.action].commits]
    assert commit_index(flow) == committing[-1] == 3

