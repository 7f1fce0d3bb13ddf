"""A filled field is read back: the value it holds is the value typed, or the run stops there. The read-back
rides along with the next step's probe (no round trip of its own) where that step is on the same page and is
no commit point; a field that takes the first keystrokes late is typed into once more."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

import webmem
from webmem.flow.model import InputSpec

FORM = """<title>signup</title><h1>Sign up</h1>
<form method=post action=/done>
<label>Name <input id=name name=name></label>
<label>City <input id=city name=city></label>
<button>Send</button></form>
<p id=clicked></p>
<script>SCRIPT</script>"""
# what the page's own script does to the name field as it is typed into
REWRITES = """document.getElementById('name').addEventListener('input',
  (e) => { e.target.value = e.target.value.toUpperCase(); });"""
LATE = """let first = true;
document.getElementById('name').addEventListener('input',
  (e) => { if (first) { first = false; e.target.value = ''; } });"""


def learn(page: Page, hostile, tmp_path: Path, html: str = FORM, first: str = "name", value: str = "ann") -> Path:
    """A flow learned on `html`: the field labelled `first` set to {{ first }} (filled, or selected where it is
    a select), then the City field filled."""
    hostile.pages["/"] = html.replace("SCRIPT", "")
    rec = webmem.Recorder(page, name=first, task=f"Set {{{{ {first} }}}} in {{{{ city }}}}",
                          inputs={first: value, "city": "Oslo"}, specs={first: InputSpec(), "city": InputSpec()})
    rec.goto(hostile.url + "/")
    field = page.get_by_label(first.capitalize())
    if field.evaluate("(el) => el.tagName") == "SELECT":
        rec.select(field, f"{{{{ {first} }}}}")
    else:
        rec.fill(field, f"{{{{ {first} }}}}")
    rec.fill(page.get_by_label("City"), "{{ city }}")
    path = tmp_path / f"{first}.yaml"
    webmem.save_flow(rec.flow(), path)
    return path


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The read-backs that took a round trip of their own (Playwright's `input_value`)."""
    made: list[str] = []
    real = Locator.input_value
    monkeypatch.setattr(Locator, "input_value", lambda self, **kw: made.append(str(self)) or real(self, **kw))
    return made


def test_a_field_that_holds_another_value_stops_the_run(page: Page, hostile, tmp_path: Path, reads) -> None:
    path = learn(page, hostile, tmp_path)
    hostile.pages["/"] = FORM.replace("SCRIPT", REWRITES)
    report = webmem.replay(page, path, {"name": "ann", "city": "Oslo"})
    assert not report.passed
    assert "step 2 (fill) did not take" in report.error, report.error
    assert "typed 'ann' but the field holds 'ANN'" in report.error, report.error
    assert page.input_value("#city") == ""  # nothing after the field that did not take its value was done


def test_a_field_that_drops_its_first_keystrokes_is_typed_again(page: Page, hostile, tmp_path: Path, reads) -> None:
    path = learn(page, hostile, tmp_path)
    hostile.pages["/"] = FORM.replace("SCRIPT", LATE)
    report = webmem.replay(page, path, {"name": "ann", "city": "Oslo"})
    assert report.passed, report.error
    assert page.input_value("#name") == "ann" and page.input_value("#city") == "Oslo"


def test_the_read_back_rides_along_with_the_next_probe(page: Page, hostile, tmp_path: Path, reads) -> None:
    path = learn(page, hostile, tmp_path)
    reads.clear()
    report = webmem.replay(page, path, {"name": "bob", "city": "Rome"})
    assert report.passed, report.error
    # the name field was read with the city step's probe; the city field, the last step, on its own
    assert len(reads) == 1, reads


SELECT_FORM = """<title>plan</title><h1>Plan</h1>
<form method=post action=/done>
<label>Plan <select id=plan name=plan><option value=free>Free</option><option value=pro>Pro</option></select></label>
<label>City <input id=city name=city></label>
<button>Send</button></form>
<script>SCRIPT</script>"""
RESETS = "document.getElementById('plan').addEventListener('change', (e) => { e.target.value = 'free'; });"


def test_a_selection_that_does_not_stick_stops_the_run(page: Page, hostile, tmp_path: Path, reads) -> None:
    path = learn(page, hostile, tmp_path, SELECT_FORM, "plan", "pro")
    reads.clear()
    report = webmem.replay(page, path, {"plan": "pro", "city": "Rome"})
    assert report.passed, report.error
    assert len(reads) == 1, reads  # the selection was read with the city step's probe
    hostile.pages["/"] = SELECT_FORM.replace("SCRIPT", RESETS)
    report = webmem.replay(page, path, {"plan": "pro", "city": "Rome"})
    assert not report.passed and "step 2 (select) did not take: the 'Plan' select: the selection did not stick" \
        in report.error, report.error
    assert page.input_value("#city") == ""


CITY_REWRITES = REWRITES.replace("'name'", "'city'")


def test_the_last_field_before_the_commit_is_read_back_before_it_and_stops_it(page: Page, hostile, tmp_path: Path,
                                                                               reads) -> None:
    hostile.pages["/"] = FORM.replace("SCRIPT", "")
    rec = webmem.Recorder(page, name="send", task="Send {{ name }} from {{ city }}",
                          inputs={"name": "ann", "city": "Oslo"}, specs={"name": InputSpec(), "city": InputSpec()})
    rec.goto(hostile.url + "/")
    rec.fill(page.get_by_label("Name"), "{{ name }}")
    rec.fill(page.get_by_label("City"), "{{ city }}")
    rec.click(page.get_by_role("button", name="Send"))
    path = tmp_path / "send.yaml"
    webmem.save_flow(rec.flow(), path)
    assert webmem.load_flow(path).flow.steps[3].commit
    hostile.requests.clear()
    reads.clear()
    report = webmem.replay(page, path, {"name": "bob", "city": "Rome"})
    assert report.passed, report.error
    # read on its own before the commit step starts (a batch marks the row as committing then)
    assert len(reads) == 1 and [r[:2] for r in hostile.requests if r[0] == "POST"] == [("POST", "/done")]
    # the city field rewrites what is typed: the run stops at it, and Send is never clicked
    hostile.pages["/"] = FORM.replace("SCRIPT", CITY_REWRITES)
    hostile.requests.clear()
    report = webmem.replay(page, path, {"name": "bob", "city": "Rome"})
    assert not report.passed and report.status == "failed", report
    assert "step 3 (fill) failed: " in report.error and "holds 'ROME'" in report.error, report.error
    assert not [r for r in hostile.requests if r[0] == "POST"], hostile.requests
