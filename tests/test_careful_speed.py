"""The careful path decided in one round trip (`locate.first_look(..., strict=True)`): it takes a target only where the
full probe would, never another element; and a flow replayed on a page that drifted from its learned state
(the contacts list grew) passes with every target verified."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from webmem import load_flow
from webmem.page import inpage, locate, signature
from webmem.page.target import learn_target
from webmem.playback.run import RunOptions, run_flow
from webmem.steps import STEPS

from . import mutations
from .conftest import FLOWS


def test_careful_verdict_never_takes_a_wrong_element(page: Page) -> None:
    page.set_content(mutations.render().html)
    targets = {key: ("fill", learn_target(page, page.locator(f"[data-truth={key}]").element_handle(), key))
               for key, *_ in mutations.FIELDS}
    targets["submit"] = ("click", learn_target(page, page.locator("[data-truth=submit]").element_handle(), "save"))
    taken = refused = 0
    for seed in range(60):
        page.set_content(mutations.mutate(seed).html)
        for key, (action, target) in targets.items():
            fast = locate.first_look(page, target, STEPS[action].fits, strict=True)
            if fast is None:
                refused += 1
                continue
            taken += 1
            assert fast.locator.get_attribute("data-truth") == key, (seed, key)
            # the full probe, asked the same, finds the same element
            full = locate.resolve(page, target, STEPS[action].fits, strict=True)
            assert full.ok and full.locator.get_attribute("data-truth") == key, (seed, key, full.problem)
    assert taken > 0 and refused > 0, (taken, refused)


def test_fast_path_acts_on_the_element_it_verified(page: Page) -> None:
    """The fast path acts through a CSS path to the element its probe verified (no handle fetched): on
    every mutated page, what that path finds is the learned element, and a role-matched button without an id
    among same-tag siblings is reached by its path."""
    page.set_content(mutations.render().html)
    targets = {key: ("fill", learn_target(page, page.locator(f"[data-truth={key}]").element_handle(), key))
               for key, *_ in mutations.FIELDS}
    targets["submit"] = ("click", learn_target(page, page.locator("[data-truth=submit]").element_handle(), "save"))
    taken = 0
    for seed in range(60):
        page.set_content(mutations.mutate(seed).html)
        for key, (action, target) in targets.items():
            fast = locate.first_look(page, target, STEPS[action].fits)
            if fast is not None:
                taken += 1
                assert fast.locator.get_attribute("data-truth") == key, (seed, key, fast.selector)
    assert taken > 0
    page.set_content("<main><div><button>Back</button><button>Next</button></div>"
                     "<div><button>Next</button></div></main>")
    page.locator("button").nth(2).evaluate("(el) => el.parentElement.hidden = true")
    target = learn_target(page, page.locator("button").nth(1).element_handle(), "the Next button")
    fast = locate.first_look(page, target, STEPS["click"].fits)
    assert fast is not None and fast.selector == 'role=button[name="Next"]', target.selectors
    assert isinstance(fast.locator, Locator)
    assert fast.locator.evaluate("(el) => el.previousElementSibling.textContent") == "Back"


def test_fast_path_is_one_in_page_call_per_step(page: Page, portal, monkeypatch) -> None:
    """On pages in their learned state, a step's page check and its target's probe are one in-page call (the
    probe rides along with the check), and a role-matched button needs no handle fetched after it."""
    flow = load_flow(FLOWS / "company-application.yaml").flow
    calls: list[str] = []
    real = inpage.call
    monkeypatch.setattr(inpage, "call", lambda page, expr, arg=None, along=None:
                        calls.append(expr) or real(page, expr, arg, along))
    report = run_flow(page, flow, {"company": "Acme", "country": "fr", "contact_name": "Ada", "phone": "1"},
                      RunOptions(base_url=portal.url))
    assert report.passed, report.error
    targeted = [s for s in flow.steps if s.target is not None]
    assert all(s.page_match == "exact" for s in report.steps if s.page), [s.page_match for s in report.steps]
    # one call per targeted step (the last step's expectation reads the text besides, as often as it must)
    looks = [c for c in calls if "visibleText" not in c]
    assert len(looks) == len(targeted), [c[:60].replace("\n", " ") for c in looks]


def test_contact_flow_on_a_grown_list_takes_the_careful_path(page: Page, portal, monkeypatch) -> None:
    flow = load_flow(FLOWS / "add-contact.yaml").flow
    calls: list[str] = []
    real = inpage.call
    monkeypatch.setattr(inpage, "call", lambda page, expr, arg=None, along=None:
                        calls.append(expr) or real(page, expr, arg, along))
    for i in range(5):  # past the learned list's size: the page is only similar to its learned state
        calls.clear()
        report = run_flow(page, flow, {"name": f"Ann {i}", "email": f"ann{i}@example.com", "role": "admin"},
                          RunOptions(base_url=portal.url))
        assert report.passed, report.error
    assert "targets verified" in (report.steps[1].page_match or ""), report.steps[1].page_match
    # a page check on a page unlike its learned state probes its target the careful way in the same call: the
    # three page checks (the list, the dialog opened, after the select) carried it; the two other targets, on the
    # page state the step before them checked, had a call of their own
    targeted = [s for s in flow.steps if s.target is not None]
    alone = [c for c in calls if c == locate.CAREFUL_PROBE_JS]
    assert len(alone) == len(targeted) - 3, len(alone)
    assert [s["data"]["name"] for s in portal.submissions("contact")] == [f"Ann {i}" for i in range(5)]


def test_settled_at_waits_for_a_page_still_changing(page: Page) -> None:
    """A page check that skips the quiet wait only where it would wait for nothing: a page adding controls
    is read once it stopped, not halfway."""
    page.goto("data:text/html,<main><h1>Items</h1><div id=box></div></main>")  # a new document: watched from its start
    learned = signature.capture(page)
    # the first control is added at once (a page that has started changing), the rest every 10 ms
    page.evaluate("""() => { let n = 0; const add = () => {
        const b = document.createElement('button'); b.textContent = 'Item ' + (n++ % 3 ? 'x' : 'y') + n;
        document.getElementById('box').append(b); if (n === 8) clearInterval(t); };
        const t = setInterval(add, 10); add(); }""")
    now, at, _ = signature.settled_at(page, learned, 250, 3000)
    assert page.evaluate("document.querySelectorAll('button').length") == 8
    assert now.hash == signature.capture(page).hash
    assert not signature.changed_since(page, at)
    # a quiet page is read at once, and the same as a settled read
    again = signature.settled_at(page, learned, 250, 3000).signature
    assert again.hash == now.hash
    page.evaluate("document.getElementById('box').append(document.createElement('input'))")
    assert signature.changed_since(page, at)


def test_read_only_flow_loads_are_kept_by_text_and_copied(tmp_path) -> None:
    """A hit reads its flow file run after run: the parse is kept by the file's text, each caller gets its own
    copy, and an edited file is read anew (a broken one still raises)."""
    import pytest

    from webmem.errors import FlowFormatError
    from webmem.flow.flowfile import load_flow

    path = tmp_path / "f.yaml"
    text = (FLOWS / "add-contact.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    a, b = load_flow(path, round_trip=False), load_flow(path, round_trip=False)
    a.flow.steps[1].target.selectors.append("css=#elsewhere")
    assert "css=#elsewhere" not in b.flow.steps[1].target.selectors
    assert b.flow == load_flow(path).flow
    path.write_text(text.replace("name: add-contact", "name: add-contact-2"), encoding="utf-8")
    assert load_flow(path, round_trip=False).flow.name == "add-contact-2"
    path.write_text(text.replace("webmem: 1", "webmem: 99"), encoding="utf-8")
    with pytest.raises(FlowFormatError):
        load_flow(path, round_trip=False)
    with pytest.raises(FlowFormatError):
        load_flow(path, round_trip=False)
