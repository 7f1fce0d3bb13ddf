"""The flow file format: round trip, comments, clear errors, safe loading, the JSON Schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from webmem.errors import FlowFormatError
from webmem.flow.flowfile import dump_flow, load_flow, parse_flow, save_flow, save_flow_file

from .conftest import FLOWS

MINIMAL = """webmem: 1
name: t
task: do it
inputs:  # a placeholder names a declared input
  email: {}
  mail: {}
steps:
  - goto: /a
  - fill:
      target:
        intent: the email
        selectors: ['css=#email']
      value: '{{ email }}'
"""


def test_example_flows_are_canonical_and_noop_save_writes_nothing(tmp_path: Path) -> None:
    for src in FLOWS.glob("*.yaml"):
        path = tmp_path / src.name
        shutil.copy(src, path)
        before = path.stat().st_mtime_ns
        ff = load_flow(path)
        assert dump_flow(ff.flow) == ff.text, f"{src.name} is not in canonical form"
        assert save_flow_file(ff) is False
        assert save_flow(ff.flow, path) is False
        assert path.stat().st_mtime_ns == before


def test_comments_survive_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("# reviewed by Ann\n" + MINIMAL.replace("task: do it", "task: do it  # keep short"))
    ff = load_flow(path)
    ff.doc["steps"][1]["fill"]["value"] = "{{ mail }}"
    assert save_flow_file(ff)
    text = path.read_text()
    assert "# reviewed by Ann" in text and "# keep short" in text and "{{ mail }}" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace("webmem: 1", "webmem: 7"), "format version 7 is newer"),
        (MINIMAL.replace("webmem: 1\n", ""), "missing format version"),
        # pydantic's words ("Field required", "Extra inputs are not permitted") said in webmem's, naming the field
        (MINIMAL.replace("        selectors: ['css=#email']\n", ""),
         "step 2 (fill): target.selectors: required, but missing"),
        (MINIMAL.replace("  - goto: /a", "  - clik: /a"), "step 1: unknown action 'clik' (did you mean click?)"),
        (MINIMAL.replace("name: t", "name: t\nbogus: 1"), "bogus: unknown field"),
        (MINIMAL.replace("name: t", "nmae: t"), "nmae: unknown field (did you mean name?)"),
        (MINIMAL.replace("        selectors:", "        intnet: x\n        selectors:"),
         "step 2 (fill): target.intnet: unknown field (did you mean intent?)"),
        # a css= selector is CSS syntax, checked by a CSS parser when the flow loads (no browser)
        (MINIMAL.replace("css=#email", "css=#email["),
         "step 2 (fill): target.selectors: bad CSS selector 'css=#email['"),
        ("webmem: 1\nname: [unclosed\n", "YAML syntax"),
        (MINIMAL.replace("name: t", "name: !!python/object:os.system t"), "tags are not allowed"),
        (MINIMAL + "  - fill:\n      target: {intent: x, selectors: ['css=a']}\n      value: v\n      page: nowhere\n",
         "page 'nowhere' is not defined"),
    ],
)
def test_malformed_flows_give_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FlowFormatError) as info:
        load_flow(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message
    assert "Traceback" not in message


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "#" * (3 * 1024 * 1024))
    with pytest.raises(FlowFormatError, match="larger than"):
        load_flow(path)


def test_schema_command(webmem_cli) -> None:
    done = webmem_cli("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["title"] == "webmem flow file" and "steps" in schema["properties"]


def test_validate_and_show_commands(webmem_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("webmem: 1", "webmem: 9"))
    done = webmem_cli("validate", str(FLOWS / "create-customer.yaml"), str(bad))
    assert done.returncode == 2
    assert "create-customer" in done.stdout and "newer than this webmem" in done.stderr
    assert "Traceback" not in done.stderr
    shown = webmem_cli("show", str(FLOWS / "create-customer.yaml"))
    assert shown.returncode == 0 and "full_name" in shown.stdout and "Save customer" in shown.stdout


def test_parse_flow_accepts_numbers_as_values() -> None:
    flow, _ = parse_flow(MINIMAL.replace("'{{ email }}'", "42"))
    assert flow.steps[1].fill.value == "42"


# issue 22: whatever a page holds, the writer quotes it so it reads back; a flow that cannot be read back is kept

ODD = ["hover:bg-blue-500", "href: https://x.test/a", ":href", "@click", "? a", "- a", "a #b", "x, y", "[a]",
       "{a}", "&a", "*a", "!tag", "%a", "`a", "|a", ">a", "'a", '"a', "a\nb", "a\x85b", "\u2028", "  a", "a  ",
       "null", "true", "1e3", "~", "#a", "a:b,c"]


def test_any_page_string_is_written_so_it_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(MINIMAL)
    flow = load_flow(path).flow
    target = flow.steps[1].fill.target
    target.intent = " ".join(ODD)
    from webmem.flow.model import Fingerprint

    target.fingerprint = Fingerprint.model_validate({  # a fingerprint as a page could make it
        "tag": "input", "name": "hover:x", "classes": ODD, "attrs": {o.strip() or "k": o for o in ODD}})
    assert save_flow(flow, path)
    back = load_flow(path).flow.steps[1].fill.target
    assert back.fingerprint.classes == ODD and back.fingerprint.attrs == target.fingerprint.attrs
    assert back.intent == target.intent
    # a write-back into the {...} already in the file (a heal's new fingerprint) reads back too
    from webmem.flow.flowfile import merge_into, to_plain, update_flow

    def change(ff) -> None:
        body = ff.doc["steps"][1]["fill"]
        new = to_plain(back)
        new["fingerprint"]["attrs"] = {f"{k}x": f"{v}: y" for k, v in new["fingerprint"]["attrs"].items()}
        new["fingerprint"]["classes"] = [f"{c}:z" for c in ODD]
        body["target"] = merge_into(body["target"], new, "target")

    update_flow(path, change)
    healed = load_flow(path).flow.steps[1].fill.target.fingerprint
    assert healed.classes == [f"{c}:z" for c in ODD] and healed.attrs["hover:bg-blue-500x"] == "hover:bg-blue-500: y"


def test_a_flow_that_would_not_read_back_is_kept_and_named(tmp_path: Path) -> None:
    path = tmp_path / "flows" / "big.yaml"
    flow = parse_flow(MINIMAL)[0]
    flow.task = "x" * (2 * 1024 * 1024 + 1024)  # more than a flow may hold: the read-back refuses it
    with pytest.raises(FlowFormatError, match="not written: it would not read back; the flow is kept in") as info:
        save_flow(flow, path)
    assert not path.exists()
    kept = Path(str(info.value).split("the flow is kept in ")[1].strip())
    assert kept.is_relative_to(path.parent / ".webmem") and json.loads(kept.read_text())["task"] == flow.task
