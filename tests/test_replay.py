"""Replay on real Chromium against the real portal: every step type, the data that lands server-side,
the blind-replay guard, and the origin refusal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from webmem import load_flow
from webmem.errors import InputError
from webmem.flow.format import Flow
from webmem.playback.run import RunOptions, run_flow

from .conftest import FLOWS

CUSTOMER = {"full_name": "Bob Smith", "email": "bob@example.com", "plan": "enterprise", "notes": "hi"}


def customer_flow() -> Flow:
    return load_flow(FLOWS / "create-customer.yaml").flow


def test_customer_flow_lands_server_side(page: Page, portal) -> None:
    report = run_flow(page, customer_flow(), CUSTOMER, RunOptions(base_url=portal.url))
    assert report.passed, report.error
    assert [s.status for s in report.steps] == ["ok"] * len(report.steps)
    assert report.llm_calls == 0
    [sub] = portal.submissions("customer")
    assert sub["data"] == {"full_name": "Bob Smith", "email": "bob@example.com", "plan": "enterprise",
                           "contact": "phone", "vip": "yes", "start_date": "2026-12-01", "notes": "hi"}


def test_wizard_and_modal_flows(page: Page, portal) -> None:
    wizard = load_flow(FLOWS / "company-application.yaml").flow
    report = run_flow(page, wizard, {"company": "ACME", "country": "France", "contact_name": "Jo",
                                     "phone": "123"}, RunOptions(base_url=portal.url))
    assert report.passed, report.error
    contact = load_flow(FLOWS / "add-contact.yaml").flow
    report = run_flow(page, contact, {"name": "Ann", "email": "ann@example.com", "role": "admin"},
                      RunOptions(base_url=portal.url))
    assert report.passed, report.error
    assert portal.submissions("wizard")[0]["data"] == {
        "company": "ACME", "country": "fr", "contact_name": "Jo", "phone": "123", "confirm": "yes"}
    assert portal.submissions("contact")[0]["data"] == {"name": "Ann", "email": "ann@example.com",
                                                          "role": "admin"}


def test_missing_input_fails_before_any_step(page: Page, portal) -> None:
    with pytest.raises(InputError, match="email"):
        run_flow(page, customer_flow(), {"full_name": "X"}, RunOptions(base_url=portal.url))
    assert page.url == "about:blank"


def test_blind_replay_guard(page: Page, portal) -> None:
    """`#email` still matches one element on the swapped variant, but it is the Backup email box."""
    flow = customer_flow()
    for step in flow.steps:
        if step.target and step.target.fingerprint and step.target.fingerprint.attrs.get("id") == "email":
            step.target.selectors = ["css=#email"]
    portal.set_variant("swapped_ids")
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url))
    assert not report.passed
    failed = report.failed_step()
    assert failed is not None and failed.action == "fill" and "e-mail" in (failed.intent or "")
    assert portal.submissions() == []


def test_ambiguous_selector_never_takes_the_first(page: Page, portal) -> None:
    flow = customer_flow()
    flow.steps[2].target.selectors = ["css=input[type=email], input[name=full_name]"]
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url))
    assert not report.passed
    assert "ambiguous" in (report.error or "")


def test_refuses_another_origin(page: Page, portal) -> None:
    flow = customer_flow()
    flow.steps[0].goto = "http://127.0.0.2:9/customers/new"
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url))
    assert not report.passed and "origin" in (report.error or "")
    assert page.url == "about:blank"


def test_expectation_failure_names_step(page: Page, portal) -> None:
    flow = customer_flow()
    flow.steps[-1].expect.text = "Something that never shows"
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url))
    assert not report.passed
    assert report.error.startswith(f"step {len(flow.steps)} (click)")
    assert "Something that never shows" in report.error


def test_late_render_waits_for_learned_state(page: Page, portal) -> None:
    portal.set_variant("late_render")
    report = run_flow(page, customer_flow(), CUSTOMER, RunOptions(base_url=portal.url))
    assert report.passed, report.error
    assert len(portal.submissions("customer")) == 1


def test_a_dissimilar_page_is_evidence_not_a_gate(page: Page, portal) -> None:
    """Page identity decides how carefully, not whether: on a page unlike the learned one every target must
    verify on its own evidence, and they do; only --strict refuses the page itself."""
    flow = customer_flow()
    flow.steps[0].goto = "/customers/new"
    flow.pages["customers-new"].signature.tokens = ["heading|something else|h1||"]
    flow.pages["customers-new"].signature.hash = "0" * 16
    quick = RunOptions().timeouts.model_copy(update={"settle": 300})
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url, timeouts=quick))
    assert report.passed, report.error
    assert "targets verified" in (report.steps[1].page_match or "")
    assert "customers-new" in report.page_states  # the page as it is now, for a run that writes
    portal.reset()
    report = run_flow(page, flow, CUSTOMER, RunOptions(base_url=portal.url, timeouts=quick, strict=True))
    assert not report.passed
    assert "not the learned page state" in (report.error or "")
