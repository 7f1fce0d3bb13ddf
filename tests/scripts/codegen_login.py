import re

from playwright.sync_api import Playwright, sync_playwright, expect


def run(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(headless=False)
    context = browser.new_context()
    page = context.new_page()
    page.goto("PORTAL/login")
    page.get_by_label("Username").click()
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Username").press("Tab")
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page).to_have_title("Records · Acme Portal")

    # ---------------------
    context.close()
    browser.close()


with sync_playwright() as playwright:
    run(playwright)
