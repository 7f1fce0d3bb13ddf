"""Replay on pages nobody wrote the flow for: page identity is evidence, not a gate; targets tied to data and
to their row; overlays that appear sometimes; and never a guess (a nameless toggle is not "Mark all")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page

import webmem
from webmem.flow.model import InputSpec

from .conftest import FLOWS

INPUTS = {"full_name": "Real Page", "email": "real@example.com", "plan": "enterprise", "notes": "n"}
EXPECTED = {"full_name": "Real Page", "email": "real@example.com", "plan": "enterprise", "contact": "phone",
            "start_date": "2026-12-01", "notes": "n"}


def customer_flow(tmp_path: Path) -> Path:
    path = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    return path


@pytest.mark.parametrize("variant", ["renamed_path", "new_action", "table_form", "identical_toggles"])
def test_equivalent_pages_are_not_refused(page: Page, portal, tmp_path: Path, variant: str) -> None:
    """A renamed path, a form with a new action and heading, a form laid out in a table, options turned
    into identical toggles: every target verifies (or heals on its own evidence) and the right data lands."""
    portal.set_variant(variant)
    report = webmem.replay(page, customer_flow(tmp_path), INPUTS, base_url=portal.url, heal="local")
    assert report.passed, report.error
    [sub] = portal.submissions("customer")
    assert {k: v for k, v in sub["data"].items() if k in EXPECTED} == EXPECTED
    assert sub["data"].get("vip") == "yes"
    assert not portal.submissions("newsletter") and portal.deleted_all == 0


def test_a_sometimes_popup_is_named_and_a_handler_dismisses_it(page: Page, portal, tmp_path: Path) -> None:
    portal.set_variant("sometimes_popup")
    path = customer_flow(tmp_path)
    report = webmem.replay(page, path, INPUTS, base_url=portal.url, heal="local")
    assert not report.passed  # the popup disabled the form: nothing behind it is clicked...
    assert "Check the e-mail address" in report.error  # ...and the error names it
    assert portal.submissions("customer") == []
    data = webmem.load_flow(path).flow.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["handlers"] = [{"when": 'role=dialog[name="Check the e-mail address"]',
                         "do": [{"click": {"target": {"intent": "the popup's Continue button",
                                                      "selectors": ['role=button[name="Continue"]']}}}]}]
    webmem.save_flow(webmem.Flow.model_validate(data), path)
    portal.reset()  # the popup shows on the first render after a reset
    report = webmem.replay(page, path, INPUTS, base_url=portal.url, heal="local")
    assert report.passed, report.error
    assert portal.submissions("customer")[0]["data"]["email"] == INPUTS["email"]


TODOS = """<title>todos</title><h1>todos</h1>
<section><input id=toggle-all type=checkbox><label for=toggle-all>Mark all as complete</label>
<ul class=todo-list>{items}</ul></section>
<script>
document.querySelectorAll('.toggle').forEach((t) => t.addEventListener('change', () =>
  t.closest('li').classList.toggle('completed', t.checked)));
document.getElementById('toggle-all').addEventListener('change', (e) =>
  document.querySelectorAll('.toggle').forEach((t) => { t.checked = e.target.checked; }));
</script>"""


def todo_page(*items: str) -> str:
    return TODOS.replace("{items}", "".join(
        f'<li><div class=view><input class=toggle type=checkbox><label>{text}</label>'
        f'<button class=destroy></button></div></li>' for text in items))


def checked(page: Page) -> list[str]:
    return page.eval_on_selector_all("li", "(els) => els.filter((li) => li.querySelector('.toggle').checked)"
                                           ".map((li) => li.innerText.trim())")


def test_a_target_tied_to_its_item_finds_its_own_row_or_refuses(page: Page, hostile, tmp_path: Path) -> None:
    hostile.pages["/"] = todo_page("Buy milk", "Walk the dog", "Call mum")
    rec = webmem.Recorder(page, name="complete-todo", task="Complete the to-do {{ todo }}",
                          inputs={"todo": "Walk the dog"}, specs={"todo": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.check(page.get_by_role("listitem").filter(has_text="Walk the dog").get_by_role("checkbox"))
    flow = rec.flow()
    target = flow.steps[1].target
    assert any("{{ todo }}" in s for s in target.selectors), target.selectors  # the relation, not a position
    assert target.fingerprint.row == "{{ todo }}"
    path = tmp_path / "complete-todo.yaml"
    webmem.save_flow(flow, path)

    hostile.pages["/"] = todo_page("Pay rent", "Call mum", "Buy milk", "Walk the dog")  # other order, more items
    report = webmem.replay(page, path, {"todo": "Buy milk"}, heal="local")
    assert report.passed, report.error
    assert checked(page) == ["Buy milk"]

    report = webmem.replay(page, path, {"todo": "Feed the cat"}, heal="local")  # no such item
    assert not report.passed
    assert checked(page) == []  # never the only other visible checkbox, "Mark all as complete"


def test_the_offline_agent_places_inputs_by_option_labels(page: Page, hostile) -> None:
    from webmem.learn.agents import HeuristicAgent, record_task

    hostile.pages["/"] = """<title>order</title><h1>Order a pizza</h1>
    <form method=post action=/done><label>Name <input name=who></label>
    <fieldset><legend>Size</legend><label><input type=radio name=size value=s> Small</label>
    <label><input type=radio name=size value=l> Large</label></fieldset>
    <label><input type=checkbox name=extra value=cheese> Cheese</label>
    <label><input type=checkbox name=extra2 value=olives> Olives</label>
    <button>Order</button></form>"""
    hostile.pages["/done"] = "<title>done</title><h1>Thank you</h1>"
    result = record_task(page, hostile.url + "/", "Order a pizza",
                         {"name": "Ann", "size": "Large", "topping": "Cheese"}, agent=HeuristicAgent())
    assert result.done, result.summary
    [(_, _, body)] = [r for r in hostile.requests if r[0] == "POST"]
    assert body.decode() == "who=Ann&size=l&extra=cheese"
    result = record_task(page, hostile.url + "/", "Order a pizza", {"name": "Ann", "topping": "Anchovies"},
                         agent=HeuristicAgent())
    assert not result.done and "'topping'" in result.summary  # says which input it could not place
