"""A third-party admin portal nobody here wrote: Flask-Admin (PyPI) over Flask-SQLAlchemy on SQLite.

Only the models, the admin's configuration and a login wall are ours; every admin page (lists, the create forms
with their widgets, the inline line items of an invoice with Flask-Admin's own "Add Lines" button) is Flask-Admin's
markup and JavaScript, served from the package's own static files (no CDN: the pages work offline).

- Customer: name, email, vip (a boolean: a checkbox), plan (a choice: a select), since (a date).
- Invoice: customer, date, and inline Line rows (description, quantity, unit price): `inline_models`.
- The login wall: every /admin page sends a stranger to /login?next=<the page>; the login form has a CSRF token
  (Flask-WTF), the admin's forms too (Flask-Admin's SecureForm). Sessions last `session_lifetime` seconds, and
  `expire_sessions()` ends them all at once.

Tests judge by the database (`customers()`, `invoices()`, `signins`), read with plain sqlite3.

Run by hand: `python -m tests.portals.flask_admin_app [--port 8020]` (user `admin`, password below).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import sqlite3
import tempfile
import time
from decimal import Decimal
from typing import Any

from flask import Flask, redirect, render_template_string, request, session, url_for
from flask_admin import Admin, AdminIndexView
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.theme import Bootstrap4Theme
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from ._server import ThreadedServer

USER = "admin"
# Why these characters: they take other forms in URLs, HTML and JSON (see crm.PASSWORD).
PASSWORD = "adm1n pass&<word>'"
PLANS = [("free", "Free"), ("pro", "Pro"), ("enterprise", "Enterprise")]


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(120))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    plan: Mapped[str] = mapped_column(String(20), default="free")
    since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    def __str__(self) -> str:
        return self.name


class Invoice(Base):
    __tablename__ = "invoice"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer: Mapped[str] = mapped_column(String(100))
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    lines: Mapped[list[Line]] = relationship(back_populates="invoice", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"Invoice {self.id}"


class Line(Base):
    __tablename__ = "line"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class SignIn(Base):
    __tablename__ = "signin"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column()


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in | Shop admin</title>
<link href="{{ url_for('admin.static', filename='bootstrap/bootstrap4/css/bootstrap.min.css') }}" rel="stylesheet">
</head><body><div class="container" style="max-width: 28em; margin-top: 4em">
<h1 class="h3 mb-3">Log in to Shop admin</h1>
{% if expired %}<div class="alert alert-info" role="status">Your session has expired.</div>{% endif %}
{% if error %}<div class="alert alert-danger" role="alert">{{ error }}</div>{% endif %}
<form method="post">
 {{ form.csrf_token }}
 <div class="form-group">{{ form.username.label }}
  {{ form.username(class_="form-control", autocomplete="username") }}</div>
 <div class="form-group">{{ form.password.label }}
  {{ form.password(class_="form-control", autocomplete="current-password") }}</div>
 <button type="submit" class="btn btn-primary">Log in</button>
</form></div></body></html>"""


def _signed_in(app: Flask) -> bool:
    # Why a second clock besides the cookie's own max age: expire_sessions() must end sessions already handed out.
    at = session.get("signed_in_at")
    return (session.get("user") == USER and isinstance(at, float)
            and at > app.config["SESSIONS_VALID_AFTER"]
            and at + app.config["SESSION_LIFETIME"] > time.time())


def _to_login() -> Response:
    expired = session.pop("user", None) is not None
    return redirect(url_for("login", next=request.full_path.rstrip("?"), **({"expired": 1} if expired else {})))


class SecureIndex(AdminIndexView):
    def is_accessible(self) -> bool:
        from flask import current_app

        return _signed_in(current_app)

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Response:
        return _to_login()


class SecureModelView(ModelView):
    form_base_class = SecureForm  # Flask-Admin's own CSRF token on every create/edit/delete form
    can_view_details = True

    def is_accessible(self) -> bool:
        from flask import current_app

        return _signed_in(current_app)

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Response:
        return _to_login()


class CustomerView(SecureModelView):
    column_list = ["name", "email", "plan", "vip", "since"]
    form_columns = ["name", "email", "plan", "since", "vip"]
    form_choices = {"plan": PLANS}
    column_labels = {"vip": "VIP", "since": "Customer since"}
    column_searchable_list = ["name", "email"]


class InvoiceView(SecureModelView):
    column_list = ["id", "customer", "date"]
    form_columns = ["customer", "date"]
    inline_models = [(Line, {"form_columns": ["id", "description", "quantity", "unit_price"]})]


