import re
from playwright.sync_api import Playwright, sync_playwright, expect


def run(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(headless=False)
    context = browser.new_context()
    page = context.new_page()
    page.goto("PORTAL/customers/new")
    page.get_by_label("Full name").click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_role("textbox", name="Email").click()
    page.get_by_role("textbox", name="Email").fill("ada@example.com")
    page.get_by_label("Plan").select_option("pro")
    page.get_by_label("Phone").check()
    page.get_by_role("button", name="Save customer").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+"))
    expect(page.get_by_text("Customer created")).to_be_visible()

    # ---------------------
    context.close()
    browser.close()


with sync_playwright() as playwright:
    run(playwright)
