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


APP = """<title>todos</title><section class=app><header><h1>todos</h1>{box}</header>
<ul class=todo-list></ul></section>{aside}
<script>
const box = document.querySelector('.new');
const add = (e) => { e.preventDefault(); const li = document.createElement('li');
  li.innerHTML = '<span class=skin><input class=toggle type=checkbox></span><label></label>';
  li.querySelector('label').textContent = box.value; box.value = '';
  document.querySelector('.todo-list').append(li); };
box.addEventListener('keydown', (e) => { if (e.key === 'Enter') add(e); });
</script>
<style>.skin { display: inline-block; width: 20px; height: 20px; background: #eee; position: relative; }
.skin input { opacity: 0; position: absolute; inset: 0; margin: 0; }</style>"""
BOX = '<input class=new placeholder="What needs to be done?">'


def test_another_implementation_of_the_same_app_replays(page: Page, hostile, tmp_path: Path) -> None:
    """Recorded where the box sits in a section's header (no landmark), replayed where a framework wrapped it
    in a form and the page has a sidebar with a header of its own; the item's checkbox is a transparent
    input over a styled skin (a widget library's pattern), which is where a person clicks."""
    hostile.pages["/a"] = APP.replace("{box}", BOX).replace("{aside}", "")
    rec = webmem.Recorder(page, name="todo", task="Add {{ todo }} and complete it", inputs={"todo": "Buy milk"},
                          specs={"todo": InputSpec()})
    rec.goto(hostile.url + "/a")
    box = page.get_by_placeholder("What needs to be done?")
    rec.fill(box, "Buy milk")
    rec.press(box, "Enter")
    rec.check(page.get_by_role("listitem").filter(has_text="Buy milk").get_by_role("checkbox"))
    flow = rec.flow()
    assert flow.steps[1].target.fingerprint.context is None  # a header inside a section is not the banner
    path = tmp_path / "todo.yaml"
    webmem.save_flow(flow, path)

    sidebar = "<aside><header><h2>Learn</h2><a href=#s>Source</a><input placeholder=Search></header></aside>"
    hostile.pages["/b"] = APP.replace("{box}", f"<form id=todo-form>{BOX}</form>").replace("{aside}", sidebar)
    data = flow.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["steps"][0]["goto"] = hostile.url + "/b"
    webmem.save_flow(webmem.Flow.model_validate(data), path)
    report = webmem.replay(page, path, {"todo": "Walk the dog"}, heal="local")
    assert report.passed, report.error
    assert page.eval_on_selector_all("li", "(els) => els.map((li) => [li.innerText.trim(), "
                                     "li.querySelector('.toggle').checked])") == [["Walk the dog", True]]


def test_a_transparent_text_field_is_still_no_target(page: Page, hostile) -> None:
    """Only a checkbox, radio or file input over a visible skin counts; a see-through text box is a honeypot."""
    from webmem.page import locate

    hostile.pages["/"] = """<title>t</title><span class=skin style="display:inline-block;width:90px;height:20px">
    <input placeholder=Email style="opacity:0;width:90px"></span>"""
    page.goto(hostile.url + "/")
    _, infos = locate.probe(page, "placeholder=Email")
    assert [i["visible"] for i in infos] == [False]


WORDS = """<title>links</title><p>Lorem {a} ipsum <span class=alink onclick="clicked.push(this.textContent)">{b}</span>
dolor</p><script>window.clicked = [];</script><style>.alink {{ color: blue; cursor: pointer; }}</style>"""


