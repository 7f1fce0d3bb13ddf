import re

from playwright.sync_api import Page, expect


def test_example(page: Page) -> None:
    page.goto("PORTAL/customers/new")
    page.get_by_label("Full name").fill("Alan Turing")
    page.get_by_role("textbox", name="Email").fill("alan@example.com")
    page.get_by_label("Plan").select_option("enterprise")
    page.get_by_label("VIP customer").check()
    page.get_by_role("button", name="Save customer").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+"))
    expect(page.get_by_text("Customer created")).to_be_visible()
