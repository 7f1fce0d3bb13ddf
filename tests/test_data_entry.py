"""Data entry on a third-party admin portal (Flask-Admin from PyPI), end to end, through the command line only, as
issue 20's "command line that must work" (no Python, no hand-edited YAML), judged by the portal's database:

    webmem do .../login --task "Sign in to the admin" -i username=admin --secret password=PORTAL_PASSWORD
    webmem do .../admin/customer/new/ --task "Add a customer" -i name=Ada ... -i vip=no --sign-in SIGN_IN_FLOW
    webmem batch ADD_CUSTOMER_FLOW rows.csv --workers 2 --sign-in SIGN_IN_FLOW
    webmem do .../admin/invoice/new/ --task "Add an invoice" --inputs-file invoice.json --sign-in SIGN_IN_FLOW

Each `webmem` call is its own process and browser. The learned flows are shared by the module's tests (a test
run alone learns what it needs first), and no file written under the store or the batch's folders holds the
password in any encoding."""

from __future__ import annotations

import csv
import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webmem.flow.inputs import Redactor

from .conftest import run_webmem
from .portals.flask_admin_app import AdminPortalServer


class Journey:
    """One user's folders and the flows the command line learned, each learned once (per xdist worker)."""

    def __init__(self, portal: AdminPortalServer, folder: Path) -> None:
        self.portal = portal
        self.folder = folder
        self.store = folder / "flows"
        self.env = {"PORTAL_PASSWORD": portal.password}
        self._learned: dict[str, Path] = {}

    def webmem(self, *args: str, report: str | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        extra = ["--report", str(self.folder / report)] if report else []
        # cwd: the user's folder, so nothing lands in the repository; the heuristic agent: no model, no network
        proc = run_webmem(*args, *extra, cwd=self.folder, env=self.env, timeout=120)
        result = json.loads((self.folder / report).read_text(encoding="utf-8")) if report and proc.returncode < 2 \
            and (self.folder / report).exists() else {}
        return proc, result

    def do(self, path: str, task: str, *args: str, name: str) -> dict[str, Any]:
        proc, result = self.webmem("do", self.portal.url + path, "--task", task, *args, "--agent", "heuristic",
                                   "--store", str(self.store), report=f"{name}.json")
        assert proc.returncode == 0, f"webmem do {task!r} exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return result

    def learned(self, key: str, learn: Callable[[], dict[str, Any]]) -> Path:
        if key not in self._learned:
            result = learn()
            assert result["status"] == "learned", result
            self._learned[key] = self.store / result["flow"]
        return self._learned[key]

    def sign_in_flow(self) -> Path:
        return self.learned("sign-in", lambda: self.do(
            "/login", "Sign in to the admin", "-i", f"username={self.portal.user}",
            "--secret", "password=PORTAL_PASSWORD", name="sign-in"))

    def customer_flow(self) -> Path:
        sign_in = self.sign_in_flow()
        return self.learned("customer", lambda: self.add_customer(f"Ada {uuid.uuid4().hex[:6]}", "no", sign_in))

    def add_customer(self, name: str, vip: str, sign_in: Path) -> dict[str, Any]:
        return self.do("/admin/customer/new/", "Add a customer", "-i", f"name={name}",
                       "-i", f"email={name.split()[-1]}@example.com", "-i", f"vip={vip}",
                       "--sign-in", str(sign_in), name=f"customer-{name.split()[-1]}")

    def assert_no_secret_written(self) -> None:
        """No file under the user's folder (flows, store index and statistics, rows, journal, outcomes, reports)
        holds the password, as typed or in any encoding (URL, HTML, JSON escapes; any letter case)."""
        redact = Redactor([self.portal.password])
        files = [p for p in self.folder.rglob("*") if p.is_file()]
        assert files
        leaked = [str(p.relative_to(self.folder)) for p in files if redact.bytes(data := p.read_bytes()) != data]
        assert not leaked, f"the password is written in {leaked}"


@pytest.fixture(scope="module")
def journey(admin_portal: AdminPortalServer, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    return Journey(admin_portal, tmp_path_factory.mktemp("data-entry"))


def test_do_learns_the_sign_in(journey: Journey) -> None:
    before, learning = journey.portal.signins, "sign-in" not in journey._learned
    flow = journey.sign_in_flow()
    if learning:
        assert journey.portal.signins == before + 1
    text = flow.read_text(encoding="utf-8")
    assert "{{ password }}" in text and "env: PORTAL_PASSWORD" in text
    journey.assert_no_secret_written()


def test_do_adds_customers_in_fresh_processes_signing_in_by_itself(journey: Journey) -> None:
    """A second `do`, in a new process and browser, lands on the login page and signs in by itself; the VIP
    checkbox is set as the input says, both ways (the learned flow, then a hit with the other value)."""
    portal = journey.portal
    flow = journey.customer_flow()  # learned with vip=no
    tag = uuid.uuid4().hex[:6]
    before = portal.signins
    hit = journey.add_customer(f"Bea {tag}", "yes", journey.sign_in_flow())
    assert hit["status"] in ("hit", "healed"), hit
    assert hit["flow"] == flow.name and hit["model_calls"] == 0
    assert portal.signins == before + 1  # a new browser: one sign-in, by the sign-in flow
    stored = {c["name"]: c for c in portal.customers()}
    assert stored[f"Bea {tag}"]["vip"] is True and stored[f"Bea {tag}"]["email"] == f"{tag}@example.com"
    learned_with = [c for name, c in stored.items() if name.startswith("Ada ")]
    assert [c["vip"] for c in learned_with] == [False]  # vip=no stayed unticked
    journey.assert_no_secret_written()


def test_do_a_value_that_cannot_be_entered_is_never_saved_otherwise(journey: Journey) -> None:
    """Flask-Admin shows the plan as a select2 widget over a hidden select. Whether or not the agent can work the
    widget, the customer is saved with the plan given, or not saved at all with a clear failure: never saved
    with the form's default plan (and never by a submit button pressed to look for the field on a later page)."""
    portal = journey.portal
    name = f"Cy {uuid.uuid4().hex[:6]}"
    proc, result = journey.webmem(
        "do", portal.url + "/admin/customer/new/", "--task", "Add a customer", "-i", f"name={name}",
        "-i", f"email={name.split()[-1]}@example.com", "-i", "plan=Pro", "-i", "vip=no",
        "--sign-in", str(journey.sign_in_flow()), "--agent", "heuristic", "--store", str(journey.folder / "flows-cy"),
        "--max-steps", "10", report="customer-cy.json")
    assert proc.returncode in (0, 1), f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    stored = [(c["plan"], c["vip"]) for c in portal.customers() if c["name"] == name]
    if proc.returncode == 0:
        assert stored == [("pro", False)], (stored, proc.stdout)
    else:
        assert stored == [], f"not done, yet saved as {stored}:\n{proc.stdout}"
        assert result.get("error"), result


def test_batch_of_mixed_vip_rows_lands_exactly_signing_in_once_per_worker(journey: Journey) -> None:
    """8 customers, VIP yes/no mixed, 2 workers, the session expired by the portal after the third row: every row
    lands once with the VIP state it was given; each worker signs in once, and once more after the expiry."""
    portal = journey.portal
    flow = journey.customer_flow()
    tag = uuid.uuid4().hex[:6]
    vips = ["no", "yes", "no", "no", "yes", "no", "yes", "no"]
    rows = [{"id": f"c{i}", "name": f"Row{i} {tag}{i}", "email": f"{tag}{i}@example.com", "vip": v}
            for i, v in enumerate(vips)]
    folder = journey.folder / f"batch-{tag}"
    folder.mkdir()
    rows_file = folder / "rows.csv"
    with rows_file.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = portal.signins
    portal.expire_sessions_on("/admin/customer/new/", customers=len(portal.customers()) + 3)  # after row 3
    try:
        proc, _ = journey.webmem("batch", str(flow), str(rows_file), "--workers", "2",
                                 "--sign-in", str(journey.sign_in_flow()), "--out", str(folder / "outcomes.csv"))
    finally:
        expiry_came = portal.expiry_came
        portal.expire_no_more()
    assert proc.returncode == 0, f"webmem batch exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    stored = [c for c in portal.customers() if c["name"].endswith(tuple(f" {tag}{i}" for i in range(len(rows))))]
    assert Counter(c["name"] for c in stored) == Counter(r["name"] for r in rows)  # each row once
    assert {c["name"]: c["vip"] for c in stored} == {r["name"]: r["vip"] == "yes" for r in rows}
    assert {c["name"]: c["email"] for c in stored} == {r["name"]: r["email"] for r in rows}
    assert expiry_came, "the portal's session expiry never came: the test proves nothing"
    # once per worker, and once more per worker after the expiry: never per row
    assert 2 <= portal.signins - before <= 4, portal.signins - before
    journey.assert_no_secret_written()


def test_do_invoice_learned_with_two_lines_is_a_hit_with_one_and_five(journey: Journey) -> None:
    """Flask-Admin's inline line items (its own "Add Lines" button, no row shown at first)."""
    portal = journey.portal
    sign_in = journey.sign_in_flow()
    tag = uuid.uuid4().hex[:6]
    results = {}
    for count in (2, 1, 5):
        lines = [{"description": f"Item {i} {tag}", "quantity": str(i + 1), "unit_price": f"{10 + i}.50"}
                 for i in range(count)]
        inputs = journey.folder / f"invoice-{tag}-{count}.json"
        inputs.write_text(json.dumps({"customer": f"Cust{count} {tag}", "lines": lines}), encoding="utf-8")
        results[count] = journey.do("/admin/invoice/new/", "Add an invoice", "--inputs-file", str(inputs),
                                    "--sign-in", str(sign_in), name=f"invoice-{tag}-{count}-done")
        stored = [i for i in portal.invoices() if i["customer"] == f"Cust{count} {tag}"]
        assert len(stored) == 1, stored
        assert [(ln["description"], ln["quantity"], float(ln["unit_price"])) for ln in stored[0]["lines"]] == \
            [(ln["description"], int(ln["quantity"]), float(ln["unit_price"])) for ln in lines]
    assert results[2]["status"] == "learned"
    assert results[1]["status"] in ("hit", "healed") and results[5]["status"] in ("hit", "healed")
    assert results[1]["flow"] == results[2]["flow"] == results[5]["flow"]
    journey.assert_no_secret_written()
