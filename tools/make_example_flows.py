"""Regenerates the example flows in flows/ by driving the demo portal through webmem's recorder
(the fingerprint and selector code, no model). Run: .venv/bin/python tools/make_example_flows.py"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from fixtures_site.server import PortalServer
from webmem.browser import launch as browser
from webmem.browser.config import load_settings
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
                   inputs=inputs, values=values, base_url=url)
    rec.goto(url + "/customers/new")
    rec.act("fill", page.locator("#full_name"), "Ada Lovelace", "the customer's full name field")
    rec.act("fill", page.locator("#email"), "ada@example.com", "the customer's e-mail field")
    rec.act("select", page.locator("#plan"), "pro", "the plan select")
    rec.act("check", page.locator("#contact-by-phone"), None, "the 'Phone' preferred-contact option")
    rec.act("check", page.locator("#vip"), None, "the 'VIP customer' checkbox")
    rec.act("fill", page.locator("#start_date"), "2026-12-01", "the start date field")
    rec.act("fill", page.locator("#notes"), "Prefers mornings", "the notes box")
    rec.act("click", page.get_by_role("button", name="Save customer"), None, "the Save customer button")
    return rec.flow()


def wizard(page, url):
    inputs = {
        "company": InputSpec(), "country": InputSpec(description="country code or name", default="de"),
        "contact_name": InputSpec(), "phone": InputSpec(),
    }
    values = {"company": "Analytical Engines Ltd", "country": "gb", "contact_name": "Charles Babbage",
              "phone": "+44 20 7946 0000"}
    rec = Recorder(page, name="company-application", task="Submit a company application through the wizard",
                   inputs=inputs, values=values, base_url=url)
    rec.goto(url + "/wizard/1")
    rec.act("fill", page.locator("#company"), values["company"], "the company name field")
    rec.act("select", page.locator("#country"), "gb", "the country select")
    rec.act("click", page.get_by_role("button", name="Next"), None, "the Next button")
    rec.act("fill", page.locator("#contact_name"), values["contact_name"], "the contact name field")
    rec.act("fill", page.locator("#phone"), values["phone"], "the phone field")
    rec.act("click", page.get_by_role("button", name="Next"), None, "the Next button")
    rec.act("check", page.locator("#confirm"), None, "the 'details are correct' confirmation")
    rec.act("click", page.get_by_role("button", name="Submit application"), None, "the Submit application button")
    return rec.flow()


def contact(page, url):
    inputs = {"name": InputSpec(), "email": InputSpec(format="email"),
              "role": InputSpec(type="enum", choices=["admin", "editor", "viewer"], default="viewer")}
    values = {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}
    rec = Recorder(page, name="add-contact", task="Add a contact through the New contact dialog",
                   inputs=inputs, values=values, base_url=url)
    rec.goto(url + "/contacts")
    rec.act("click", page.get_by_role("button", name="Add contact"), None, "the Add contact button")
    rec.act("fill", page.locator("#contact-name"), values["name"], "the contact's name field in the dialog")
    rec.act("fill", page.locator("#contact-email"), values["email"], "the contact's e-mail field in the dialog")
    rec.act("select", page.locator("#contact-role"), "editor", "the role select in the dialog")
    rec.act("click", page.get_by_role("button", name="Save contact"), None, "the Save contact button")
    return rec.flow()


def login(page, url):
    inputs = {"username": InputSpec(default="demo"),
              "password": InputSpec(secret=True, env="PORTAL_PASSWORD", description="never written anywhere")}
    values = {"username": "demo", "password": "demo-pass-123"}
    rec = Recorder(page, name="sign-in", task="Sign in to the portal and open the records list",
                   inputs=inputs, values=values, base_url=url)
    rec.goto(url + "/login")
    rec.act("fill", page.locator("#username"), "demo", "the username field")
    rec.act("fill", page.locator("#password"), "{{ password }}", "the password field")
    rec.act("click", page.get_by_role("button", name="Sign in"), None, "the Sign in button")
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
