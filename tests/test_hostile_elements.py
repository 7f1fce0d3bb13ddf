"""Issue 13, wrong element: an off-screen or clipped "honeypot" carrying a field's old id is not the field,
and a button whose aria-label disagrees with its visible text is not the button it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from webmem.flow.flowfile import parse_flow
from webmem.flow.model import Fingerprint
from webmem.page import inpage
from webmem.page.fingerprint import score
from webmem.playback.run import RunOptions, run_flow

from .test_hostile_files import flow_text

HONEYPOTS = [
    '<input id=email name=email style="position:absolute; left:-9999px">',
    '<div style="overflow:hidden; height:0"><input id=email name=email></div>',
    '<input id=email name=email style="position:absolute; width:1px; height:1px; clip:rect(0 0 0 0)">',
    '<div style="position:absolute; top:-500px"><input id=email name=email></div>',
]
FILL_EMAIL = ("  - goto: /\n  - fill:\n      target:\n        intent: the e-mail field\n"
              "        selectors: ['css=#email']\n"
              "        fingerprint: {tag: input, type: text, role: textbox, name: Email, label: Email, "
              "attrs: {id: email, name: email}}\n      value: ada@example.com\n"
              "  - click: {target: {intent: send, selectors: ['css=#send']}}\n    expect: {url: /done}\n")


@pytest.mark.parametrize("honeypot", HONEYPOTS)
def test_an_offscreen_or_clipped_honeypot_is_never_filled(page: Page, hostile, honeypot: str) -> None:
    hostile.pages["/"] = (f"<title>f</title><form method=post action=/done>{honeypot}"
                          "<label for=mail2>Email</label><input id=mail2 name=mail2>"
                          "<button id=send>Send</button></form>")
    hostile.pages["/done"] = "<title>done</title><p>done</p>"
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=FILL_EMAIL))
    page.goto(hostile.url)
    assert inpage.call_all(page.locator("#email"), "inspect", {})[0]["visible"] is False
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url))
    posted = [body for method, _, body in hostile.requests if method == "POST"]
    assert not any(b"email=ada" in body for body in posted), posted
    if report.passed:  # healed onto the real field: only acceptable if that is where it went
        assert posted and b"mail2=ada" in posted[-1]


def test_a_visually_hidden_checkbox_with_a_visible_label_still_counts(page: Page, hostile) -> None:
    hostile.pages["/"] = ('<title>c</title><input type=checkbox id=terms style="position:absolute; left:-9999px">'
                          '<label for=terms>I accept the terms</label>')
    page.goto(hostile.url)
    assert inpage.call_all(page.locator("#terms"), "inspect", {})[0]["visible"]


def test_an_aria_label_that_disagrees_with_the_visible_text_is_a_mismatch(page: Page, hostile,
                                                                          tmp_path: Path) -> None:
    hostile.pages["/"] = ('<title>b</title><button aria-label="Save customer" id=b '
                          "onclick=\"location.href='/deleted'\">Delete all</button>")
    hostile.pages["/deleted"] = "<title>deleted</title><p>everything deleted</p>"
    steps = ("  - goto: /\n  - click:\n      target:\n        intent: the Save customer button\n"
             "        selectors: ['role=button[name=\"Save customer\"]']\n"
             "        fingerprint: {tag: button, role: button, name: Save customer, text: Save customer}\n")
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=steps))
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url))
    assert not report.passed, report
    assert not any(path == "/deleted" for _, path, _ in hostile.requests)
    learned = Fingerprint(tag="button", role="button", name="Save customer", text="Save customer")
    assert score(learned, Fingerprint(tag="button", role="button", name="Save customer", text="Delete all")) < 0.5
    # an icon button, or a label that says more than the text, still agrees
    assert score(Fingerprint(tag="button", role="button", name="Close"),
                 Fingerprint(tag="button", role="button", name="Close", text="×")) == 1.0
    assert score(Fingerprint(tag="a", role="link", name="Read more about pricing", text="Read more"),
                 Fingerprint(tag="a", role="link", name="Read more about pricing", text="Read more")) == 1.0
