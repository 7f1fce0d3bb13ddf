"""Smoke tests of the two data-entry portals the end-to-end tests and the bench use: a plain Playwright script
(no webmem) signs in, enters a record, and the record is read back from the portal's database."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid

from playwright.sync_api import Page, expect

from .portals.crm import CrmServer
from .portals.flask_admin_app import AdminPortalServer


def sign_in(page: Page, user: str, password: str, button: str) -> None:
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=button).click()


def test_crm_sign_in_customer_and_invoice(page: Page, crm: CrmServer) -> None:
    tag = uuid.uuid4().hex[:8]
    signins = crm.signins
    page.goto(crm.url + "/customers/new")
    assert re.search(r"/login\?next=%2Fcustomers%2Fnew$", page.url)  # the wall, and where to go back to
    sign_in(page, crm.user, crm.password, "Sign in")
    page.wait_for_url("**/customers/new")
    page.get_by_label("Name").fill(f"Ada {tag}")
    page.get_by_label("E-mail").fill(f"ada-{tag}@example.com")
    page.get_by_label("Plan").select_option("pro")
    page.get_by_label("Customer since").fill("2024-05-01")
    page.get_by_label("VIP").check()
    page.get_by_role("switch", name="Active").uncheck()
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("status")).to_have_text("Customer saved.")
    assert re.search(r"/customers/\d+$", page.url)
    stored = [c for c in crm.customers() if c["name"] == f"Ada {tag}"]
    assert [(c["email"], c["plan"], c["since"], c["vip"], c["active"]) for c in stored] == [
        (f"ada-{tag}@example.com", "pro", "2024-05-01", True, False)]

    # master-detail: one blank row shown, two more through "Add another line" (rows without labels, in a table)
    page.goto(crm.url + "/invoices/new")
    page.get_by_label("Customer").fill(f"Ada {tag}")
    page.get_by_role("link", name="Add another line").click()
    page.get_by_role("link", name="Add another line").click()
    lines = [("Consulting", "2", "150.00"), ("Travel", "1", "80.50"), ("Report", "3", "20.00")]
    for i, (description, quantity, price) in enumerate(lines):
        page.locator(f'[name="lines-{i}-description"]').fill(description)
        page.locator(f'[name="lines-{i}-quantity"]').fill(quantity)
        page.locator(f'[name="lines-{i}-unit_price"]').fill(price)
    page.get_by_role("button", name="Save invoice").click()
    expect(page.get_by_role("status")).to_have_text("Invoice saved.")
    invoice_id = int(page.url.rsplit("/", 1)[1])  # assigned by the server
    with urllib.request.urlopen(crm.url + "/api/invoices", timeout=5) as r:
        invoices = {i["id"]: i for i in json.load(r)}
    assert [(ln["description"], str(ln["quantity"]), ln["unit_price"]) for ln in invoices[invoice_id]["lines"]] \
        == lines
    assert invoices[invoice_id]["total"] == "440.50"
    assert crm.signins == signins + 1

    # a session that expires sends the next page to the sign-in page, saying so, and back after it
    crm.expire_sessions()
    page.goto(crm.url + "/invoices/new")
    assert "/login?next=%2Finvoices%2Fnew&expired=1" in page.url
    expect(page.get_by_role("status")).to_contain_text("session has expired")
    sign_in(page, crm.user, crm.password, "Sign in")
    page.wait_for_url("**/invoices/new")


def test_crm_refuses_posts_without_csrf(crm: CrmServer) -> None:
    client = crm.app.test_client()
    assert client.post("/login", data={"username": crm.user, "password": crm.password}).status_code == 400
    login = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token
    r = client.post("/login", data={"username": crm.user, "password": crm.password, "csrf_token": token[1]})
    assert r.status_code == 302
    assert client.post("/customers/new", data={"name": "x", "email": "x@example.com"}).status_code == 400


def test_flask_admin_sign_in_and_customer(page: Page, admin_portal: AdminPortalServer) -> None:
    tag = uuid.uuid4().hex[:8]
    signins = admin_portal.signins
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(admin_portal.url + "/admin/customer/new/")
    assert page.url.endswith("/login?next=/admin/customer/new/")
    sign_in(page, admin_portal.user, admin_portal.password, "Log in")
    page.wait_for_url("**/admin/customer/new/")
    page.get_by_label("Name").fill(f"Grace {tag}")
    page.get_by_label("Email").fill(f"grace-{tag}@example.com")
    page.get_by_label("VIP").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Record was successfully created.")).to_be_visible()
    stored = [c for c in admin_portal.customers() if c["name"] == f"Grace {tag}"]
    assert [(c["email"], c["vip"], c["plan"]) for c in stored] == [(f"grace-{tag}@example.com", True, "free")]
    assert admin_portal.signins == signins + 1
    # its own assets, from the package (no CDN): jQuery and select2 ran, so the plan select became a widget
    expect(page.locator("#s2id_plan")).to_have_count(0)  # the list page has no form
    page.goto(admin_portal.url + "/admin/customer/new/")
    expect(page.locator("#s2id_plan")).to_be_visible()
    assert not failed

    admin_portal.expire_sessions()
    page.goto(admin_portal.url + "/admin/invoice/new/")
    assert page.url.endswith("/login?next=/admin/invoice/new/&expired=1")
