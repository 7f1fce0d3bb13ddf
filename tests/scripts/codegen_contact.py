from playwright.sync_api import Playwright, sync_playwright, expect


def run(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(headless=False)
    context = browser.new_context()
    page = context.new_page()
    page.goto("PORTAL/contacts")
    page.get_by_role("button", name="Add contact").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Grace Hopper")
    page.get_by_role("dialog").get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_text("Contact added")).to_be_visible()

    # ---------------------
    context.close()
    browser.close()


with sync_playwright() as playwright:
    run(playwright)
