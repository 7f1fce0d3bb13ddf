"""Signatures, fingerprints and selectors computed in real Chromium on the portal."""

from __future__ import annotations

from playwright.sync_api import Page

from webmem.flow.model import Fingerprint, RenderedTarget, Target
from webmem.page import signature
from webmem.page.fingerprint import holds_data, looks_generated, score
from webmem.page.locate import data_words, render_target, resolve
from webmem.page.selector import locator
from webmem.page.target import fingerprint_of, learn_target


def test_signature_stable_similar_and_different(page: Page, portal) -> None:
    page.goto(portal.url + "/customers/new")
    first = signature.capture(page)
    page.reload()
    assert signature.capture(page).hash == first.hash  # same page twice → same hash
    page.fill("#full_name", "typed values are not part of it")
    assert signature.capture(page).hash == first.hash
    portal.set_variant("wrapped_banner")
    page.reload()
    match, sim = signature.compare(first, signature.capture(page))
    assert match is signature.Match.SIMILAR, sim
    page.goto(portal.url + "/wizard/1")
    match, _ = signature.compare(first, signature.capture(page))
    assert match is signature.Match.DIFFERENT


def test_signature_masks_per_run_data_and_collapses_rows(page: Page, portal) -> None:
    page.goto(portal.url + "/contacts")
    sig = signature.capture(page)
    assert "table|name,email,role|3-5" in sig.tokens
    assert not any("@" in t and "<email>" not in t for t in sig.tokens)


def test_selectors_unique_and_skip_generated_ids(page: Page, portal) -> None:
    portal.set_variant("generated_ids")
    page.goto(portal.url + "/customers/new")
    email = page.locator("input[name=email]").element_handle()
    target = learn_target(page, email, "the email")
    assert target.selectors[0] == 'role=textbox[name="Email"]'
    assert not any("#f-" in s for s in target.selectors)
    for sel in target.selectors:
        assert locator(page, sel).count() == 1
    assert looks_generated(target.fingerprint.attrs["id"])
    assert not looks_generated("email") and not looks_generated("full_name")


def test_fingerprint_scores_same_control_above_look_alike(page: Page, portal) -> None:
    page.goto(portal.url + "/customers/new")
    learned = fingerprint_of(page, page.locator("#email").element_handle())
    portal.set_variant("swapped_ids")
    page.reload()
    real = fingerprint_of(page, page.locator("#primary-email").element_handle())
    backup = fingerprint_of(page, page.locator("#email").element_handle())
    assert score(learned, real) > score(learned, backup) + 0.1


def test_resolve_reports_every_selector(page: Page, portal) -> None:
    page.goto(portal.url + "/customers/new")
    target = learn_target(page, page.locator("#notes").element_handle(), "notes")
    portal.set_variant("missing_field")
    page.reload()
    res = resolve(page, target, "fill")
    assert res.ok  # notes is still there
    target.selectors = ["css=#nothing-here", "css=input"]
    res = resolve(page, target, "fill")
    assert not res.ok and "no visible match" in res.problem and "ambiguous" in res.problem


def test_a_rendered_targets_data_binding_survives_dump_and_validate() -> None:
    """A data-bound target rendered for a run carries what it is bound to as fields of its own (no private
    attributes set from outside the model): a dump and re-validate keeps it, and the element must still show
    the datum."""
    learned = Target(intent="the checkbox of the item {{ todo }}", selectors=['role=checkbox[name="{{ todo }}"]'],
                     fingerprint=Fingerprint(tag="input", type="checkbox", role="checkbox", name="{{ todo }}"))
    rendered = render_target(learned, {"todo": "Buy milk"})
    again = type(rendered).model_validate(rendered.model_dump())
    other = Fingerprint(tag="input", type="checkbox", role="checkbox", name="Buy milk and eggs")
    for target in (rendered, again):
        assert target.fingerprint is not None
        assert data_words(target.fingerprint) == ["Buy milk"]
        assert not holds_data(target.fingerprint, other)  # another item's checkbox is not this one
        assert holds_data(target.fingerprint, other.model_copy(update={"name": "Buy milk"}))
    assert isinstance(again, RenderedTarget) and again.bound == set(again.selectors)
