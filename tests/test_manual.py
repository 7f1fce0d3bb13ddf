"""`webmem record --manual`: a person demonstrates the task by hand. The test is the person: it drives the
recording's tab with the mouse and the keyboard (over CDP, as a second client of the same Chromium), never
calling the Recorder; the real CLI records in its own process. Then the flow replays with new values and the
server gets them."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright
from playwright.sync_api import Error as PlaywrightError

from webmem import load_flow, replay
from webmem.browser.config import load_settings
from webmem.browser.launch import launch

from .conftest import ROOT
from .hostile_site import HostileSite


@pytest.fixture(scope="module")
def shared(playwright: Playwright) -> Iterator[tuple[Browser, str]]:
    """A Chromium with a CDP port: the recording opens its tab there, the test (the person) works in it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings()
    settings.args.append(f"--remote-debugging-port={port}")
    own = launch(playwright, settings)
    endpoint = f"http://127.0.0.1:{port}"
    person = playwright.chromium.connect_over_cdp(endpoint)
    yield person, endpoint
    person.close()
    own.close()


def record(shared: tuple[Browser, str], url: str, out: Path, *inputs: str) -> tuple[subprocess.Popen[str], Page]:
    """Start `webmem record --manual` on the shared browser; the tab it opened, loaded."""
    person, endpoint = shared
    proc = subprocess.Popen([sys.executable, "-m", "webmem.cli", "record", url, "--task", "demonstrated",
                             *inputs, "--manual", "--headless", "--cdp", endpoint, "--out", str(out), "--limit", "60"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = person.contexts[0].wait_for_event("page", timeout=30_000)
        page.wait_for_url(url, timeout=15_000)
        page.locator("webmem-toolbar").wait_for(state="attached", timeout=5_000)
    except PlaywrightError:
        proc.kill()
        raise AssertionError(f"the recording did not open its tab: {proc.communicate(timeout=10)[0]}") from None
    return proc, page


def click(page: Page, loc: Locator, count: int = 1) -> None:
    """A person's click: scroll to it, then the mouse at its middle."""
    loc.scroll_into_view_if_needed()
    box = loc.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, click_count=count)


def finish(proc: subprocess.Popen[str]) -> str:
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    return output


def test_a_person_records_the_customer_form_by_hand(shared, portal, page: Page, tmp_path: Path) -> None:
    out = tmp_path / "customer.yaml"
    proc, tab = record(shared, portal.url + "/customers/new", out, "-i", "full_name=Ada Lovelace",
                       "-i", "email=ada@example.com", "-i", "plan=pro")
    try:
        click(tab, tab.get_by_label("Full name"))
        tab.keyboard.type("Ada Lovelace")
        click(tab, tab.get_by_role("textbox", name="Email"))
        tab.keyboard.type("ada@example.com")
        tab.keyboard.press("Tab")  # to the Plan select
        tab.keyboard.press("ArrowDown")
        tab.keyboard.press("ArrowDown")  # Free, then Pro
        click(tab, tab.get_by_text("Phone", exact=True))  # the radio's label
        click(tab, tab.get_by_role("button", name="Save customer"))
        tab.wait_for_url(re.compile(r"/customers/\d+$"), timeout=10_000)
        tab.keyboard.press("Alt+Shift+C")  # the Save click is the commit point
        click(tab, tab.get_by_text("Customer created"), count=3)  # select the confirmation...
        tab.keyboard.press("Alt+Shift+T")  # ...and expect it (the Save click expects it already: kept once)
        click(tab, tab.get_by_text("Ada Lovelace", exact=True), count=3)
        tab.keyboard.press("Alt+Shift+T")  # the customer's name shown: an expectation of its own
        toolbar = tab.locator("webmem-toolbar")
        # End: the toolbar's last button. The toolbar hides while a step is recorded, and the last expectation
        # may still be on its way to the recorder when it first shows: a click that found it hidden is made again
        for _ in range(5):
            with contextlib.suppress(PlaywrightError):  # the recording closes its tab as it ends
                toolbar.wait_for(state="visible", timeout=10_000)
                bar = toolbar.bounding_box()
                assert bar is not None
                tab.mouse.click(bar["x"] + bar["width"] - 50, bar["y"] + bar["height"] / 2)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=3)
                break
        output = finish(proc)
    finally:
        proc.kill()
    assert "ended: end" in output, output
    flow, text = load_flow(out).flow, out.read_text()
    assert [s.action for s in flow.steps] == ["goto", "fill", "fill", "select", "check", "click", "expect"], text
    for key in ("full_name", "email", "plan"):
        assert "{{ " + key + " }}" in text
    assert "Ada Lovelace" not in text and "ada@example.com" not in text
    save = flow.steps[5]
    assert save.commit and save.expect is not None and save.expect.url == "/customers/{id}"
    assert save.expect.text == "Customer created"
    assert flow.steps[6].expect is not None and flow.steps[6].expect.text == "{{ full_name }}"  # the name shown
    assert [s["data"]["full_name"] for s in portal.submissions("customer")] == ["Ada Lovelace"]
    # the recorded flow replays with new values, no model
    report = replay(page, out, {"full_name": "Bob Smith", "email": "bob@example.com", "plan": "enterprise"},
                    heal="off")
    assert report.passed, report.error
    got = portal.submissions("customer")[-1]["data"]
    assert (got["full_name"], got["email"], got["plan"], got["contact"]) == \
        ("Bob Smith", "bob@example.com", "enterprise", "phone")


