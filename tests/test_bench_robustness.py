"""The robustness benchmark's own logic (no browser): how a demonstration's literal locators become a
codegen-style template, how MiniWoB utterances become inputs, and how a run is judged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import robustness  # noqa: E402
import robustness_miniwob as mw  # noqa: E402
import robustness_pages as own  # noqa: E402
from robustness_script import ScriptStep, role, templated, templated_recipe  # noqa: E402


def test_values_become_placeholders_like_a_person_editing_codegen_output() -> None:
    values = {"user": "@amet", "action": "Mute", "link": "et"}
    assert templated("Mute @amet", values) == "{{ action }} {{ user }}"
    assert templated("et", values) == "{{ link }}"
    assert templated("Retweet", values) == "Retweet"  # short values only match whole strings
    recipe = templated_recipe([role("radio", "@amet")], values)
    assert ScriptStep("check", recipe).describe() == "page.get_by_role('radio', name='{{ user }}').check()"


@pytest.mark.parametrize(("task", "utterance", "values"), [
    ("click-option", "Select Vn8 and click Submit.", {"option": "Vn8"}),
    ("click-checkboxes", "Select kT, 9x and click Submit.", {"item1": "kT", "item2": "9x"}),
    ("click-checkboxes", "Select nothing and click Submit.", {}),
    ("click-link", 'Click on the link "libero.".', {"link": "libero."}),
    ("click-tab-2", 'Switch between the tabs to find and click on the link "ac".', {"link": "ac"}),
    ("enter-time", "Enter 12:05 AM as the time and press submit.", {"time": "00:05"}),
    ("enter-time", "Enter 3:45 PM as the time and press submit.", {"time": "15:45"}),
    ("book-flight", "Book the cheapest one-way flight from: Anvik, AK to: MOT on 12/23/2016.",
     {"which": "cheapest", "origin": "Anvik, AK", "destination": "MOT", "date": "12/23/2016"}),
    ("social-media", 'For the user @deneen, click on the "Share via DM" button.',
     {"user": "@deneen", "action": "Share via DM"}),
    ("phone-book", "Find Casie in the contact book and click on their phone number.",
     {"name": "Casie", "field": "phone"}),
])
def test_utterances_parse_into_inputs(task: str, utterance: str, values: dict[str, str]) -> None:
    assert mw.TASKS[task].parse(utterance, None) == values


def test_an_utterance_of_another_shape_is_refused_by_the_parser() -> None:
    with pytest.raises(mw.Unparsed):
        mw.TASKS["click-option"].parse("Click Submit.", None)


@pytest.mark.parametrize(("claimed", "done", "raw", "outcome"), [
    (True, True, 1.0, "passed"),
    (False, True, 1.0, "passed"),  # the page is the judge
    (False, False, 0.0, "refused"),
    (True, False, 0.0, "WRONG"),  # said done, the page says not
    (False, True, -1.0, "WRONG"),  # acted on a wrong element, then stopped
    (True, True, 0.4, "WRONG"),  # partial credit: part of it went to the wrong element
])
def test_judge(claimed: bool, done: bool, raw: float, outcome: str) -> None:
    assert robustness.judge(claimed, done, raw) == outcome


def test_portal_outcome_needs_exactly_the_right_record() -> None:
    right = {"kind": "customer", "data": {**robustness.REPLAY_VALUES, "vip": "yes"}}
    assert robustness.portal_outcome(True, [right]) == "passed"
    assert robustness.portal_outcome(False, []) == "refused"
    assert robustness.portal_outcome(True, []) == "WRONG"
    marked_all = {"kind": "customer", "data": {**right["data"], "toggle_invoices": "yes"}}
    assert robustness.portal_outcome(True, [marked_all]) == "WRONG"
    assert robustness.portal_outcome(True, [right, {"kind": "newsletter", "data": {}}]) == "WRONG"


@pytest.mark.parametrize(("task", "utterance", "values"), [
    ("named-buttons", 'Click on the "okay" button.', {"button": "okay"}),
    ("autocomplete", 'Type "Li" as the destination, pick "Linz" from the suggestions and press Submit.',
     {"prefix": "Li", "city": "Linz"}),
    ("overlay-form", 'Sign up as "Ada" with the email "ada@example.com".', {"name": "Ada", "email": "ada@example.com"}),
])
def test_page_pattern_utterances_parse_into_inputs(task: str, utterance: str, values: dict[str, str]) -> None:
    assert own.TASKS[task].parse(utterance, None) == values
    assert own.TASKS[task].url("http://h") == f"http://h/{task}.html"
