"""Repeated rows (issue 20, item 4): a list input drives a `repeat` block learned from two items, on a real
master-detail form (an invoice with inline line rows and an "Add another line" link) in real Chromium; the
server's own records say what landed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from webmem.batch.enter import adopt
from webmem.batch.rows import read_rows, with_children
from webmem.errors import DataFileError, FlowFormatError, InputError
from webmem.flow.flowfile import load_flow, parse_flow, save_flow
from webmem.flow.format import Flow
from webmem.flow.inputs import resolve_inputs
from webmem.learn.agents import record_task
from webmem.learn.record import Recorder
from webmem.page import inpage
from webmem.playback.replayer import Replayer
from webmem.playback.run import run_flow

from .batch_helpers import FAST_CONFIG, run_batch, write_csv
from .invoice_site import InvoiceSite

DEMO = [{"description": "Widget", "quantity": 2, "unit_price": "9.50"},
        {"description": "Gadget", "quantity": 1, "unit_price": "20.00"}]


def lines(n: int, tag: str = "") -> list[dict[str, Any]]:
    return [{"description": f"Part {tag}{i}", "quantity": i + 1, "unit_price": f"{i}.25"} for i in range(n)]


def as_sent(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in item.items()} for item in items]


@pytest.fixture(scope="module")
def site() -> Iterator[InvoiceSite]:
    with InvoiceSite() as s:
        yield s


@pytest.fixture(scope="module")
def learned(site: InvoiceSite, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The invoice flow, learned through the Recorder from a demonstration of two lines."""
    context = browser.new_context()
    inpage.install(context)
    page = context.new_page()
    rec = Recorder(page, name="add-invoice", task="Add an invoice", inputs={"customer": "ACME", "lines": DEMO})
    rec.goto(site.url + "/invoices/add/")
    rec.fill(page.get_by_label("Customer:"), "ACME")
    for n, line in enumerate(DEMO):
        if n:
            rec.add_another(page.get_by_text("Add another line"))
        with rec.item("lines", n):
            for field in ("description", "quantity", "unit_price"):
                rec.fill(page.locator(f"[name=lines-{n}-{field}]"), str(line[field]))
    rec.click(page.get_by_role("button", name="Save"))
    path = tmp_path_factory.mktemp("repeat") / "add-invoice.yaml"
    save_flow(rec.flow(), path)
    context.close()
    assert site.invoices[-1] == {"customer": "ACME", "lines": as_sent(DEMO)}
    return path


@pytest.fixture
def fresh(context: BrowserContext) -> Page:
    return context.new_page()


def test_learned_with_two_lines_replays_with_one_and_three(learned: Path, site: InvoiceSite, fresh: Page) -> None:
    flow = load_flow(learned).flow
    [block] = [s for s in flow.steps if s.action == "repeat"]
    assert block.repeat.over == "lines" and [s.action for s in block.repeat.add] == ["click"]
    template = block.repeat.steps[0].fill
    assert template.value == "{{ lines.description }}"
    assert any("lines-{{ lines.index }}-description" in s for s in template.target.selectors)
    assert flow.inputs["lines"].type == "list" and flow.inputs["lines"].items["quantity"].type == "number"
    for n in (1, 3):  # (and ten on the CRM portal, below)
        page = fresh.context.new_page()
        report = run_flow(page, flow, {"customer": f"Customer {n}", "lines": lines(n, f"{n}-")})
        assert report.passed, report.error
        # exactly the items given: with one, the form's blank rows stay blank (none is sent as a line)
        assert site.invoices[-1] == {"customer": f"Customer {n}", "lines": as_sent(lines(n, f"{n}-"))}
        items = [s.item for s in report.steps if s.item]
        assert items[-1] == f"item {n} step 3" and all(s.index == 3 for s in report.steps if s.item)
        page.close()
    # a failure inside the block names the item and its step: this form takes two lines, its add link hides
    site.limits["max"] = 2
    try:
        report = run_flow(fresh, flow, {"customer": "Too many", "lines": lines(3)}, options=_fast())
    finally:
        site.limits["max"] = 1000
    assert report.error is not None and report.error.startswith("step 3 (repeat) item 3 add step 1 (click) failed")
    assert all(inv["customer"] != "Too many" for inv in site.invoices)  # nothing was saved


