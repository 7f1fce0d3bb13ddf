"""Issue 21: what a page does in answer to an action. A suggestion list that opens ~300 ms after typing gets its
moment (bounded, ended by the list showing), even where the recording put the pick on the fill's page state;
an overlay that covers the next target (absolutely positioned, no role) is named within half a second, its
text and buttons, and nothing on it is clicked."""

from __future__ import annotations

import time

from playwright.sync_api import Page

import webmem
from webmem.flow.model import InputSpec

CITIES = ["Lisbon", "Lima", "Linz", "Paris", "Parma", "Porto", "Oslo", "Osaka"]
SUGGEST = """<title>trip</title><h1>Plan a trip</h1>
<form id=f onsubmit="event.preventDefault(); document.getElementById('out').textContent = 'to ' + this.city.value">
<label for=city>City</label> <input id=city name=city autocomplete=off>
<ul id=menu role=listbox aria-label=Suggestions></ul>
<button>Go</button></form><p id=out></p>
<script>
const cities = CITIES;
const input = document.getElementById('city'), menu = document.getElementById('menu');
let timer = null;
input.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(() => {  // like jQuery UI's autocomplete: the list answers after a 300 ms pause
    menu.innerHTML = '';
    cities.filter((c) => input.value && c.startsWith(input.value)).forEach((c) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.textContent = c;
      li.addEventListener('click', () => { input.value = c; menu.innerHTML = ''; });
      menu.appendChild(li);
    });
  }, 300);
});
</script>""".replace("CITIES", repr(CITIES))


def test_a_suggestion_list_that_answers_typing_gets_its_moment(page: Page, hostile) -> None:
    hostile.pages["/"] = SUGGEST
    page.goto(hostile.url + "/")
    values = {"prefix": "Pa", "city": "Parma"}
    rec = webmem.Recorder(page, name="trip", task="Plan a trip", inputs=values,
                          specs={k: InputSpec() for k in values}, base_url=hostile.url)
    rec.goto("/")
    rec.fill(page.get_by_label("City"), "Pa")
    page.get_by_role("option", name="Parma").wait_for()  # the person waits for the list
    rec.click(page.get_by_role("option", name="Parma"))
    rec.click(page.get_by_role("button", name="Go"))
    flow = rec.flow()
    fill, pick = flow.steps[1], flow.steps[2]
    assert pick.target.selectors[0] == 'role=option[name="{{ city }}"]'
    pick.click.page = fill.fill.page  # as the recording had it: the pick on the fill's page state
    for prefix, city in [("Li", "Linz"), ("Os", "Osaka")]:
        t0 = time.monotonic()
        report = webmem.replay(page, flow.model_copy(deep=True), {"prefix": prefix, "city": city}, heal="local",
                               base_url=hostile.url)
        assert report.passed, report.error
        assert page.locator("#out").inner_text() == f"to {city}"
        assert time.monotonic() - t0 < 4


OVERLAY = """<title>sign up</title><h1>Sign up</h1>
<div id=wrap style="position: relative">
<form method=post action=/done>
<label for=name>Name</label> <input id=name name=name><br>
<label for=email>Email</label> <input id=email name=email><br>
<button>Create account</button></form>
<div id=pop style="display: none; position: absolute; top: 0; left: 0; width: 400px; height: 200px;
  background: white; border: 1px solid #999">
  <p>Before you go on: subscribe to our newsletter?</p>
  <button onclick="document.getElementById('pop').style.display = 'none'">No thanks</button>
  <button onclick="location.href = '/subscribed'">Subscribe</button></div></div>
<script>
document.getElementById('name').addEventListener('focus', () => {
  if (location.search.includes('pop')) document.getElementById('pop').style.display = 'block';
});
</script>"""


