"""The recorder marks the commit point (`commit: true`): the click that hands the data to the server, after the
last field was set, not a later click away from the confirmation; on real Chromium against the portal."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

import webmem
from webmem.flow.commit import commit_index
from webmem.flow.format import Flow


def _unmarked(flow: Flow) -> Flow:
    return flow.model_copy(update={"steps": [s.model_copy(update={"commit": False}) for s in flow.steps]})


def test_the_save_that_posts_is_the_commit_not_a_later_link(page: Page, portal, tmp_path: Path) -> None:
    values = {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}
    rec = webmem.Recorder(page, name="add-contact", task="Add a contact", inputs=values)
    rec.goto(portal.url + "/contacts")
    rec.click(page.get_by_role("button", name="Add contact"))  # opens a dialog: sends nothing
    rec.fill(page.get_by_label("Name", exact=True), values["name"])
    rec.fill(page.get_by_label("Email"), values["email"])
    rec.select(page.get_by_label("Role"), values["role"])
    rec.click(page.get_by_role("button", name="Save contact"))  # the form post
    rec.click(page.get_by_role("link", name="Records"))  # away from the confirmation
    flow = rec.flow()
    assert [i for i, s in enumerate(flow.steps) if s.commit] == [5]
    assert commit_index(flow) == 5
    assert commit_index(_unmarked(flow)) == 6  # batch's fallback (the last click) would have been the link
    assert not any(s.commit for s in rec.steps)  # the recording itself is left as it was

    path = tmp_path / "add-contact.yaml"
    webmem.save_flow(flow, path)
    assert path.read_text(encoding="utf-8").count("commit: true") == 1
    again = webmem.load_flow(path).flow
    assert [i for i, s in enumerate(again.steps) if s.commit] == [5]
    report = webmem.replay(page, path, {"name": "Alan Turing", "email": "alan@example.com", "role": "viewer"},
                           base_url=portal.url, heal="off")
    assert report.passed, report.error
    assert [s["data"]["email"] for s in portal.submissions("contact")] == ["grace@example.com", "alan@example.com"]


def test_the_wizard_commits_at_its_last_submit(page: Page, portal) -> None:
    """Each Next posts a page of the wizard, but fields follow it: the submit after the last field is the
    commit point."""
    values = {"company": "Analytical Engines Ltd", "country": "gb", "contact_name": "Charles Babbage",
              "phone": "+44 20 7946 0000"}
    rec = webmem.Recorder(page, name="apply", task="Submit an application", inputs=values)
    rec.goto(portal.url + "/wizard/1")
    rec.fill(page.get_by_label("Company name"), values["company"])
    rec.select(page.get_by_label("Country"), values["country"])
    rec.click(page.get_by_role("button", name="Next"))
    rec.fill(page.get_by_label("Contact name"), values["contact_name"])
    rec.fill(page.get_by_label("Phone"), values["phone"])
    rec.click(page.get_by_role("button", name="Next"))
    rec.check(page.get_by_label("I confirm these details are correct"))
    rec.click(page.get_by_role("button", name="Submit application"))
    flow = rec.flow()
    assert len(portal.submissions("wizard")) == 1
    assert [s.action for s in flow.steps if s.commit] == ["click"]
    assert [i for i, s in enumerate(flow.steps) if s.commit] == [len(flow.steps) - 1]


def test_without_a_post_the_click_after_the_fields_is_the_commit(page: Page, portal) -> None:
    """Signing in posts, but fields follow it; the search after them sends no data: no request says which click
    hands anything over, so the mark goes on the first click after the last field (careful: a row cut short
    there is verified, never entered again blindly), not on the later link."""
    rec = webmem.Recorder(page, name="search", task="Search the records",
                          inputs={"q": "contact", "password": "demo-pass-123"}, secrets=["password"])
    rec.goto(portal.url + "/login")
    rec.fill(page.get_by_label("Username"), "demo")
    rec.fill(page.get_by_label("Password"), "{{ password }}")
    rec.click(page.get_by_role("button", name="Sign in"))
    rec.goto(portal.url + "/records")
    rec.fill(page.get_by_role("searchbox"), "contact")
    rec.click(page.get_by_role("button", name="Search"))
    rec.click(page.get_by_role("link", name="Contacts"))
    flow = rec.flow()
    assert [s.action for s in flow.steps] == ["goto", "fill", "fill", "click", "goto", "fill", "click", "click"]
    assert [i for i, s in enumerate(flow.steps) if s.commit] == [6]