def test_a_target_tied_to_data_never_takes_a_word_like_it(page: Page, hostile, tmp_path: Path) -> None:
    """'Click the link {{ link }}': a link reading "nisi." where the datum is "nisi," is another link, however
    alike the words; the run stops and nothing is clicked."""
    hostile.pages["/"] = WORDS.format(a="", b="nisi,")
    rec = webmem.Recorder(page, name="link", task="Click the link {{ link }}", inputs={"link": "nisi,"},
                          specs={"link": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.click(page.get_by_text("nisi,", exact=True))
    path = tmp_path / "link.yaml"
    webmem.save_flow(rec.flow(), path)
    assert rec.flow().steps[1].target.fingerprint.text == "{{ link }}"

    hostile.pages["/"] = WORDS.format(a="nisi,", b="nisi.")
    report = webmem.replay(page, path, {"link": "nisi,"}, heal="local")
    assert not report.passed
    assert "does not show 'nisi,'" in report.error
    assert page.evaluate("clicked") == []

    hostile.pages["/"] = WORDS.format(a="amet", b="nisi,")
    assert webmem.replay(page, path, {"link": "nisi,"}, heal="local").passed
    assert page.evaluate("clicked") == ["nisi,"]


POPUP = """<title>signup</title><h1>Sign up</h1><form action=/done method=post>
<label>Name <input name=who></label><button>Join</button></form>
{popup}"""
DIALOG = """<div role=dialog aria-label="Our newsletter" style="position:fixed;inset:20%;background:#fff">
<p>Get news?</p><button onclick="this.parentElement.remove()">No thanks</button></div>"""


def test_an_overlay_dismissed_while_recording_becomes_a_handler(page: Page, hostile, tmp_path: Path) -> None:
    """Dismissed during the demonstration, the popup is a handler, not a step: a replay without it does not
    wait for it, a replay with it closes it, and the data lands either way."""
    hostile.pages["/"] = POPUP.format(popup=DIALOG)
    hostile.pages["/done"] = "<title>done</title><h1>Welcome</h1>"
    rec = webmem.Recorder(page, name="signup", task="Sign up as {{ who }}", inputs={"who": "Ann"},
                          specs={"who": InputSpec()})
    rec.goto(hostile.url + "/")
    handler = rec.dismiss(page.get_by_role("button", name="No thanks"))
    assert handler.when == 'role=dialog[name="Our newsletter"]'
    rec.fill(page.get_by_label("Name"), "Ann")
    rec.click(page.get_by_role("button", name="Join"))
    flow = rec.flow()
    assert [s.action for s in flow.steps] == ["goto", "fill", "click"] and len(flow.handlers) == 1
    path = tmp_path / "signup.yaml"
    webmem.save_flow(flow, path)

    for popup in ("", DIALOG):
        hostile.pages["/"] = POPUP.format(popup=popup)
        hostile.requests.clear()
        report = webmem.replay(page, path, {"who": "Bea"}, heal="off")
        assert report.passed, (popup, report.error)
        assert [r[2] for r in hostile.requests if r[0] == "POST"] == [b"who=Bea"]

    with pytest.raises(ValueError, match="not on a dialog"):
        rec.dismiss(page.get_by_role("heading"))


def test_an_agent_that_dismisses_a_popup_leaves_a_handler(page: Page, hostile, llm) -> None:
    """The agents' `dismiss` tool (the real openai client against the scripted server)."""
    from webmem.learn.agents import LLMAgent, record_task
    from webmem.llm import Model

    from .openai_server import call

    hostile.pages["/"] = POPUP.format(popup=DIALOG)
    hostile.pages["/done"] = "<title>done</title><h1>Welcome</h1>"
    llm.load(call("dismiss", "No thanks"), call("fill", "Name", value="{{ who }}"), call("click", "Join"),
             call("done", summary="signed up"))
    result = record_task(page, hostile.url + "/", "Sign up", {"who": "Ann"},
                         agent=LLMAgent(Model("scripted-model", max_retries=0, timeout=10)))
    assert result.status == "done" and result.flow is not None, result.summary
    assert [s.action for s in result.flow.steps] == ["goto", "fill", "click"]
    assert [h.when for h in result.flow.handlers] == ['role=dialog[name="Our newsletter"]']
    assert "dismiss" in {t["function"]["name"] for t in llm.requests[0]["tools"]}


PANELS = """<title>panels</title><button id=open>Open B</button>
<div id=a>Lorem <span class=alink>alpha</span> ipsum</div>
<div id=b style="height:0;overflow:hidden">{b}</div>
<script>
window.hit = null;
document.querySelectorAll('.alink').forEach((s) => s.onclick = () => { window.hit = s.textContent; });
document.getElementById('open').onclick = () => {
  // the panel opens the way jQuery UI animates it: its height, a frame at a time
  const b = document.getElementById('b'), start = performance.now();
  const grow = () => { const t = performance.now() - start; b.style.height = `${Math.min(t / 4, 100)}px`;
    if (t < 400) requestAnimationFrame(grow); };
  requestAnimationFrame(grow);
};
</script><style>.alink { color: blue; cursor: pointer; }</style>"""


def test_an_element_still_coming_is_waited_for_while_the_page_changes(page: Page, hostile, tmp_path: Path) -> None:
    """A panel that opens with an animation, the datum's link at its bottom: the link a positional selector
    finds at its top meanwhile is not the datum's; while the page still changes, the datum's link is waited
    for, not refused at once."""
    hostile.pages["/"] = PANELS.replace("{b}", "<span class=alink>gamma</span>")
    rec = webmem.Recorder(page, name="pick", task="Pick {{ item }}", inputs={"item": "gamma"},
                          specs={"item": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.click(page.get_by_role("button", name="Open B"))
    page.wait_for_timeout(600)
    rec.click(page.get_by_text("gamma", exact=True))
    path = tmp_path / "pick.yaml"
    webmem.save_flow(rec.flow(), path)

    hostile.pages["/"] = PANELS.replace("{b}", '<span class=alink>delta</span><br><span class=alink style="margin-top:'
                                         '70px;display:inline-block">gamma</span>')
    report = webmem.replay(page, path, {"item": "gamma"}, heal="local")
    assert report.passed, report.error
    assert page.evaluate("window.hit") == "gamma"


def cards(*names: str) -> str:
    return ("<title>people</title><script>window.hit = null;</script>" + "".join(
        f'<div class=card><div class=head><b class=who>{n}</b> <i>posted {len(n)}h ago</i></div>'
        f'<p>Some words of {n.lower()}\'s post</p><span class=edit onclick="window.hit = \'{n}\'">✎</span></div>'
        for n in names))


def test_a_clickable_in_a_card_is_tied_to_the_data_the_card_shows(page: Page, hostile, tmp_path: Path) -> None:
    """Cards with no list markup, no headings and no roles (a feed): the pencil of the card that shows
    {{ person }} is found through that datum, in whatever order the cards come, and never another card's."""
    hostile.pages["/"] = cards("Ann", "Bob", "Cyd")
    rec = webmem.Recorder(page, name="edit", task="Edit the post of {{ person }}", inputs={"person": "Bob"},
                          specs={"person": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.click(page.locator(".card").filter(has_text="Bob").locator(".edit"))
    flow = rec.flow()
    target = flow.steps[1].target
    assert target.selectors[0] == 'css=div.card >> has_text="{{ person }}" >> css=span.edit', target.selectors
    assert target.fingerprint.row == "{{ person }}"
    path = tmp_path / "edit.yaml"
    webmem.save_flow(flow, path)

    hostile.pages["/"] = cards("Dee", "Cyd", "Ann", "Bob")
    report = webmem.replay(page, path, {"person": "Ann"}, heal="local")
    assert report.passed, report.error
    assert page.evaluate("window.hit") == "Ann"

    report = webmem.replay(page, path, {"person": "Eve"}, heal="local")
    assert not report.passed and page.evaluate("window.hit") is None


TAGS = """<title>tags</title><h1>Tags</h1><input aria-label="New tag" id=t><button id=add>Add tag</button>
<ul id=tags></ul>
<script>
document.getElementById('add').onclick = () => {
  const v = document.getElementById('t').value, li = document.createElement('li'), b = document.createElement('button');
  b.textContent = `Remove ${v}`; b.onclick = () => { li.remove(); window.removed = v; }; li.append(b);
  document.getElementById('tags').append(li);
};
</script>"""


def test_a_control_named_by_the_data_is_not_the_page_skeleton(page: Page, hostile, tmp_path: Path) -> None:
    """The button the task's own value names ("Remove urgent") leaves no token in the page's signature, at
    recording or at replay: the same page with other data is its learned state (the fast path), not a
    "different" page."""
    hostile.pages["/"] = TAGS
    rec = webmem.Recorder(page, name="tag", task="Tag {{ tag }} then remove it", inputs={"tag": "urgent"},
                          specs={"tag": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.fill(page.get_by_label("New tag"), "urgent")
    rec.click(page.get_by_role("button", name="Add tag"))
    rec.click(page.get_by_role("button", name="Remove urgent"))
    flow = rec.flow()
    assert not [t for s in flow.pages.values() for t in (s.signature.tokens if s.signature else []) if "urgent" in t]
    path = tmp_path / "tag.yaml"
    webmem.save_flow(flow, path)
    report = webmem.replay(page, path, {"tag": "later"}, heal="off")
    assert report.passed, report.error
    assert page.evaluate("window.removed") == "later"
    assert [s.page_match for s in report.steps[1:]] == ["exact"] * 3, report.steps
