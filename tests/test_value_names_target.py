"""Issue 21: a value that names the target is data. A button chosen because the task named it is bound to the
input even where look-alikes carry the same name at the demonstration; another run's value finds its own
button or refuses, never the one the flow was learned on; and a heal acts on the element it verified, not
through a `{{ placeholder }}` selector."""

from __future__ import annotations

import time

from playwright.sync_api import Page

import webmem
from webmem.flow.model import InputSpec

BUTTONS = """<title>choose</title><h1>Choose</h1><p>Pick the button the task names.</p>
<div id=area>{buttons}</div><p id=out></p>
<script>
document.querySelectorAll('#area [data-i]').forEach((b) => b.addEventListener('click', () => {
  window.clicked = (b.value || b.textContent).trim() + '#' + b.dataset.i;
  document.getElementById('out').textContent = 'clicked';
}));
</script>"""


INPUT = "<input type=button data-i={i} value={n}> "
ICON = "<span data-i={i} aria-label={n} onclick='' class=icon>&#9679;</span> "  # named only by its aria-label


def buttons_page(*names: str, element: str = "<button data-i={i}>{n}</button> ") -> str:
    return BUTTONS.replace("{buttons}", "".join(element.format(i=i, n=n) for i, n in enumerate(names)))


def record(page: Page, site, names: tuple[str, ...], value: str, index: int, **kw: str) -> webmem.Flow:
    site.pages["/"] = buttons_page(*names, **kw)
    page.goto(site.url + "/")
    rec = webmem.Recorder(page, name="click-named", task="Click the button the task names",
                          inputs={"button": value}, specs={"button": InputSpec()}, base_url=site.url)
    rec.goto("/")
    rec.click(page.locator(f"[data-i='{index}']"))
    return rec.flow()


def replay(page: Page, site, flow: webmem.Flow, value: str, *names: str, **kw: str):
    site.pages["/"] = buttons_page(*names, **kw)
    report = webmem.replay(page, flow.model_copy(deep=True), {"button": value}, heal="local", base_url=site.url)
    return report, page.evaluate("() => window.clicked || null")


def test_a_button_named_by_the_value_is_bound_even_among_look_alikes(page: Page, hostile) -> None:
    flow = record(page, hostile, ("Cancel", "okay", "submit", "okay", "no"), "okay", 3)
    click = flow.steps[-1].target
    assert click.selectors[0] == 'role=button[name="{{ button }}"] >> nth=1', click.selectors
    assert click.fingerprint.name == "{{ button }}" and click.fingerprint.text == "{{ button }}"
    assert "okay" not in click.model_dump_json()  # the literal is no evidence of the element
    # another value: exactly the button it names, wherever it stands; the same value: the same place among its own
    for value, names, want in [("submit", ("okay", "no", "Cancel", "okay", "submit"), "submit#4"),
                               ("Cancel", ("okay", "okay", "Cancel", "no", "yes"), "Cancel#2"),
                               ("no", ("yes", "okay", "no", "okay", "submit"), "no#2"),
                               ("okay", ("Cancel", "okay", "submit", "okay", "no"), "okay#3")]:
        report, clicked = replay(page, hostile, flow, value, *names)
        assert report.passed, (value, report.error)
        assert clicked == want, (value, names, clicked)
    # the button the value names is an <input type=button> this time: the same button to a person
    report, clicked = replay(page, hostile, flow, "yes", "no", "yes", "okay", element=INPUT)
    assert report.passed and clicked == "yes#1", (report.error, clicked)


def test_a_value_naming_no_button_refuses_and_never_takes_a_look_alike(page: Page, hostile) -> None:
    flow = record(page, hostile, ("Cancel", "okay", "submit", "okay", "no"), "okay", 1)
    # the button at the learned place and two named like the learned value, none named like this run's value
    report, clicked = replay(page, hostile, flow, "submit", "Cancel", "okay", "yes", "okay", "no")
    assert not report.passed and clicked is None, (report.error, clicked)
    # two buttons carry this run's value, where the demonstration's place (the first) is one of them: taken
    report, clicked = replay(page, hostile, flow, "yes", "yes", "Cancel", "okay", "yes")
    assert report.passed and clicked == "yes#0", (report.error, clicked)


def test_where_no_selector_can_hold_the_value_the_fingerprint_does_not_keep_it(page: Page, hostile) -> None:
    """Icons named only by an aria-label: found by position alone. The fingerprint keeps `{{ button }}`, not the
    learned name, so an icon at the learned place named like the demonstration's value is not taken."""
    flow = record(page, hostile, ("okay", "no", "yes"), "okay", 0, element=ICON)
    click = flow.steps[-1].target
    assert "okay" not in click.model_dump_json(), click
    report, clicked = replay(page, hostile, flow, "submit", "okay", "no", "yes", element=ICON)
    assert not report.passed and clicked is None, (report.error, clicked)


def test_a_heal_acts_on_the_element_it_verified_not_a_template(page: Page, hostile) -> None:
    """No stored selector finds the button any more; the local heal finds the one named by this run's value and
    clicks it at once (not through the learned `role=button[name="{{ button }}"]`, unrendered: a 5 s timeout)."""
    flow = record(page, hostile, ("Cancel", "okay", "submit", "no"), "okay", 1)
    target = flow.steps[-1].target
    assert target.selectors[0] == 'role=button[name="{{ button }}"]'
    assert target.fingerprint.name == "{{ button }}"
    target.selectors = ["css=#gone"]  # an id the page no longer has
    t0 = time.monotonic()
    report, clicked = replay(page, hostile, flow, "submit", "no", "submit", "Cancel", "okay")
    assert report.passed, report.error
    assert report.steps[-1].heal is not None and report.steps[-1].heal.tier == "local"
    assert clicked == "submit#1"
    assert time.monotonic() - t0 < 4  # no 5 s wait on an unrendered selector
