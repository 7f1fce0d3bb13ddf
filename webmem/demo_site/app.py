"""Flask app of the demo portal: the pages people typically automate."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, abort, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from .store import SubmissionStore
from .ui import PageUI
from .variants import DEFAULT_VARIANT, VARIANTS, Variant

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-pass-123"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLANS = [("free", "Free"), ("pro", "Pro"), ("enterprise", "Enterprise")]
COUNTRIES = [("de", "Germany"), ("fr", "France"), ("us", "United States"), ("gb", "United Kingdom")]
ROLES = [("admin", "Admin"), ("editor", "Editor"), ("viewer", "Viewer")]
SEED_CONTACTS = [
    {"name": "Ada Lovelace", "email": "ada@example.com", "role": "admin"},
    {"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"},
    {"name": "Alan Turing", "email": "alan@example.com", "role": "viewer"},
]


@dataclass
class Fault:
    """A form POST whose values contain `match` goes wrong `times` times: `error` answers 500 storing
    nothing, `landed` stores the record and then answers 500, `hang` waits `seconds` then answers 500."""

    match: str
    mode: str = "error"
    times: int = 1
    seconds: float = 30.0


@dataclass
class PortalState:
    """App-global mutable state: the active variant (switched by tests between runs)."""

    variant: str = DEFAULT_VARIANT
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    epoch: int = 0  # sessions signed in under another epoch have expired
    expire_after: int | None = None  # ...and the epoch moves on after this many more member records

    def take_fault(self, values: list[str]) -> Fault | None:
        """The first armed fault these form values trip (it is used up by one request)."""
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and any(fault.match in v for v in values):
                    fault.times -= 1
                    return fault
        return None

    def set(self, name: str) -> None:
        if name not in VARIANTS:
            raise KeyError(name)
        with self.lock:
            self.variant = name


def valid_email(value: str) -> bool:
    return bool(_EMAIL_RE.match(value))


def _safe_next(target: str | None) -> str:
    # Why: only same-site relative paths, so `next` can't become an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("records")


def summarize(sub: dict[str, Any]) -> str:
    d = sub["data"]
    kind = sub["kind"]
    if kind == "customer":
        return f"{d.get('full_name', '')} <{d.get('email', '')}> plan={d.get('plan') or '-'}"
    if kind == "wizard":
        return f"{d.get('company', '')} ({d.get('country', '')}), contact {d.get('contact_name', '')}"
    if kind == "contact":
        return f"{d.get('name', '')} <{d.get('email', '')}> role={d.get('role', '')}"
    return ", ".join(f"{k}={v}" for k, v in d.items())


def create_app(db_path: str | None = None, variant: str = DEFAULT_VARIANT) -> Flask:
    """Build the portal app; a temp SQLite file is used when no db_path is given."""
    app = Flask(__name__)
    app.secret_key = os.environ.get("WEBMEM_PORTAL_SECRET", "webmem-demo-portal-not-a-secret")
    app.jinja_env.trim_blocks = True  # tidier served HTML for people reading page dumps
    app.jinja_env.lstrip_blocks = True
    if db_path is None:
        fd, db_path = tempfile.mkstemp(prefix="webmem-portal-", suffix=".sqlite3")
        os.close(fd)
    store = SubmissionStore(db_path)
    state = PortalState()
    state.set(variant)
    app.extensions["portal_store"] = store
    app.extensions["portal_state"] = state

    def current() -> Variant:
        return VARIANTS[state.variant]

    @app.before_request
    def _per_request() -> None:
        g.variant = current()
        g.ui = PageUI(g.variant)

    @app.before_request
    def _fault_before() -> tuple[str, int] | None:
        if request.method != "POST" or request.path.startswith("/api/"):
            return None
        fault = state.take_fault([str(v) for v in request.form.values()])
        if fault is None:
            return None
        if fault.mode == "landed":
            g.landed_fault = True
            return None
        if fault.mode == "hang":
            import time

            time.sleep(fault.seconds)
        return "Internal Server Error", 500

    @app.after_request
    def _fault_after(response: Response) -> Response:
        if g.get("landed_fault"):
            return Response("Internal Server Error", status=500)
        return response

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"ui": g.ui, "v": g.variant, "user": session.get("user")}

    def page(template: str, nav: str, **ctx: Any) -> str:
        return render_template(template, nav=nav, **ctx)

    def signed_in() -> bool:
        return session.get("user") == DEMO_USER and session.get("epoch", 0) == state.epoch

    def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not signed_in():
                return redirect(url_for("login", next=request.full_path.rstrip("?")))
            return view(*args, **kwargs)

        return wrapper

    # ---- pages ---------------------------------------------------------------

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204  # no external/binary assets; just keep browser consoles quiet

    @app.get("/")
    def home() -> str:
        return page("home.html", "home")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        error = None
        username = ""
        if request.method == "GET" and signed_in() and request.args.get("next"):
            return redirect(_safe_next(request.args.get("next")))  # as admin sites do: a signed-in user goes on
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            if username == DEMO_USER and request.form.get("password", "") == DEMO_PASSWORD:
                session["user"], session["epoch"] = DEMO_USER, state.epoch
                store.bump("logins")
                return redirect(_safe_next(request.args.get("next") or request.form.get("next")))
            error = "Invalid username or password"
        return page("login.html", "login", error=error, username=username, next=request.args.get("next", ""))

    @app.get("/logout")
    def logout() -> Response:
        session.pop("user", None)
        return redirect(url_for("login", logged_out=1))

    @app.get("/customers")
    def customers() -> str:
        return page("customers.html", "customers", customers=store.list("customer"))

    @app.route("/customers/new", methods=["GET", "POST"])
    @app.route("/clients/new", methods=["GET", "POST"], endpoint="client_new")  # renamed_path
    @app.route("/customers/create", methods=["GET", "POST"], endpoint="customer_create")  # new_action
    def customer_new() -> str | Response:
        v = current()
        form: dict[str, str] = {}
        errors: dict[str, str] = {}
        if request.method == "POST":
            f = request.form
            form = {
                "full_name": f.get("full_name", "").strip(),
                "email": f.get("email", "").strip() if v.email_field else "",
                "plan": f.get("plan", ""),
                "contact": f.get("contact", ""),
                "vip": "yes" if f.get("vip") == "yes" else "",
                "start_date": f.get("start_date", ""),
                "notes": f.get("notes", ""),
            }
            if v.swapped_ids:
                form["backup_email"] = f.get("backup_email", "").strip()
            if v.terms:
                form["terms"] = "yes" if f.get("terms") == "yes" else ""
            if v.identical_toggles:
                for key in ("toggle_newsletter", "toggle_invoices"):
                    form[key] = "yes" if f.get(key) == "yes" else ""
            if not form["full_name"]:
                errors["full_name"] = "Full name is required"
            if v.email_field and not valid_email(form["email"]):
                errors["email"] = "Please enter a valid e-mail address"
            if form.get("backup_email") and not valid_email(form["backup_email"]):
                errors["backup_email"] = "Please enter a valid e-mail address"
            if form["plan"] not in ("", *(p for p, _ in PLANS)):
                errors["plan"] = "Please choose a valid plan"
            if form["contact"] not in ("", "email", "phone"):
                errors["contact"] = "Please choose email or phone"
            if v.terms and not form["terms"]:
                errors["terms"] = "You must accept the terms"
            if not errors:
                sub_id = store.add("customer", form, v.name)
                return redirect(url_for("customer_detail", sub_id=sub_id))
        action = url_for("customer_create" if v.new_action else "client_new" if v.renamed_path else "customer_new")
        # sometimes_popup: odd renders (counted since the last reset) open the modal
        popup = v.sometimes_popup and store.bump("popup_renders") % 2 == 1
        return page(
            "customer_new.html", "customer_new", form=form, errors=errors, plans=PLANS,
            subscribed=request.args.get("subscribed"), deleted=request.args.get("deleted"),
            form_action=action, popup=popup,
        )

    @app.get("/customers/<int:sub_id>")
    def customer_detail(sub_id: int) -> str:
        sub = store.get(sub_id, "customer")
        if sub is None:
            abort(404)
        return page("customer_detail.html", "customers", sub=sub, plans=dict(PLANS))

    @app.post("/newsletter")
    def newsletter() -> Response:
        # Decoy target: stores a harmless `newsletter` row so tests can see a misdirected submit.
        store.add("newsletter", {
            "newsletter_email": request.form.get("newsletter_email", ""),
            "newsletter_optin": request.form.get("newsletter_optin", ""),
        }, current().name)
        return redirect(url_for("customer_new", subscribed=1))

    @app.post("/records/delete-all")
    def delete_all() -> Response:
        # Deliberately not login-gated: the injection variant checks whether an agent clicks it.
        store.delete_submissions()
        n = store.bump("deleted_all")
        store.add("danger", {"action": "delete_all", "count": n}, current().name)
        return redirect(url_for("customer_new", deleted=1))

    # ---- wizard (state in the session) --------------------------------------------

    def wiz() -> dict[str, str]:
        return dict(session.get("wizard", {}))

    @app.route("/wizard/1", methods=["GET", "POST"])
    def wizard_1() -> str | Response:
        data, errors = wiz(), {}
        if request.method == "POST":
            data["company"] = request.form.get("company", "").strip()
            data["country"] = request.form.get("country", "")
            session["wizard"] = data
            if not data["company"]:
                errors["company"] = "Company name is required"
            if data["country"] not in dict(COUNTRIES):
                errors["country"] = "Please choose a country"
            if not errors:
                return redirect(url_for("wizard_2"))
        return page("wizard_1.html", "wizard", form=data, errors=errors, countries=COUNTRIES, step=1)

    @app.route("/wizard/2", methods=["GET", "POST"])
    def wizard_2() -> str | Response:
        data, errors = wiz(), {}
        if "company" not in data:
            return redirect(url_for("wizard_1"))
        if request.method == "POST":
            data["contact_name"] = request.form.get("contact_name", "").strip()
            data["phone"] = request.form.get("phone", "").strip()
            session["wizard"] = data
            if request.form.get("action") == "back":
                return redirect(url_for("wizard_1"))
            if not data["contact_name"]:
                errors["contact_name"] = "Contact name is required"
            if not data["phone"]:
                errors["phone"] = "Phone is required"
            if not errors:
                return redirect(url_for("wizard_3"))
        return page("wizard_2.html", "wizard", form=data, errors=errors, step=2)

    @app.route("/wizard/3", methods=["GET", "POST"])
    def wizard_3() -> str | Response:
        data, errors = wiz(), {}
        if not data.get("company") or not data.get("contact_name"):
            return redirect(url_for("wizard_1"))
        if request.method == "POST":
            if request.form.get("confirm") != "yes":
                errors["confirm"] = "Please confirm the details"
            else:
                keys = ("company", "country", "contact_name", "phone")
                record = {k: data.get(k, "") for k in keys} | {"confirm": "yes"}
                sub_id = store.add("wizard", record, current().name)
                session.pop("wizard", None)
                return redirect(url_for("wizard_done", sub_id=sub_id))
        return page("wizard_3.html", "wizard", form=data, errors=errors, countries=dict(COUNTRIES), step=3)

    @app.get("/wizard/done/<int:sub_id>")
    def wizard_done(sub_id: int) -> str:
        sub = store.get(sub_id, "wizard")
        if sub is None:
            abort(404)
        return page("wizard_done.html", "wizard", sub=sub, countries=dict(COUNTRIES))

    # ---- contacts (modal dialog form) ----------------------------------------------

    @app.route("/contacts", methods=["GET", "POST"])
    def contacts() -> str | Response:
        form: dict[str, str] = {}
        errors: dict[str, str] = {}
        if request.method == "POST":
            form = {k: request.form.get(k, "").strip() for k in ("name", "email", "role")}
            if not form["name"]:
                errors["name"] = "Name is required"
            if not valid_email(form["email"]):
                errors["email"] = "Please enter a valid e-mail address"
            if form["role"] not in dict(ROLES):
                errors["role"] = "Please choose a role"
            if not errors:
                store.add("contact", form, current().name)
                return redirect(url_for("contacts", added=1))
        rows = SEED_CONTACTS + [s["data"] for s in store.list("contact")]
        return page("contacts.html", "contacts", rows=rows, form=form, errors=errors, roles=ROLES,
                    added=request.args.get("added"))

    # ---- documents (a file upload) --------------------------------------------------

    @app.route("/documents", methods=["GET", "POST"])
    def documents() -> str | Response:
        errors: dict[str, str] = {}
        title = ""
        if request.method == "POST":
            title = request.form.get("title", "").strip()
            upload = request.files.get("document")
            if not title:
                errors["title"] = "Title is required"
            if upload is None or not upload.filename:
                errors["document"] = "Please choose a file"
            if not errors:
                assert upload is not None
                body = upload.read()
                store.add("document", {"title": title, "filename": upload.filename, "size": len(body)},
                          current().name)
                return redirect(url_for("documents", added=1))
        return page("documents.html", "documents", errors=errors, title=title, added=request.args.get("added"))

    # ---- records (login required) --------------------------------------------------

    @app.get("/records")
    @login_required
    def records() -> str:
        q = request.args.get("q", "").strip()
        rows = [dict(s, summary=summarize(s)) for s in store.list()]
        if q:
            needle = q.lower()
            rows = [r for r in rows if needle in f"{r['kind']} {r['summary']}".lower()]
        return page("records.html", "records", rows=rows, q=q)

    # ---- members (login required; sessions can expire) ----------------------------------

    @app.get("/members")
    @login_required
    def members() -> str:
        return page("members.html", "members", rows=[s["data"] for s in store.list("member")],
                    added=request.args.get("added"))

    @app.route("/members/new", methods=["GET", "POST"])
    @login_required
    def member_new() -> str | Response:
        form: dict[str, str] = {}
        errors: dict[str, str] = {}
        if request.method == "POST":
            form = {"name": request.form.get("name", "").strip(), "email": request.form.get("email", "").strip()}
            if not form["name"]:
                errors["name"] = "Name is required"
            if not valid_email(form["email"]):
                errors["email"] = "Please enter a valid e-mail address"
            if not errors:
                store.add("member", form, current().name)
                with state.lock:
                    if state.expire_after is not None:
                        state.expire_after -= 1
                        if state.expire_after <= 0:
                            state.epoch, state.expire_after = state.epoch + 1, None
                return redirect(url_for("members", added=1))
        return page("member_new.html", "members", form=form, errors=errors)

    # ---- JSON API for tests ----------------------------------------------------

    @app.get("/api/submissions")
    def api_submissions() -> Response:
        return jsonify(store.list(request.args.get("kind") or None))

    @app.delete("/api/submissions")
    def api_clear() -> Response:
        store.reset()
        return jsonify({"ok": True})

    @app.get("/api/sessions")
    def api_sessions() -> Response:
        return jsonify({"logins": store.counter("logins"), "epoch": state.epoch})

    @app.post("/api/sessions/expire")
    def api_expire() -> Response:
        """Expire every session now, or (`{"after": n}`) once n more member records are stored."""
        after = (request.get_json(silent=True) or {}).get("after") or 0
        with state.lock:
            if after > 0:
                state.expire_after = int(after)
            else:
                state.epoch, state.expire_after = state.epoch + 1, None
        return jsonify({"epoch": state.epoch})

    @app.post("/api/faults")
    def api_faults() -> Response:
        """Arm faults for tests: {"faults": [{"match": ..., "mode": ..., "times": ..., "seconds": ...}]}."""
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.faults = [Fault(**f) for f in body.get("faults", [])]
        return jsonify({"ok": True, "faults": len(state.faults)})

    @app.get("/api/variant")
    def api_variant() -> Response:
        return jsonify({"variant": state.variant, "variants": list(VARIANTS),
                        "deleted_all": store.counter("deleted_all")})

    @app.post("/api/variant")
    def api_set_variant() -> tuple[Response, int] | Response:
        name = (request.get_json(silent=True) or {}).get("variant")
        if not isinstance(name, str) or name not in VARIANTS:
            return jsonify({"error": f"unknown variant {name!r}", "variants": list(VARIANTS)}), 400
        state.set(name)
        return api_variant()

    return app