WIDGET = """<!doctype html><title>Booking</title>
<h1>Book a trip</h1>
<label>Traveller <input id="traveller" name="traveller"></label>
<trip-form></trip-form>
<script>
customElements.define("trip-form", class extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({mode: "open"});
    root.innerHTML = `<form method="post" action="/book">
      <label>City <input name="city"></label>
      <label><input type="checkbox" name="window" value="yes"> Window seat</label>
      <button type="submit">Book</button></form>`;
    root.querySelector("form").addEventListener("formdata", (ev) =>
      ev.formData.set("traveller", document.getElementById("traveller").value));
  }
});
</script>"""


def test_a_person_records_a_shadow_dom_widget_by_hand(shared, page: Page, tmp_path: Path) -> None:
    with HostileSite() as site:
        site.pages = {"/trip": WIDGET, "/book": "<title>Booked</title><h1>Booked</h1>"}
        out = tmp_path / "trip.yaml"
        proc, tab = record(shared, site.url + "/trip", out, "-i", "traveller=Ada", "-i", "city=Paris")
        try:
            click(tab, tab.get_by_label("Traveller"))
            tab.keyboard.type("Ada")
            click(tab, tab.get_by_label("City"))  # inside the widget's shadow root
            tab.keyboard.type("Paris")
            click(tab, tab.get_by_label("Window seat"))
            click(tab, tab.get_by_label("City"))
            tab.keyboard.press("Enter")  # submits the widget's form
            tab.wait_for_url("**/book", timeout=10_000)
            tab.keyboard.press("Alt+Shift+U")
            with contextlib.suppress(PlaywrightError):  # the recording closes its tab as it ends
                tab.keyboard.press("Alt+Shift+E")
            finish(proc)
        finally:
            proc.kill()
        flow = load_flow(out).flow
        assert [s.action for s in flow.steps] == ["goto", "fill", "fill", "check", "press"], out.read_text()
        assert flow.steps[2].target is not None and flow.steps[2].target.fingerprint.label == "City"
        assert flow.steps[4].commit and flow.steps[4].expect is not None and flow.steps[4].expect.url == "/book"
        posts = [parse_qs(body.decode()) for method, path, body in site.requests if method == "POST"]
        assert posts == [{"city": ["Paris"], "window": ["yes"], "traveller": ["Ada"]}]
        report = replay(page, out, {"traveller": "Bob", "city": "Rome"}, heal="off")
        assert report.passed, report.error
        posts = [parse_qs(body.decode()) for method, path, body in site.requests if method == "POST"]
        assert posts[-1] == {"city": ["Rome"], "window": ["yes"], "traveller": ["Bob"]}
