from playwright.sync_api import Playwright, sync_playwright, expect


def run(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(headless=False)
    context = browser.new_context()
    page = context.new_page()
    page.goto("PORTAL/wizard/1")
    page.get_by_label("Company name").click()
    page.get_by_label("Company name").fill("Analytical Engines Ltd")
    page.get_by_label("Country").select_option("gb")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Contact name").fill("Charles Babbage")
    page.get_by_label("Phone").fill("+44 20 7946 0000")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("I confirm these details are correct").check()
    page.get_by_role("button", name="Submit application").click()
    expect(page.locator("h1")).to_have_text("Application submitted")

    # ---------------------
    context.close()
    browser.close()


with sync_playwright() as playwright:
    run(playwright)
