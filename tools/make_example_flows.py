"""Regenerates the example flows in flows/ by driving the demo portal through webmem's recorder
(the fingerprint and selector code, no model). Run: .venv/bin/python tools/make_example_flows.py"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from webmem.browser import launch as browser
from webmem.browser.config import load_settings
from webmem.demo_site.server import PortalServer
from webmem.flow.flowfile import save_flow
from webmem.flow.model import InputSpec
from webmem.learn.record import Recorder
from webmem.page import inpage

OUT = Path(__file__).resolve().parent.parent / "flows"
BASE = "http://127.0.0.1:8000"  # the demo portal's default address; overridable with --base-url


def customer(page, url):
    inputs = {
        "full_name": InputSpec(description="the customer's full name"),
        "email": InputSpec(format="email"),
        "plan": InputSpec(type="enum", choices=["free", "pro", "enterprise"], default="pro"),
        "start_date": InputSpec(format="date", default="2026-12-01"),
        "notes": InputSpec(required=False, default=""),
    }
    values = {"full_name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro",
              "start_date": "2026-12-01", "notes": "Prefers mornings"}
    rec = Recorder(page, name="create-customer", task="Create a customer with the given name, email and plan",
                   inputs=values, specs=inputs, base_url=url)
    rec.goto(url + "/customers/new")
    rec.fill(page.locator("#full_name"), "Ada Lovelace", intent="the customer's full name field")
    rec.fill(page.locator("#email"), "ada@example.com", intent="the customer's e-mail field")
    rec.select(page.locator("#plan"), "pro", intent="the plan select")
    rec.check(page.locator("#contact-by-phone"), intent="the 'Phone' preferred-contact option")
    rec.check(page.locator("#vip"), intent="the 'VIP customer' checkbox")
    rec.fill(page.locator("#start_date"), "2026-12-01", intent="the start date field")
    rec.fill(page.locator("#notes"), "Prefers mornings", intent="the notes box")
    rec.click(page.get_by_role("button", name="Save customer"), intent="the Save customer button")
    return rec.flow()


def wizard(page, url):
    inputs = {
        "company": InputSpec(), "country": InputSpec(description="country code or name", default="de"),
        "contact_name": InputSpec(), "phone": InputSpec(),
    }
    values = {"company": "Analytical Engines Ltd", "country": "gb", "contact_name": "Charles Babbage",
              "phone": "+44 20 7946 0000"}
    rec = Recorder(page, name="company-application", task="Submit a company application through the wizard",
                   inputs=values, specs=inputs, base_url=url)
    rec.goto(url + "/wizard/1")
    rec.fill(page.locator("#company"), values["company"], intent="the company name field")
    rec.select(page.locator("#country"), "gb", intent="the country select")
    rec.click(page.get_by_role("button", name="Next"), intent="the Next button")
    rec.fill(page.locator("#contact_name"), values["contact_name"], intent="the contact name field")
    rec.fill(page.locator("#phone"), values["phone"], intent="the phone field")
    rec.click(page.get_by_role("button", name="Next"), intent="the Next button")
    rec.check(page.locator("#confirm"), intent="the 'details are correct' confirmation")
    rec.click(page.get_by_role("button", name="Submit application"), intent="the Submit application button")
    return rec.flow()


def contact(page, url):
    inputs = {"name": InputSpec(), "email": InputSpec(format="email"),
              "role": InputSpec(type="enum", choices=["admin", "editor", "viewer"], default="viewer")}
    values = {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}
    rec = Recorder(page, name="add-contact", task="Add a contact through the New contact dialog",
                   inputs=values, specs=inputs, base_url=url)
    rec.goto(url + "/contacts")
    rec.click(page.get_by_role("button", name="Add contact"), intent="the Add contact button")
    rec.fill(page.locator("#contact-name"), values["name"], intent="the contact's name field in the dialog")
    rec.fill(page.locator("#contact-email"), values["email"], intent="the contact's e-mail field in the dialog")
    rec.select(page.locator("#contact-role"), "editor", intent="the role select in the dialog")
    rec.click(page.get_by_role("button", name="Save contact"), intent="the Save contact button")
    return rec.flow()


def login(page, url):
    inputs = {"username": InputSpec(default="demo"),
              "password": InputSpec(secret=True, env="PORTAL_PASSWORD", description="never written anywhere")}
    values = {"username": "demo", "password": "demo-pass-123"}
    rec = Recorder(page, name="sign-in", task="Sign in to the portal and open the records list",
                   inputs=values, specs=inputs, base_url=url)
    rec.goto(url + "/login")
    rec.fill(page.locator("#username"), "demo", intent="the username field")
    rec.fill(page.locator("#password"), "{{ password }}", intent="the password field")
    rec.click(page.get_by_role("button", name="Sign in"), intent="the Sign in button")
    return rec.flow()


def main() -> None:
    settings = load_settings()
    with PortalServer() as portal, sync_playwright() as pw:
        b = browser.launch(pw, settings)
        for make in (customer, wizard, contact, login):
            ctx = b.new_context()
            inpage.install(ctx)
            page = ctx.new_page()
            flow = make(page, portal.url)
            flow = flow.model_copy(update={"base_url": BASE})
            path = OUT / f"{flow.name}.yaml"
            save_flow(flow, path)
            print(f"wrote {path}")
            ctx.close()
        b.close()


if __name__ == "__main__":
    main()