def _count(table: str, db: SQLAlchemy) -> int:
    # Why a connection of its own, not the request's session: a read left open in the request's transaction
    # makes SQLite refuse that transaction's write at once ("database is locked") while another request writes.
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def create_app(db_path: str, session_lifetime: float = 3600.0) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(16), SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",
                      SESSION_LIFETIME=session_lifetime,
                      SESSIONS_VALID_AFTER=0.0,
                      # two batch workers write at once: wait for the other's write instead of failing the save
                      SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 15}})
    db = SQLAlchemy(app, model_class=Base)
    with app.app_context():
        db.create_all()
    app.extensions["portal_db"] = db

    @app.before_request
    def _expire_when_armed() -> None:
        # Why at a page load and not on a timer: the test knows which rows the expiry falls between.
        armed = app.config.get("EXPIRE_ON")
        if armed and request.method == "GET" and request.path == armed[0]:
            if app.config.get("EXPIRED_AT") is None and _count(armed[1], db) >= armed[2]:
                app.config["EXPIRED_AT"] = time.time()
            at = session.get("signed_in_at")
            if app.config.get("EXPIRED_AT") is not None and isinstance(at, float) and at < app.config["EXPIRED_AT"]:
                session["signed_in_at"] = 0.0  # this session, and no other, ends now

    @app.get("/")
    def home() -> Response:
        return redirect("/admin/")

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        nxt = request.args.get("next", "")
        target = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/admin/"
        if request.method == "GET" and _signed_in(app):
            return redirect(target)
        form = LoginForm()
        error = None
        if form.validate_on_submit():
            if form.username.data == USER and form.password.data == PASSWORD:
                session.clear()
                # Why not a permanent session: Flask re-sends a permanent session's cookie with every response,
                # static files too, and a stylesheet of the page before, still loading when the browser moved
                # on, would put back the cookie without the new page's CSRF key (its save then fails)
                session.update(user=USER, signed_in_at=time.time())
                db.session.add(SignIn(at=time.time()))
                db.session.commit()
                return redirect(target)
            error = "Please enter a correct username and password."
        return render_template_string(LOGIN, form=form, error=error, expired=request.args.get("expired") == "1")

    @app.get("/logout")
    def logout() -> Response:
        session.clear()
        return redirect(url_for("login"))

    admin = Admin(app, name="Shop admin", index_view=SecureIndex(), theme=Bootstrap4Theme(swatch="default"))
    admin.add_view(CustomerView(Customer, db))
    admin.add_view(InvoiceView(Invoice, db))
    return app


class AdminPortalServer(ThreadedServer):
    """The Flask-Admin portal on a free 127.0.0.1 port, with its own temporary SQLite file (removed on stop)."""

    user = USER
    password = PASSWORD

    def __init__(self, session_lifetime: float = 3600.0) -> None:
        fd, self.db_path = tempfile.mkstemp(prefix="webmem-admin-", suffix=".sqlite3")
        os.close(fd)
        self.app = create_app(self.db_path, session_lifetime)
        super().__init__(self.app, "flask-admin-portal")

    def _query(self, sql: str) -> list[sqlite3.Row]:
        # Why plain sqlite3: the judge reads the database as it is, not through the app's own models.
        conn = sqlite3.connect(self.db_path, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def customers(self) -> list[dict[str, Any]]:
        return [{**dict(r), "vip": bool(r["vip"])} for r in self._query("SELECT * FROM customer ORDER BY id")]

    def invoices(self) -> list[dict[str, Any]]:
        invs = [dict(r) for r in self._query("SELECT * FROM invoice ORDER BY id")]
        lines = [dict(r) for r in self._query("SELECT * FROM line ORDER BY id")]
        for inv in invs:
            inv["lines"] = [{k: ln[k] for k in ("description", "quantity", "unit_price")}
                            for ln in lines if ln["invoice_id"] == inv["id"]]
        return invs

    @property
    def signins(self) -> int:
        return int(self._query("SELECT count(*) FROM signin")[0][0])

    def expire_sessions(self) -> None:
        """Every session handed out so far ends now."""
        self.app.config["SESSIONS_VALID_AFTER"] = time.time()

    def expire_sessions_on(self, path: str, *, customers: int = 0, invoices: int = 0) -> None:
        """Once the database holds that many customers (or invoices), every session signed in before then ends
        at its own next GET of `path`: say, each batch worker's session at its next row's form after three rows
        landed. Sessions that run out in the middle of a batch, between two rows of each worker (a worker
        between its form and its save is not cut short)."""
        self.app.config["EXPIRE_ON"] = (path, "invoice", invoices) if invoices else (path, "customer", customers)

    def expire_no_more(self) -> None:
        """Undo expire_sessions_on() (the server is shared by a test session's tests)."""
        self.app.config.update(EXPIRE_ON=None, EXPIRED_AT=None)

    @property
    def expiry_came(self) -> bool:
        """The expiry set by expire_sessions_on() has come."""
        return self.app.config.get("EXPIRED_AT") is not None

    def reset(self) -> None:
        """No customers, invoices or counted sign-ins; sessions handed out so far end."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        with conn:
            for table in ("line", "invoice", "customer", "signin"):
                conn.execute(f"DELETE FROM {table}")
        conn.close()
        self.expire_no_more()
        self.expire_sessions()

    def stop(self) -> None:
        super().stop()
        with self.app.app_context():
            self.app.extensions["portal_db"].engine.dispose()
        with contextlib.suppress(OSError):
            os.unlink(self.db_path)

    def __enter__(self) -> AdminPortalServer:
        return self


def main() -> None:
    ap = argparse.ArgumentParser(description="Run the Flask-Admin test portal on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=8020)
    ap.add_argument("--lifetime", type=float, default=3600.0, help="session lifetime in seconds")
    args = ap.parse_args()
    fd, path = tempfile.mkstemp(prefix="webmem-admin-", suffix=".sqlite3")
    os.close(fd)
    print(f"Flask-Admin on http://127.0.0.1:{args.port}/admin/  user {USER!r} password {PASSWORD!r}  db {path}")
    create_app(path, args.lifetime).run("127.0.0.1", args.port)


if __name__ == "__main__":
    main()
