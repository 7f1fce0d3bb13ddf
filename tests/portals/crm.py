"""A realistic data-entry portal of our own ("Acme CRM"), for end-to-end tests and the batch bench.

What a clerk meets on a real back office, in one small Flask app on SQLite:
- a sign-in page that every other page redirects to (`/login?next=/customers/new`), with CSRF tokens on every
  POST form (a post without the token, or with another session's, is refused with 400);
- sessions kept on the server that expire (`session_lifetime` seconds, or all at once: `expire_sessions()`),
  so a session can run out in the middle of a batch;
- a customer record: name, e-mail (type=email), plan (a select), customer since (a date), VIP (a checkbox),
  Active (a switch, on by default);
- an invoice, master-detail: the customer and date, then inline line items in a table whose inputs have no
  labels, only column headers, named like Django formsets (`lines-0-description`, `lines-TOTAL_FORMS`), one
  blank row shown and an "Add another line" link that adds a row in JS. Saving shows /invoices/<id>, an id
  the server assigns.
- a JSON API under /api/ for tests to read what was stored and count sign-ins (no sign-in needed).

Run by hand: `python -m tests.portals.crm [--port 8010] [--lifetime 3600]` (user `clerk`, password below).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import re
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, g, jsonify, redirect, render_template_string, request, session
from werkzeug.wrappers import Response

from ._server import ThreadedServer

USER = "clerk"
# Why these characters: a space, '&', '<' and a quote take other forms in URLs, HTML and JSON, so a test that
# looks for the password in written files must look for every encoding (webmem.flow.inputs.secret_pattern).
PASSWORD = "s3cret pass&<word>'"
PLANS = [("free", "Free"), ("pro", "Pro"), ("enterprise", "Enterprise")]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LINE_FIELDS = ("description", "quantity", "unit_price")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS signins (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL,
    plan TEXT NOT NULL, since TEXT, vip INTEGER NOT NULL, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, date TEXT);
CREATE TABLE IF NOT EXISTS lines (id INTEGER PRIMARY KEY AUTOINCREMENT, invoice_id INTEGER NOT NULL,
    position INTEGER NOT NULL, description TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price TEXT NOT NULL);
"""

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} | Acme CRM</title>
<style>
 body { font-family: sans-serif; margin: 0; } header { background: #234; color: #fff; padding: .6em 1em; }
 header a { color: #fff; margin-right: 1em; } main { padding: 1em 2em; max-width: 60em; }
 label { display: block; margin: .6em 0 .2em; } .check label { display: inline; }
 .errors { color: #a00; } table { border-collapse: collapse; } td, th { padding: .2em .5em; text-align: left; }
 .switch input { appearance: none; width: 2.4em; height: 1.3em; border-radius: 1em; background: #bbb;
   vertical-align: middle; position: relative; cursor: pointer; }
 .switch input:checked { background: #2a6; }
 .switch input::after { content: ""; position: absolute; top: .15em; left: .15em; width: 1em; height: 1em;
   border-radius: 50%; background: #fff; transition: left .1s; }
 .switch input:checked::after { left: 1.25em; }
</style></head>
<body><header><strong>Acme CRM</strong>
{% if user %}<nav aria-label="Main"><a href="/">Dashboard</a><a href="/customers">Customers</a>
 <a href="/invoices">Invoices</a></nav>
 <form method="post" action="/logout" style="display:inline"><input type="hidden" name="csrf_token"
  value="{{ csrf }}"><button>Sign out {{ user }}</button></form>{% endif %}
</header><main>{{ body|safe }}</main></body></html>"""

LOGIN = """<h1>Sign in</h1>
{% if expired %}<p role="status">Your session has expired. Please sign in again.</p>{% endif %}
{% if error %}<p class="errors" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login{% if next %}?next={{ next|urlencode }}{% endif %}">
 <input type="hidden" name="csrf_token" value="{{ csrf }}">
 <label for="username">Username</label><input id="username" name="username" autocomplete="username"
  value="{{ username }}" required>
 <label for="password">Password</label><input id="password" name="password" type="password"
  autocomplete="current-password" required>
 <p><button type="submit">Sign in</button></p>
</form>"""

DASHBOARD = """<h1>Dashboard</h1>
<ul><li><a href="/customers/new">Add a customer</a></li><li><a href="/invoices/new">New invoice</a></li>
<li><a href="/customers">Customers</a> ({{ customers }})</li><li><a href="/invoices">Invoices</a> ({{ invoices }})</li>
</ul>"""

CUSTOMERS = """<h1>Customers</h1><p><a href="/customers/new">Add a customer</a></p>
<table><thead><tr><th>Name</th><th>E-mail</th><th>Plan</th><th>VIP</th></tr></thead><tbody>
{% for c in rows %}<tr><td><a href="/customers/{{ c.id }}">{{ c.name }}</a></td><td>{{ c.email }}</td>
<td>{{ c.plan }}</td><td>{{ "yes" if c.vip else "no" }}</td></tr>{% endfor %}</tbody></table>"""

CUSTOMER_FORM = """<h1>Add a customer</h1>
{% if errors %}<ul class="errors" role="alert">{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
<form method="post" action="/customers/new">
 <input type="hidden" name="csrf_token" value="{{ csrf }}">
 <label for="name">Name</label><input id="name" name="name" value="{{ f.name }}" required>
 <label for="email">E-mail</label><input id="email" name="email" type="email" value="{{ f.email }}" required>
 <label for="plan">Plan</label><select id="plan" name="plan">
 {% for v, t in plans %}<option value="{{ v }}"{% if f.plan == v %} selected{% endif %}>{{ t }}</option>{% endfor %}
 </select>
 <label for="since">Customer since</label><input id="since" name="since" type="date" value="{{ f.since }}">
 <p class="check"><input id="vip" name="vip" type="checkbox" value="on"{% if f.vip %} checked{% endif %}>
  <label for="vip">VIP</label></p>
 <p class="check switch"><input id="active" name="active" type="checkbox" role="switch" value="on"
  {% if f.active %} checked{% endif %}> <label for="active">Active</label></p>
 <p><button type="submit">Save customer</button></p>
</form>"""

CUSTOMER_VIEW = """<h1>{{ c.name }}</h1><p role="status">Customer saved.</p>
<dl><dt>E-mail</dt><dd>{{ c.email }}</dd><dt>Plan</dt><dd>{{ c.plan }}</dd><dt>Customer since</dt>
<dd>{{ c.since or "-" }}</dd><dt>VIP</dt><dd>{{ "yes" if c.vip else "no" }}</dd>
<dt>Active</dt><dd>{{ "yes" if c.active else "no" }}</dd></dl>
<p><a href="/customers/new">Add another customer</a> · <a href="/customers">All customers</a></p>"""

# The blank row's template: Django's `empty_form`, whose `__prefix__` the JS replaces with the next index.
LINE_ROW = """<tr class="line-row">
 <td><input name="lines-{i}-description" value="{description}"></td>
 <td><input name="lines-{i}-quantity" type="number" min="1" step="1" value="{quantity}"></td>
 <td><input name="lines-{i}-unit_price" type="number" min="0" step="0.01" value="{unit_price}"></td></tr>"""

INVOICE_FORM = """<h1>New invoice</h1>
{% if errors %}<ul class="errors" role="alert">{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
<form method="post" action="/invoices/new">
 <input type="hidden" name="csrf_token" value="{{ csrf }}">
 <label for="customer">Customer</label><input id="customer" name="customer" value="{{ f.customer }}" required>
 <label for="date">Invoice date</label><input id="date" name="date" type="date" value="{{ f.date }}">
 <fieldset><legend>Line items</legend>
 <input type="hidden" name="lines-TOTAL_FORMS" id="id_lines-TOTAL_FORMS" value="{{ rows|length }}">
 <input type="hidden" name="lines-INITIAL_FORMS" value="0">
 <table id="lines"><thead><tr><th>Description</th><th>Quantity</th><th>Unit price</th></tr></thead>
 <tbody>{% for r in rows %}{{ r|safe }}{% endfor %}
 <tr class="add-row"><td colspan="3"><a href="#" id="add-line">Add another line</a></td></tr></tbody></table>
 <template id="empty-line">{{ empty|safe }}</template>
 </fieldset>
 <p><button type="submit">Save invoice</button></p>
</form>
<script>
document.getElementById("add-line").addEventListener("click", function (event) {
  event.preventDefault();
  var total = document.getElementById("id_lines-TOTAL_FORMS");
  var html = document.getElementById("empty-line").innerHTML.replace(/__prefix__/g, total.value);
  var addRow = this.closest("tr");
  addRow.insertAdjacentHTML("beforebegin", html);
  total.value = String(Number(total.value) + 1);
});
</script>"""

INVOICE_VIEW = """<h1>Invoice {{ inv.id }}</h1><p role="status">Invoice saved.</p>
<p>Customer: {{ inv.customer }}{% if inv.date %}, dated {{ inv.date }}{% endif %}</p>
<table><thead><tr><th>Description</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr></thead><tbody>
{% for l in inv.lines %}<tr><td>{{ l.description }}</td><td>{{ l.quantity }}</td><td>{{ l.unit_price }}</td>
<td>{{ l.amount }}</td></tr>{% endfor %}</tbody>
<tfoot><tr><th colspan="3">Total</th><td>{{ inv.total }}</td></tr></tfoot></table>
<p><a href="/invoices/new">New invoice</a> · <a href="/invoices">All invoices</a></p>"""

INVOICES = """<h1>Invoices</h1><p><a href="/invoices/new">New invoice</a></p>
<table><thead><tr><th>Invoice</th><th>Customer</th><th>Lines</th><th>Total</th></tr></thead><tbody>
{% for i in rows %}<tr><td><a href="/invoices/{{ i.id }}">{{ i.id }}</a></td><td>{{ i.customer }}</td>
<td>{{ i.lines|length }}</td><td>{{ i.total }}</td></tr>{% endfor %}</tbody></table>"""


class CrmStore:
    """The portal's SQLite file; one connection per call (the server is threaded)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self.db() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(SCHEMA)

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def customers(self) -> list[dict[str, Any]]:
        with self.db() as c:
            rows = c.execute("SELECT * FROM customers ORDER BY id").fetchall()
        return [{**dict(r), "vip": bool(r["vip"]), "active": bool(r["active"])} for r in rows]

    def invoices(self) -> list[dict[str, Any]]:
        with self.db() as c:
            invs = [dict(r) for r in c.execute("SELECT * FROM invoices ORDER BY id")]
            lines = [dict(r) for r in c.execute("SELECT * FROM lines ORDER BY invoice_id, position")]
        for inv in invs:
            inv["lines"] = [{k: ln[k] for k in LINE_FIELDS} for ln in lines if ln["invoice_id"] == inv["id"]]
            for ln in inv["lines"]:
                ln["amount"] = str(Decimal(ln["unit_price"]) * ln["quantity"])
            inv["total"] = str(sum((Decimal(ln["amount"]) for ln in inv["lines"]), Decimal("0")))
        return invs

    def signins(self) -> int:
        with self.db() as c:
            return int(c.execute("SELECT count(*) FROM signins").fetchone()[0])

    def expire_sessions(self) -> None:
        with self.db() as c:
            c.execute("DELETE FROM sessions")

    def reset(self) -> None:
        with self.db() as c:
            for table in ("sessions", "signins", "customers", "invoices", "lines"):
                c.execute(f"DELETE FROM {table}")


def _safe_next(target: str | None) -> str:
    # Why: only same-site relative paths, so `next` cannot become an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _line_rows(values: list[dict[str, str]]) -> list[str]:
    return [LINE_ROW.format(i=i, **{k: html.escape(v.get(k, ""), quote=True) for k in LINE_FIELDS})
            for i, v in enumerate(values)]


def create_app(db_path: str, session_lifetime: float = 3600.0) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    store = CrmStore(db_path)
    app.extensions["crm_store"] = store
    app.config["CRM_SESSION_LIFETIME"] = session_lifetime

    def csrf_token() -> str:
        # Why in the signed cookie and not the server session: the sign-in form needs one before any sign-in.
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return str(session["csrf"])

    def current_user() -> str | None:
        sid = session.get("sid")
        if not sid:
            return None
        with store.db() as c:
            row = c.execute("SELECT user, expires FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None or row["expires"] < time.time():
            return None
        return str(row["user"])

    def page(title: str, body: str, **ctx: Any) -> str:
        inner = render_template_string(body, csrf=csrf_token(), **ctx)
        return render_template_string(LAYOUT, title=title, body=inner, user=g.get("user"), csrf=csrf_token())

    @app.before_request
    def _guard() -> Response | None:
        # Why one guard, not a decorator per view: no page can be left unguarded by mistake.
        if request.path.startswith("/api/") or request.path == "/favicon.ico":
            return None
        expected = session.get("csrf")
        if request.method == "POST" and (not expected or request.form.get("csrf_token") != expected):
            abort(400, "CSRF token missing or invalid")
        g.user = current_user()
        if g.user is None and request.path != "/login":
            had = bool(session.pop("sid", None))
            nxt = request.full_path.rstrip("?")
            query = {"next": nxt, **({"expired": "1"} if had else {})}
            return redirect("/login?" + urlencode(query))
        return None

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        nxt = request.args.get("next", "")
        if g.user is not None and request.method == "GET":
            return redirect(_safe_next(nxt))  # already signed in, as real portals do
        error, username = None, ""
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            if username == USER and request.form.get("password", "") == PASSWORD:
                sid = secrets.token_urlsafe(24)
                now = time.time()
                with store.db() as c:
                    c.execute("INSERT INTO sessions VALUES (?, ?, ?)",
                              (sid, USER, now + app.config["CRM_SESSION_LIFETIME"]))
                    c.execute("INSERT INTO signins (user, at) VALUES (?, ?)", (USER, now))
                session["sid"] = sid
                return redirect(_safe_next(nxt))
            error = "Please enter a correct username and password."
        return page("Sign in", LOGIN, error=error, username=username, next=nxt,
                    expired=request.args.get("expired") == "1")

    @app.post("/logout")
    def logout() -> Response:
        sid = session.pop("sid", None)
        with store.db() as c:
            c.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        return redirect("/login")

    @app.get("/")
    def dashboard() -> str:
        return page("Dashboard", DASHBOARD, customers=len(store.customers()), invoices=len(store.invoices()))

    @app.get("/customers")
    def customers() -> str:
        return page("Customers", CUSTOMERS, rows=store.customers())

    @app.route("/customers/new", methods=["GET", "POST"])
    def customer_new() -> str | Response:
        f = {"name": "", "email": "", "plan": "free", "since": "", "vip": False, "active": True}
        errors: list[str] = []
        if request.method == "POST":
            form = request.form
            f = {"name": form.get("name", "").strip(), "email": form.get("email", "").strip(),
                 "plan": form.get("plan", ""), "since": form.get("since", ""),
                 "vip": form.get("vip") == "on", "active": form.get("active") == "on"}
            if not f["name"]:
                errors.append("Name: this field is required.")
            if not _EMAIL.match(str(f["email"])):
                errors.append("E-mail: enter a valid e-mail address.")
            if f["plan"] not in dict(PLANS):
                errors.append("Plan: select a valid choice.")
            if f["since"] and not _DATE.match(str(f["since"])):
                errors.append("Customer since: enter a valid date.")
            if not errors:
                with store.db() as c:
                    cur = c.execute("INSERT INTO customers (name, email, plan, since, vip, active) "
                                    "VALUES (?, ?, ?, ?, ?, ?)", (f["name"], f["email"], f["plan"],
                                                                  f["since"] or None, int(bool(f["vip"])),
                                                                  int(bool(f["active"]))))
                return redirect(f"/customers/{cur.lastrowid}")
        return page("Add a customer", CUSTOMER_FORM, f=f, plans=PLANS, errors=errors)

    @app.get("/customers/<int:cid>")
    def customer_view(cid: int) -> str:
        found = [c for c in store.customers() if c["id"] == cid]
        if not found:
            abort(404)
        return page(found[0]["name"], CUSTOMER_VIEW, c=found[0])

    @app.get("/invoices")
    def invoices() -> str:
        return page("Invoices", INVOICES, rows=store.invoices())

    @app.route("/invoices/new", methods=["GET", "POST"])
    def invoice_new() -> str | Response:
        f = {"customer": "", "date": ""}
        values: list[dict[str, str]] = [{}]
        errors: list[str] = []
        if request.method == "POST":
            form = request.form
            f = {"customer": form.get("customer", "").strip(), "date": form.get("date", "")}
            try:
                total = int(form.get("lines-TOTAL_FORMS", ""))
            except ValueError:
                abort(400, "ManagementForm data is missing or has been tampered with")
            values = [{k: form.get(f"lines-{i}-{k}", "").strip() for k in LINE_FIELDS} for i in range(total)]
            lines: list[tuple[str, int, Decimal]] = []
            for n, v in enumerate(values, 1):
                if not any(v.values()):
                    continue  # an untouched extra row, as Django formsets skip them
                try:
                    qty, price = int(v["quantity"]), Decimal(v["unit_price"])
                except (ValueError, InvalidOperation):
                    errors.append(f"Line {n}: enter a whole quantity and a unit price.")
                    continue
                if not v["description"] or qty < 1 or price < 0:
                    errors.append(f"Line {n}: description, a quantity of at least 1 and a price are required.")
                    continue
                lines.append((v["description"], qty, price.quantize(Decimal("0.01"))))
            if not f["customer"]:
                errors.append("Customer: this field is required.")
            if f["date"] and not _DATE.match(f["date"]):
                errors.append("Invoice date: enter a valid date.")
            if not lines and not errors:
                errors.append("Add at least one line item.")
            if not errors:
                with store.db() as c:
                    cur = c.execute("INSERT INTO invoices (customer, date) VALUES (?, ?)",
                                    (f["customer"], f["date"] or None))
                    c.executemany("INSERT INTO lines (invoice_id, position, description, quantity, unit_price) "
                                  "VALUES (?, ?, ?, ?, ?)",
                                  [(cur.lastrowid, i, d, q, str(p)) for i, (d, q, p) in enumerate(lines)])
                return redirect(f"/invoices/{cur.lastrowid}")
        empty = LINE_ROW.format(i="__prefix__", description="", quantity="", unit_price="")
        return page("New invoice", INVOICE_FORM, f=f, rows=_line_rows(values), empty=empty, errors=errors)

    @app.get("/invoices/<int:iid>")
    def invoice_view(iid: int) -> str:
        found = [i for i in store.invoices() if i["id"] == iid]
        if not found:
            abort(404)
        return page(f"Invoice {iid}", INVOICE_VIEW, inv=found[0])

    # ---- the test API (what was stored; no sign-in) ----------------------------------------------
    @app.get("/api/customers")
    def api_customers() -> Response:
        return jsonify(store.customers())

    @app.get("/api/invoices")
    def api_invoices() -> Response:
        return jsonify(store.invoices())

    @app.get("/api/stats")
    def api_stats() -> Response:
        return jsonify({"signins": store.signins(), "customers": len(store.customers()),
                        "invoices": len(store.invoices())})

    @app.post("/api/expire-sessions")
    def api_expire() -> Response:
        store.expire_sessions()
        return jsonify({"ok": True})

    @app.post("/api/reset")
    def api_reset() -> Response:
        store.reset()
        return jsonify({"ok": True})

    return app


class CrmServer(ThreadedServer):
    """The CRM portal on a free 127.0.0.1 port, with its own temporary SQLite file (removed on stop)."""

    def __init__(self, session_lifetime: float = 3600.0) -> None:
        fd, self.db_path = tempfile.mkstemp(prefix="webmem-crm-", suffix=".sqlite3")
        os.close(fd)
        self.app = create_app(self.db_path, session_lifetime)
        self.store: CrmStore = self.app.extensions["crm_store"]
        super().__init__(self.app, "crm-portal")

    user = USER
    password = PASSWORD

    def customers(self) -> list[dict[str, Any]]:
        return self.store.customers()

    def invoices(self) -> list[dict[str, Any]]:
        return self.store.invoices()

    @property
    def signins(self) -> int:
        return self.store.signins()

    def expire_sessions(self) -> None:
        """Every session ends now: the next page a signed-in browser asks for sends it to the sign-in page."""
        self.store.expire_sessions()

    def set_session_lifetime(self, seconds: float) -> None:
        """For sessions started from now on."""
        self.app.config["CRM_SESSION_LIFETIME"] = seconds

    def reset(self) -> None:
        """No customers, invoices, sessions or counted sign-ins."""
        self.store.reset()

    def stop(self) -> None:
        super().stop()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(self.db_path + suffix)

    def __enter__(self) -> CrmServer:
        return self


def main() -> None:
    ap = argparse.ArgumentParser(description="Run the CRM test portal on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=8010)
    ap.add_argument("--lifetime", type=float, default=3600.0, help="session lifetime in seconds")
    args = ap.parse_args()
    fd, path = tempfile.mkstemp(prefix="webmem-crm-", suffix=".sqlite3")
    os.close(fd)
    print(f"Acme CRM on http://127.0.0.1:{args.port}/  user {USER!r} password {PASSWORD!r}  db {path}")
    create_app(path, args.lifetime).run("127.0.0.1", args.port)


if __name__ == "__main__":
    main()
