"""The README's Python section, as a user would type it: demonstrate a task, save it, replay it healed."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

import webmem


def test_demonstrate_then_replay_in_ten_lines(page: Page, portal, tmp_path: Path) -> None:
    rec = webmem.Recorder(page, name="create-customer", task="Create a customer",
                          inputs={"full_name": "Ada Lovelace", "email": "ada@example.com"})
    rec.goto(portal.url + "/customers/new")
    rec.fill(page.get_by_label("Full name"), "Ada Lovelace")
    rec.fill(page.get_by_role("textbox", name="Email"), "ada@example.com")
    rec.click(page.get_by_role("button", name="Save customer"))
    webmem.save_flow(rec.flow(), tmp_path / "create-customer.yaml")
    portal.set_variant("labels_reworded")  # the page changed since: the replay heals and writes the fix
    report = webmem.replay(page, tmp_path / "create-customer.yaml", {"full_name": "Bob", "email": "bob@example.com"},
                           heal="local", write=True)
    assert report.passed, report.error
    assert report.healed_steps and report.flow_changed
    assert [s["data"]["full_name"] for s in portal.submissions("customer")] == ["Ada Lovelace", "Bob"]