def test_an_overlay_that_covers_the_next_target_is_named_at_once(page: Page, hostile) -> None:
    hostile.pages["/"] = OVERLAY
    hostile.pages["/done"] = "<title>done</title><p>Account created</p>"
    page.goto(hostile.url + "/")
    values = {"name": "Ada", "email": "ada@example.com"}
    rec = webmem.Recorder(page, name="sign-up", task="Sign up", inputs=values,
                          specs={k: InputSpec() for k in values}, base_url=hostile.url)
    rec.goto("/")  # the demonstration's episode: no overlay
    rec.fill(page.get_by_label("Name"), "Ada")
    rec.fill(page.get_by_label("Email"), "ada@example.com")
    rec.click(page.get_by_role("button", name="Create account"))
    flow = rec.flow()
    flow.steps[0].goto = "/?pop"  # this episode opens the overlay when the name field takes focus
    hostile.requests.clear()
    t0 = time.monotonic()
    report = webmem.replay(page, flow, values, heal="local", base_url=hostile.url)
    took = time.monotonic() - t0
    assert not report.passed
    assert "subscribe to our newsletter" in report.error and '"No thanks", "Subscribe"' in report.error, report.error
    assert took < 2.5, took  # not the action's 5 s timeout
    assert page.url.endswith("/?pop")  # nothing on the overlay was clicked, nothing was sent
    assert [r for r in hostile.requests if r[0] == "POST"] == []


def test_a_modal_that_disables_the_form_on_focus_is_named_at_once(page: Page, portal, tmp_path) -> None:
    """The portal's popup opens on the e-mail field's focus and disables the form: the field's read-back finds
    it no longer takes typing, and the step stops at once naming the dialog (not after a 5 s re-type)."""
    from .test_real_pages import INPUTS, customer_flow

    portal.set_variant("sometimes_popup")
    t0 = time.monotonic()
    report = webmem.replay(page, customer_flow(tmp_path), INPUTS, base_url=portal.url, heal="local")
    assert not report.passed and "Check the e-mail address" in report.error, report.error
    assert time.monotonic() - t0 < 4.5, report.error
    assert portal.submissions("customer") == []


PICKER = """<title>member</title><h1>New member</h1>
<form method=post action=/done style="position: relative">
<p><label for=since>Member since</label> <input id=since name=since autocomplete=off></p>
<p><input type=checkbox id=vip name=vip value=yes> <label for=vip>VIP</label></p>
<button>Save</button>
<div id=cal style="display: none; position: absolute; top: 1.5em; left: 0; width: 320px; height: 160px;
  background: white; border: 1px solid #999"><b>December 2026</b> <button type=button>Today</button></div>
</form>
<script>
const since = document.getElementById('since'), cal = document.getElementById('cal');
since.addEventListener('focus', () => { cal.style.display = 'block'; });  // a date picker over what follows
since.addEventListener('keydown', (e) => { if (e.key === 'Tab') cal.style.display = 'none'; });
</script>"""


def test_the_popup_of_a_field_just_typed_into_is_left_as_a_person_leaves_it(page: Page, hostile) -> None:
    """A date picker that opens on the field and covers the checkbox below: recording and replay move on from
    the field with Tab, as a person does (nothing on the picker is clicked), instead of timing out; an overlay
    that is no field's popup still stops the step (test above)."""
    hostile.pages["/"] = PICKER
    hostile.pages["/done"] = "<title>done</title><p>Saved</p>"
    page.goto(hostile.url + "/")
    values = {"since": "2026-01-15", "vip": "yes"}
    rec = webmem.Recorder(page, name="member", task="Add a member", inputs=values, base_url=hostile.url)
    rec.goto("/")
    rec.fill(page.get_by_label("Member since"), "2026-01-15")
    rec.check(page.get_by_label("VIP"), value="yes")
    rec.click(page.get_by_role("button", name="Save"))
    flow = rec.flow()
    for since, vip in [("2025-03-02", "no"), ("2024-07-30", "yes")]:
        hostile.requests.clear()
        report = webmem.replay(page, flow.model_copy(deep=True), {"since": since, "vip": vip}, heal="local",
                               base_url=hostile.url)
        assert report.passed, report.error
        posts = [r for r in hostile.requests if r[0] == "POST"]
        assert len(posts) == 1 and f"since={since}" in str(posts[0]), posts
        assert ("vip=yes" in str(posts[0])) == (vip == "yes"), posts
