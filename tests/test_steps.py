"""The step vocabulary is one registry: the flow format, the agents' tools and replay all come from it; an
unknown kind or selector is refused when a flow is loaded. The `upload` kind, added through the registry
alone, is recorded, replayed and healed like any element step."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

import webmem
from webmem.flow.flowfile import parse_flow
from webmem.flow.format import json_schema
from webmem.flow.model import InputSpec
from webmem.learn.agents.base import ACTIONS
from webmem.learn.agents.llm import tool_schemas
from webmem.playback.heal import MODES, TIERS
from webmem.steps import KINDS, STEPS

MINIMAL = "webmem: 1\nname: t\ntask: t\nsteps:\n  - goto: /x\n"


def test_every_kind_is_in_the_format_the_tools_and_replay() -> None:
    schema_text = str(json_schema())
    for kind in KINDS:
        assert kind.model.__name__ in schema_text
        assert kind.action is None or kind.action.tool in ACTIONS
    assert {t["function"]["name"] for t in tool_schemas()} == set(ACTIONS)
    assert "upload" in STEPS and "upload" in ACTIONS
    assert MODES == ("off", "local", "llm") and [t.name for t in TIERS] == ["selector", "local", "llm"]


@pytest.mark.parametrize(("step", "expected"), [
    ("  - upload_everything: {}\n", "unknown action 'upload_everything' (a step's action is one of: goto,"),
    ("  - click:\n      target: {intent: x, selectors: ['#submit']}\n", "unknown selector '#submit'"),
    ("  - click:\n      target: {intent: x, selectors: ['role=button[name=Save]']}\n", "bad role selector"),
])
def test_unknown_kinds_and_selectors_are_refused_at_load(step: str, expected: str) -> None:
    with pytest.raises(webmem.FlowFormatError) as info:
        parse_flow(MINIMAL + step, "f.yaml")
    assert "step 2" in str(info.value) and expected in str(info.value)


def test_a_bad_selector_is_exit_2_with_the_step_named(webmem_cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL + "  - click:\n      target: {intent: x, selectors: ['#submit']}\n")
    for command in (["validate", str(path)], ["run", str(path), "--base-url", "http://127.0.0.1:9"]):
        done = webmem_cli(*command)
        assert done.returncode == 2, done.stderr
        assert "step 2 (click)" in done.stderr and "Traceback" not in done.stderr


def test_upload_is_recorded_replayed_and_healed(page: Page, portal, tmp_path: Path) -> None:
    first, second, third = (tmp_path / n for n in ("q3.pdf", "q4.pdf", "q1.pdf"))
    for i, path in enumerate((first, second, third)):
        path.write_bytes(b"%PDF-" + b"x" * (10 + i))
    rec = webmem.Recorder(page, name="upload-document", task="Upload a document",
                          inputs={"title": "Q3 report", "document": str(first)},
                          specs={"title": InputSpec(), "document": InputSpec(type="file")})
    rec.goto(portal.url + "/documents")
    rec.fill(page.get_by_label("Title"), "Q3 report")
    rec.upload(page.get_by_label("Document"), str(first))
    rec.click(page.get_by_role("button", name="Upload document"))
    flow = rec.flow()
    upload = flow.steps[2]
    assert upload.action == "upload" and upload.upload.files == "{{ document }}"  # the path is an input
    assert flow.steps[3].expect is not None
    path = tmp_path / "upload-document.yaml"
    webmem.save_flow(flow, path)
    assert str(first) not in path.read_text()

    report = webmem.replay(page, path, {"title": "Q4 report", "document": str(second)}, base_url=portal.url)
    assert report.passed, report.error
    docs = portal.submissions("document")
    assert docs[-1]["data"] == {"title": "Q4 report", "filename": "q4.pdf", "size": 16}

    with pytest.raises(webmem.InputError, match="no such file"):  # before any step
        webmem.replay(page, path, {"title": "x", "document": str(tmp_path / "missing.pdf")}, base_url=portal.url)

    ff = webmem.load_flow(path)  # only the id selector: the renamed page breaks it, healing finds the field
    ff.flow.steps[2].target.selectors = [s for s in ff.flow.steps[2].target.selectors if s.startswith("css=#")]
    webmem.save_flow(ff.flow, path)
    portal.set_variant("renamed_ids")
    report = webmem.replay(page, path, {"title": "Q1 report", "document": str(third)}, base_url=portal.url,
                           heal="local", write=True)
    assert report.passed, report.error
    assert report.steps[2].status == "healed" and report.steps[2].heal.tier == "local"
    assert portal.submissions("document")[-1]["data"]["filename"] == "q1.pdf"
    assert "healed:" in path.read_text()