def test_a_later_row_takes_the_fast_path_where_a_passed_row_saw_the_same_rows(
        learned: Path, site: InvoiceSite, fresh: Page) -> None:
    """Batch speed on inline rows (issue 20's bench): item n's steps see n rows, unlike the page learned with
    one, so they took the careful path on every row. A passed run remembers the page at each place of the plan
    (item 3 step 1; the Save click after 3 items); batch's adopted flow, in memory, takes exactly that as the
    learned state at the same place in the next row. A place no run saw yet (a 4th item, the Save click after
    4) is still checked the careful way, and the flow file never changes."""
    before = learned.read_text(encoding="utf-8")
    replayer = Replayer(base_url=site.url, write=True)
    first = replayer.run(fresh, learned, {"customer": "Place 1", "lines": lines(3, "p")})
    assert first.passed, first.error
    assert {s.item: s.page_match for s in first.steps}["item 3 step 1"].startswith("similar")
    adopted = adopt(load_flow(learned).flow, first)  # what a batch worker replays its next row with
    second = replayer.run(fresh, adopted, {"customer": "Place 2", "lines": lines(4, "q")})
    assert second.passed, second.error
    assert site.invoices[-1] == {"customer": "Place 2", "lines": as_sent(lines(4, "q"))}
    match = {s.item or s.action: s.page_match for s in second.steps}
    seen = [k for k in match if k.startswith(("item 1 ", "item 2 ", "item 3 "))]
    assert len(seen) == 11 and all(match[k] == "exact" for k in seen), match
    assert match["item 4 step 1"].endswith("targets verified") and match["click"].endswith("targets verified")
    assert learned.read_text(encoding="utf-8") == before


def _fast() -> Any:
    from webmem.browser.config import Timeouts
    from webmem.playback.run import RunOptions

    return RunOptions(timeouts=Timeouts(action=1500, navigation=5000, settle=1000))


FLOW = """webmem: 1
name: add-invoice
task: Add an invoice
base_url: http://127.0.0.1:9
inputs:
  customer: {}
  lines:
    type: list
    items:
      description: {}
      quantity: {type: number}
      unit_price: {}
steps:
  - goto: /invoices/add/
  - fill:
      target: {intent: the customer field, selectors: ['label=Customer:']}
      value: '{{ customer }}'
  - repeat:
      over: lines
      steps:
        - fill:
            target: {intent: the description cell, selectors: ['css=[name="lines-{{ lines.index }}-description"]']}
            value: '{{ lines.description }}'
        - fill:
            target: {intent: the quantity cell, selectors: ['xpath=//tbody/tr[{{ lines.index+1 }}]/td[2]/input']}
            value: '{{ lines.quantity }}'
        - fill:
            target: {intent: the unit price cell, selectors: ['css=[name="lines-{{ lines.index }}-unit_price"]']}
            value: '{{ lines.unit_price }}'
      add:
        - click:
            target: {intent: the add link, selectors: ['text=Add another line']}
  - click:
      target: {intent: the Save button, selectors: ['role=button[name="Save"]']}
    commit: true
    expect: {text: Invoice saved}
"""


def test_list_inputs_are_checked_item_by_item() -> None:
    flow = parse_flow(FLOW, "x.yaml")[0]
    with pytest.raises(InputError, match=r"input 'lines\[1\]\.quantity': expected a number, got 'many'"):
        resolve_inputs(flow, {"customer": "A", "lines": [DEMO[0], {**DEMO[1], "quantity": "many"}]})
    with pytest.raises(InputError, match=r"lines\[0\]: unknown field\(s\) colour"):
        resolve_inputs(flow, {"customer": "A", "lines": [{**DEMO[0], "colour": "red"}]})
    with pytest.raises(InputError, match=r"lines\[0\]\.description: missing"):
        resolve_inputs(flow, {"customer": "A", "lines": [{"quantity": 1, "unit_price": "1"}]})
    with pytest.raises(InputError, match="expected at least one item"):
        resolve_inputs(flow, {"customer": "A", "lines": []})
    # JSON text (a command line's or a CSV cell's) is a list too
    got = resolve_inputs(flow, {"customer": "A", "lines": json.dumps(DEMO)})
    assert got["lines"][0] == {"description": "Widget", "quantity": 2, "unit_price": "9.50"}


def test_item_placeholders_are_checked_when_the_flow_loads() -> None:
    text = FLOW
    with pytest.raises(FlowFormatError, match=r"step 3 \(repeat\) item step 1 \(fill\): placeholder "
                                              r"\{\{ lines.colour \}\} is not a declared input"):
        parse_flow(text.replace("'{{ lines.description }}'", "'{{ lines.colour }}'"), "x.yaml")
    with pytest.raises(FlowFormatError, match=r"placeholder \{\{ lines.quantity \}\} .*inside its repeat block"):
        parse_flow(text.replace("value: '{{ customer }}'", "value: '{{ lines.quantity }}'"), "x.yaml")
    with pytest.raises(FlowFormatError, match=r"`over: customer` is not a declared list input"):
        parse_flow(text.replace("over: lines", "over: customer"), "x.yaml")
    with pytest.raises(FlowFormatError, match=r"placeholder \{\{ lines.number \}\}"):
        parse_flow(text.replace("lines.index+1", "lines.number"), "x.yaml")
    flow = parse_flow(text, "x.yaml")[0]
    assert isinstance(flow, Flow)
    # a replay plans each item's steps with its index written in (1-based rows: index+1)
    from webmem.steps.repeat import plan

    planned = plan(flow.steps, resolve_inputs(flow, {"customer": "A", "lines": lines(3)}))
    assert [p.where for p in planned[2:7]] == ["item 1 step 1", "item 1 step 2", "item 1 step 3",
                                                 "item 2 add step 1", "item 2 step 1"]
    assert planned[-3].step.fill.target.selectors == ["xpath=//tbody/tr[3]/td[2]/input"]
    assert planned[-3].values["lines.quantity"] == 3 and planned[-1].where == ""


