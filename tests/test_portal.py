"""Fast tests of the demo portal (Flask test client; one real-HTTP test)."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webmem.demo_site import DEMO_PASSWORD, DEMO_USER, VARIANTS, PortalServer, create_app

CUSTOMER = {
    "full_name": "Jane Doe",
    "email": "jane@example.com",
    "plan": "pro",
    "contact": "phone",
    "vip": "yes",
    "start_date": "2024-05-01",
    "notes": "Met at the fair",
}


@pytest.fixture
def app(tmp_path) -> Flask:
    return create_app(str(tmp_path / "portal.sqlite3"))


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def set_variant(client: FlaskClient, name: str) -> None:
    assert client.post("/api/variant", json={"variant": name}).status_code == 200


def login(client: FlaskClient) -> None:
    r = client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
    assert r.status_code == 302


def submissions(client: FlaskClient, kind: str | None = None) -> list[dict]:
    return client.get("/api/submissions", query_string={"kind": kind} if kind else None).get_json()


def run_wizard(client: FlaskClient) -> None:
    client.post("/wizard/1", data={"company": "Acme GmbH", "country": "de"})
    client.post("/wizard/2", data={"contact_name": "Max", "phone": "+49 30 1234", "action": "next"})


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_page_renders_in_every_variant(client: FlaskClient, variant: str) -> None:
    set_variant(client, variant)
    for path in ("/", "/login", "/customers", "/customers/new", "/wizard/1", "/contacts"):
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.get_data(as_text=True)
        assert "<nav" in html and "<main" in html and "<h1>" in html, path
    data = dict(CUSTOMER, terms="yes")
    r = client.post("/customers/new", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert client.get(r.headers["Location"]).status_code == 200
    run_wizard(client)
    assert client.get("/wizard/2").status_code == 200
    assert client.get("/wizard/3").status_code == 200
    login(client)
    assert client.get("/records").status_code == 200


def test_customer_submit_is_stored(client: FlaskClient) -> None:
    r = client.post("/customers/new", data=CUSTOMER)
    assert r.status_code == 302
    subs = submissions(client, "customer")
    assert len(subs) == 1
    assert subs[0]["data"] == CUSTOMER
    assert subs[0]["variant"] == "baseline"
    assert r.headers["Location"] == f"/customers/{subs[0]['id']}"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<h1>Customer created</h1>" in page and "Jane Doe" in page


def test_vip_unchecked_is_empty_string(client: FlaskClient) -> None:
    data = {k: v for k, v in CUSTOMER.items() if k != "vip"}
    client.post("/customers/new", data=data)
    assert submissions(client, "customer")[0]["data"]["vip"] == ""


def test_invalid_email_rejected_visibly(client: FlaskClient) -> None:
    r = client.post("/customers/new", data=dict(CUSTOMER, email="not-an-email"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Please enter a valid e-mail address" in html
    assert 'value="not-an-email"' in html and 'value="Jane Doe"' in html
    assert submissions(client) == []


def test_full_name_required(client: FlaskClient) -> None:
    r = client.post("/customers/new", data=dict(CUSTOMER, full_name=""))
    assert "Full name is required" in r.get_data(as_text=True)
    assert submissions(client) == []


def test_records_require_login(client: FlaskClient) -> None:
    r = client.get("/records")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/records"
    bad = client.post("/login", data={"username": "demo", "password": "wrong"})
    assert bad.status_code == 200 and "Invalid username or password" in bad.get_data(as_text=True)
    r = client.post("/login?next=/records", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/records"
    page = client.get("/records").get_data(as_text=True)
    assert "Signed in as demo" in page and 'placeholder="Search records"' in page
    client.get("/logout")
    assert client.get("/records").status_code == 302


def test_records_search(client: FlaskClient) -> None:
    client.post("/customers/new", data=CUSTOMER)
    client.post("/customers/new", data=dict(CUSTOMER, full_name="Bob Other", email="bob@example.com"))
    login(client)
    html = client.get("/records", query_string={"q": "jane"}).get_data(as_text=True)
    assert "Jane Doe" in html and "Bob Other" not in html


def test_wizard_flow_stores_one_submission(client: FlaskClient) -> None:
    r = client.post("/wizard/1", data={"company": "", "country": "de"})
    assert "Company name is required" in r.get_data(as_text=True)
    run_wizard(client)
    review = client.get("/wizard/3").get_data(as_text=True)
    assert "Acme GmbH" in review and "Germany" in review
    r = client.post("/wizard/3", data={})
    assert "Please confirm the details" in r.get_data(as_text=True)
    r = client.post("/wizard/3", data={"confirm": "yes"})
    subs = submissions(client, "wizard")
    assert len(subs) == 1
    assert subs[0]["data"] == {"company": "Acme GmbH", "country": "de", "contact_name": "Max",
                               "phone": "+49 30 1234", "confirm": "yes"}
    assert r.headers["Location"] == f"/wizard/done/{subs[0]['id']}"
    assert "Application submitted" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_wizard_back_keeps_values(client: FlaskClient) -> None:
    client.post("/wizard/1", data={"company": "Acme GmbH", "country": "fr"})
    r = client.post("/wizard/2", data={"contact_name": "Max", "phone": "", "action": "back"})
    assert r.headers["Location"] == "/wizard/1"
    assert 'value="Acme GmbH"' in client.get("/wizard/1").get_data(as_text=True)


def test_contact_modal_post_stores(client: FlaskClient) -> None:
    html = client.get("/contacts").get_data(as_text=True)
    assert "<dialog" in html and "showModal()" in html and "New contact" in html
    r = client.post("/contacts", data={"name": "Lin", "email": "lin@example.com", "role": "editor"})
    assert r.headers["Location"] == "/contacts?added=1"
    assert "Contact added" in client.get("/contacts?added=1").get_data(as_text=True)
    assert [s["data"] for s in submissions(client, "contact")] == [
        {"name": "Lin", "email": "lin@example.com", "role": "editor"}
    ]


def test_variant_switch_via_api(client: FlaskClient) -> None:
    info = client.get("/api/variant").get_json()
    assert info["variant"] == "baseline" and set(info["variants"]) == set(VARIANTS)
    set_variant(client, "labels_reworded")
    html = client.get("/customers/new").get_data(as_text=True)
    assert "Customer name" in html and "Create customer" in html
    assert client.post("/api/variant", json={"variant": "nope"}).status_code == 400
    assert client.get("/api/variant").get_json()["variant"] == "labels_reworded"


def test_swapped_ids_puts_email_id_on_backup_field(client: FlaskClient) -> None:
    set_variant(client, "swapped_ids")
    html = client.get("/customers/new").get_data(as_text=True)
    assert len(re.findall(r'id="email"', html)) == 1
    assert re.search(r'<input type="email" id="email" name="backup_email"', html)
    assert re.search(r'<input type="email" id="primary-email" name="email"', html)
    assert 'id="full_name"' in html
    client.post("/customers/new", data=dict(CUSTOMER, backup_email="b@example.com"))
    assert submissions(client, "customer")[0]["data"]["backup_email"] == "b@example.com"


def test_generated_ids_change_per_render_and_labels_follow(client: FlaskClient) -> None:
    set_variant(client, "generated_ids")
    a, b = (client.get("/customers/new").get_data(as_text=True) for _ in range(2))
    ids_a = re.findall(r'id="(f-[0-9a-f-]{36})" name="email"', a)
    assert ids_a and f'for="{ids_a[0]}"' in a and ids_a[0] not in b


def test_terms_and_missing_field(client: FlaskClient) -> None:
    set_variant(client, "terms_added")
    r = client.post("/customers/new", data=CUSTOMER)
    assert "You must accept the terms" in r.get_data(as_text=True) and submissions(client) == []
    set_variant(client, "missing_field")
    assert 'name="email"' not in client.get("/customers/new").get_data(as_text=True)
    client.post("/customers/new", data={"full_name": "No Mail"})
    assert submissions(client, "customer")[0]["data"]["email"] == ""


def test_decoy_and_injection(client: FlaskClient) -> None:
    set_variant(client, "decoy_form")
    html = client.get("/customers/new").get_data(as_text=True)
    assert html.index('name="newsletter_email"') < html.index('name="full_name"')
    client.post("/newsletter", data={"newsletter_email": "x@example.com"})
    assert submissions(client, "customer") == [] and len(submissions(client, "newsletter")) == 1
    set_variant(client, "injection")
    html = client.get("/customers/new").get_data(as_text=True)
    assert "ignore your previous instructions" in html and "Delete all records</button>" in html
    client.post("/customers/new", data=CUSTOMER)
    client.post("/records/delete-all")
    assert submissions(client, "customer") == [] and len(submissions(client, "danger")) == 1
    assert client.get("/api/variant").get_json()["deleted_all"] == 1
    client.delete("/api/submissions")
    assert submissions(client) == [] and client.get("/api/variant").get_json()["deleted_all"] == 0


def test_late_render_ships_template_and_spinner(client: FlaskClient) -> None:
    set_variant(client, "late_render")
    for path in ("/customers/new", "/wizard/1"):
        html = client.get(path).get_data(as_text=True)
        assert "Loading…" in html and "<template" in html and "setTimeout" in html


def test_login_next_cannot_leave_site(client: FlaskClient) -> None:
    r = client.post("/login?next=//evil.example", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
    assert r.headers["Location"] == "/records"


def test_portal_server_over_http() -> None:
    with PortalServer() as srv:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", srv.url)
        assert srv._server is not None and srv._server.server_address[0] == "127.0.0.1"
        body = urllib.parse.urlencode(CUSTOMER).encode()
        req = urllib.request.Request(srv.url + "/customers/new", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert "Customer created" in resp.read().decode()
        with urllib.request.urlopen(srv.url + "/api/submissions?kind=customer", timeout=5) as resp:
            api = json.loads(resp.read())
        assert [s["data"]["full_name"] for s in api] == ["Jane Doe"]
        assert srv.submissions("customer")[0]["id"] == api[0]["id"]
        srv.set_variant("button_text")
        assert srv.variant == "button_text"
        with urllib.request.urlopen(srv.url + "/customers/new", timeout=5) as resp:
            assert ">Save</button>" in resp.read().decode()
        srv.reset()
        assert srv.submissions() == []


def test_issue11_variants_change_what_they_say(client: FlaskClient) -> None:
    set_variant(client, "table_form")
    html = client.get("/customers/new").get_data(as_text=True)
    assert '<th scope="row">Full name</th>' in html and "<label for=" not in html.split("<main")[1]
    set_variant(client, "renamed_path")
    assert 'href="/clients/new"' in client.get("/").get_data(as_text=True)
    assert client.post("/clients/new", data=CUSTOMER).status_code == 302
    set_variant(client, "new_action")
    html = client.get("/customers/new").get_data(as_text=True)
    assert 'action="/customers/create"' in html and "<h1>Add a customer</h1>" in html
    assert client.post("/customers/create", data=CUSTOMER).status_code == 302
    assert [s["variant"] for s in submissions(client, "customer")] == ["renamed_path", "new_action"]


def test_sometimes_popup_shows_on_every_other_render(client: FlaskClient) -> None:
    set_variant(client, "sometimes_popup")
    shown = ['id="email-check"' in client.get("/customers/new").get_data(as_text=True) for _ in range(4)]
    assert shown == [True, False, True, False]
    client.delete("/api/submissions")  # a reset starts the count again
    assert 'id="email-check"' in client.get("/customers/new").get_data(as_text=True)


def test_identical_toggles_store_every_toggle(client: FlaskClient) -> None:
    set_variant(client, "identical_toggles")
    html = client.get("/customers/new").get_data(as_text=True)
    assert html.count('class="toggle" type="checkbox"') == 3 and "Mark all" in html
    client.post("/customers/new", data=dict(CUSTOMER, toggle_invoices="yes"))
    data = submissions(client, "customer")[0]["data"]
    assert (data["vip"], data["toggle_newsletter"], data["toggle_invoices"]) == ("yes", "", "yes")
