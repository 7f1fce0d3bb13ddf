from playwright.sync_api import Playwright, sync_playwright, expect


def run(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(headless=False)
    context = browser.new_context()
    page = context.new_page()
    page.goto("PORTAL/documents")
    page.get_by_label("Title").click()
    page.get_by_label("Title").fill("Quarterly report")
    page.get_by_label("Document").set_input_files("report.txt")
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_text("Document uploaded")).to_be_visible()

    # ---------------------
    context.close()
    browser.close()


with sync_playwright() as playwright:
    run(playwright)