def test_do_learns_the_rows_offline_from_an_inputs_file_then_replays_other_counts(
        site: InvoiceSite, webmem_cli: Any, tmp_path: Path) -> None:
    """The issue's command line: `webmem do ... --inputs-file invoice.json` with two lines is learned by the
    offline agent (cells named by their column headers, "Add another line" between rows); five is a hit."""
    store = tmp_path / "flows"
    invoice = tmp_path / "invoice.json"
    url = site.url + "/invoices/add/"
    invoice.write_text(json.dumps({"customer": "Learned offline", "lines": lines(2, "o")}))
    done = webmem_cli("do", url, "--task", "Add an invoice", "--inputs-file", str(invoice), "--store", str(store),
                      "--agent", "heuristic")
    assert done.returncode == 0, done.stdout + done.stderr
    assert site.invoices[-1] == {"customer": "Learned offline", "lines": as_sent(lines(2, "o"))}
    [path] = store.glob("*.yaml")
    [block] = [s for s in load_flow(path).flow.steps if s.action == "repeat"]
    assert [s.action for s in block.repeat.steps] == ["fill"] * 3 and [s.action for s in block.repeat.add] == ["click"]
    invoice.write_text(json.dumps({"customer": "Replayed", "lines": lines(5, "r")}))
    again = webmem_cli("do", url, "--task", "Add an invoice", "--inputs-file", str(invoice), "--store", str(store),
                       "--agent", "heuristic")
    assert again.returncode == 0 and "replay" in again.stdout.lower(), again.stdout + again.stderr
    assert site.invoices[-1] == {"customer": "Replayed", "lines": as_sent(lines(5, "r"))}


def test_batch_takes_lines_as_csv_child_rows(site: InvoiceSite, tmp_path: Path) -> None:
    (tmp_path / "webmem.json").write_text(FAST_CONFIG)
    flow = tmp_path / "add-invoice.yaml"  # written by hand (as the README shows the format)
    flow.write_text(FLOW.replace("http://127.0.0.1:9", site.url))
    write_csv(tmp_path / "invoices.csv", [{"id": "inv-1", "customer": "Batch one"},
                                          {"id": "inv-2", "customer": "Batch two"}])
    children = [{"invoice": "inv-2", **line} for line in lines(3, "b")] + [{"invoice": "inv-1", **lines(1, "a")[0]}]
    write_csv(tmp_path / "lines.csv", children)
    r = run_batch(tmp_path, str(flow), "invoices.csv", "--children", "lines=lines.csv", "--parent-key", "invoice")
    assert r.returncode == 0, r.stdout + r.stderr
    got = {inv["customer"]: inv["lines"] for inv in site.invoices if inv["customer"].startswith("Batch")}
    assert got == {"Batch one": as_sent(lines(1, "a")), "Batch two": as_sent(lines(3, "b"))}


def test_rows_with_lists_from_json_lines_and_child_rows(tmp_path: Path) -> None:
    jsonl = tmp_path / "invoices.jsonl"
    jsonl.write_text("\n".join(json.dumps({"id": f"i{n}", "customer": "C", "lines": lines(n)}) for n in (1, 2)))
    assert [r.values["lines"] for r in read_rows(jsonl)] == [lines(1), lines(2)]
    parents = write_csv(tmp_path / "p.csv", [{"id": "a", "customer": "A"}, {"id": "b", "customer": "B"}])
    kids = write_csv(tmp_path / "k.csv", [{"inv": "b", "description": "x", "quantity": "2"},
                                          {"inv": "b", "description": "y", "quantity": ""}])
    rows = list(with_children(read_rows(parents), {"lines": kids}, "inv", {"a", "b"}))
    assert "lines" not in rows[0].values  # a parent with no child rows: its list input is missing
    assert rows[1].values["lines"] == [{"description": "x", "quantity": "2"}, {"description": "y"}]
    with pytest.raises(DataFileError, match="name no row of the parent file"):
        list(with_children(read_rows(parents), {"lines": kids}, "inv", {"a"}))


def test_crm_invoice_learned_offline_from_two_lines_replays_with_one_three_and_ten(page: Page, crm: Any) -> None:
    """The realistic portal (signed in, CSRF, lines named like Django formsets, no labels but column headers):
    the offline agent learns the invoice from two lines; the portal's database holds exactly the lines given."""
    from .test_portals import sign_in

    tag = uuid.uuid4().hex[:6]
    page.goto(crm.url + "/invoices/new")
    sign_in(page, crm.user, crm.password, "Sign in")
    page.wait_for_url("**/invoices/new")
    learned = record_task(page, crm.url + "/invoices/new", "Add an invoice",
                          {"customer": f"Learned {tag}", "lines": lines(2, "L")})
    assert learned.done, learned.summary
    assert learned.flow is not None and [s.action for s in learned.flow.steps].count("repeat") == 1
    for n in (1, 3, 10):
        report = run_flow(page, learned.flow, {"customer": f"{tag} {n}", "lines": lines(n)})
        assert report.passed, report.error
        [stored] = [inv for inv in crm.invoices() if inv["customer"] == f"{tag} {n}"]
        assert [{k: ln[k] for k in ("description", "quantity", "unit_price")} for ln in stored["lines"]] == lines(n)


def test_flask_admin_inline_lines_learned_from_two_items_with_no_blank_row(page: Page, admin_portal: Any) -> None:
    """A third-party admin (Flask-Admin, from PyPI) shows no line row until "Add Lines" is clicked: the
    Recorder learns the add before every item (`add_first`), and a replay with 1 and 3 lines stores exactly
    those, judged by its database."""
    from .test_portals import sign_in

    tag = uuid.uuid4().hex[:6]
    url = admin_portal.url + "/admin/invoice/new/"
    page.goto(url)
    sign_in(page, admin_portal.user, admin_portal.password, "Log in")
    page.wait_for_url("**/admin/invoice/new/")
    rec = Recorder(page, name="add-invoice", task="Add an invoice",
                   inputs={"customer": f"Demo {tag}", "lines": DEMO})
    rec.goto(url)
    rec.fill(page.get_by_label("Customer"), f"Demo {tag}")
    for n, line in enumerate(DEMO):
        rec.add_another(page.get_by_role("button", name="Add Lines"))
        with rec.item("lines", n):
            for field in ("description", "quantity", "unit_price"):
                rec.fill(page.locator(f"#lines-{n}-{field}"), str(line[field]))
    rec.click(page.get_by_role("button", name="Save", exact=True))
    flow = rec.flow()
    [block] = [s for s in flow.steps if s.action == "repeat"]
    assert block.repeat.add_first
    for n in (1, 3):
        report = run_flow(page, flow, {"customer": f"{tag} {n}", "lines": lines(n)})
        assert report.passed, report.error
        [stored] = [inv for inv in admin_portal.invoices() if inv["customer"] == f"{tag} {n}"]
        assert [(ln["description"], ln["quantity"], float(ln["unit_price"])) for ln in stored["lines"]] == \
            [(ln["description"], ln["quantity"], float(ln["unit_price"])) for ln in lines(n)]


def test_the_offline_agent_refuses_a_list_of_one_item() -> None:
    from webmem.errors import AgentError
    from webmem.flow.inputs import list_spec
    from webmem.learn.agents.base import InputView
    from webmem.learn.agents.rows import RowFiller

    with pytest.raises(AgentError, match="learned from two items or more"):
        RowFiller([InputView("lines", list_spec(lines(1)), lines(1))])


def test_a_form_showing_blank_rows_learns_its_add_control_unclicked(site: InvoiceSite, page: Page) -> None:
    """A form that shows three blank rows (Django's `extra = 3`): the offline agent enters two lines into the
    rows that are there and learns the "Add another line" link without clicking it; a replay with one line
    leaves the other rows blank, one with five fills the three and adds two."""
    site.limits["extra"] = 3
    try:
        learned = record_task(page, site.url + "/invoices/add/", "Add an invoice",
                              {"customer": "Three rows", "lines": lines(2, "t")})
        assert learned.done and learned.flow is not None, learned.summary
        assert [a.action for a in learned.actions].count("click") == 2  # the add (learned only) and Save
        for n in (1, 5):
            report = run_flow(page, learned.flow, {"customer": f"Three rows {n}", "lines": lines(n, "x")})
            assert report.passed, report.error
            assert site.invoices[-1] == {"customer": f"Three rows {n}", "lines": as_sent(lines(n, "x"))}
            skipped = [s.item for s in report.steps if s.status == "skipped"]
            assert skipped == ["item 2 add step 1", "item 3 add step 1"][: min(n, 3) - 1]
    finally:
        site.limits["extra"] = 1
