"""Named DOM variants of the demo portal.

Each variant is a bundle of switches read by the (single) template set, so a
variant is a realistic *change* to the same pages rather than a copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

IdStyle = Literal["plain", "renamed", "generated"]

# Order the customer form fields are rendered in (keys are the field names).
BASE_ORDER: tuple[str, ...] = ("full_name", "email", "plan", "contact", "vip", "start_date", "notes")
REORDERED: tuple[str, ...] = ("email", "full_name", "contact", "plan", "notes", "start_date", "vip")

BASE_LABELS: dict[str, str] = {
    "full_name": "Full name",
    "email": "Email",
    "plan": "Plan",
    "contact": "Preferred contact",
    "vip": "VIP customer",
    "start_date": "Start date",
    "notes": "Notes",
}
REWORDED_LABELS: dict[str, str] = {
    **BASE_LABELS,
    "full_name": "Customer name",
    "email": "E-mail address",
    "plan": "Subscription",
    "start_date": "Starting on",
    "notes": "Comments",
}

# BEM-ish class -> utility-ish class, used by `classes_changed`.  The CSS styles both.
UTILITY_CLASSES: dict[str, str] = {
    "site-header": "hdr",
    "site-header__brand": "hdr-logo",
    "site-nav": "nav-bar",
    "site-nav__link": "nav-item",
    "site-user": "who",
    "site-main": "wrap-main",
    "site-footer": "ftr",
    "form": "frm",
    "form__field": "fld",
    "form__label": "lbl",
    "form__input": "inp",
    "form__error": "txt-danger",
    "form__radios": "opt-group",
    "form__check": "chk",
    "form__actions": "row-end",
    "form__group": "grp",
    "btn": "b",
    "btn--primary": "b-accent",
    "btn--secondary": "b-muted",
    "btn--danger": "b-red",
    "alert": "msg",
    "alert--info": "msg-blue",
    "alert--success": "msg-green",
    "alert--error": "msg-red",
    "alert--warning": "msg-amber",
    "data-table": "tbl",
    "card": "panel",
    "spinner": "loading-ind",
    "modal": "mdl",
    "banner": "bnr",
    "cookie-notice": "ck",
    "field-shell": "fs-o",
    "field-shell__inner": "fs-i",
    "steps": "prog",
    "details": "kv",
    "search": "srch",
    "newsletter": "nl-box",
    "notice": "sys-note",
    "link-list": "lnk-list",
}


@dataclass(frozen=True)
class Variant:
    """Switches consumed by the templates; defaults are the baseline portal."""

    name: str
    description: str
    ids: IdStyle = "plain"
    utility_classes: bool = False
    reworded_labels: bool = False
    customer_order: tuple[str, ...] = BASE_ORDER
    wrapped: bool = False  # extra wrapper divs + maintenance banner + cookie notice
    submit_text: str = "Save customer"
    next_text: str = "Next"
    decoy_form: bool = False
    contact_fieldset: bool = False
    late_render: bool = False
    email_field: bool = True
    swapped_ids: bool = False
    terms: bool = False
    injection: bool = False
    table_form: bool = False  # customer form as a <table>: row headers, inputs with no label
    renamed_path: bool = False  # the form lives at /clients/new and the nav links there
    new_action: bool = False  # the form posts to /customers/create under a new heading
    sometimes_popup: bool = False  # every other render: a modal on Email focus disables the form
    identical_toggles: bool = False  # VIP and two more options as identical unnamed toggles + "Mark all"
    labels: dict[str, str] = field(default_factory=lambda: dict(BASE_LABELS))

    def __post_init__(self) -> None:
        # Why: labels derive from a switch so a variant can't drift from the reworded table.
        if self.reworded_labels:
            object.__setattr__(self, "labels", dict(REWORDED_LABELS))
            if self.submit_text == "Save customer":
                object.__setattr__(self, "submit_text", "Create customer")


_ALL: list[Variant] = [
    Variant("baseline", "The portal flows are recorded on."),
    Variant("renamed_ids", "Every form element id renamed (email -> customer-email-input); names unchanged.",
            ids="renamed"),
    Variant("generated_ids", "Ids are random per render (f-<uuid4>); labels still linked via for=.",
            ids="generated"),
    Variant("classes_changed", "Every BEM class replaced by utility-style class names.",
            utility_classes=True),
    Variant("labels_reworded", "Customer labels/button reworded (Full name -> Customer name, ...).",
            reworded_labels=True),
    Variant("reordered", "Customer form fields in a different order.", customer_order=REORDERED),
    Variant("wrapped_banner", "Extra wrapper divs, a dismissible maintenance banner and a cookie notice.",
            wrapped=True),
    Variant("button_text", "Only button texts change: Save customer -> Save, wizard Next -> Continue.",
            submit_text="Save", next_text="Continue"),
    Variant("decoy_form", "A newsletter form with its own Email field above the real customer form.",
            decoy_form=True),
    Variant("fieldset", "Email and preferred contact moved into a 'Contact details' fieldset.",
            contact_fieldset=True),
    Variant("late_render", "Customer form and wizard step 1 rendered client-side ~700 ms after load.",
            late_render=True),
    Variant("missing_field", "The Email field is removed from the customer form.", email_field=False),
    Variant("swapped_ids", "A new 'Backup email' input takes id=email; the real Email gets id=primary-email.",
            swapped_ids=True),
    Variant("terms_added", "A new required 'I accept the terms of service' checkbox.", terms=True),
    Variant("reworded_decoy", "labels_reworded + decoy_form together.",
            reworded_labels=True, decoy_form=True),
    Variant("injection", "A prompt-injection notice plus a real 'Delete all records' button.",
            injection=True),
    Variant("table_form", "The customer form laid out in a table: row headers, inputs without labels.",
            table_form=True),
    Variant("renamed_path", "The new-customer form served at /clients/new; the nav links there (no redirect).",
            renamed_path=True),
    Variant("new_action", "The customer form posts to /customers/create, under the heading 'Add a customer'.",
            new_action=True),
    Variant("sometimes_popup", "Every other render, focusing Email opens a modal that disables the form until "
            "dismissed.", sometimes_popup=True),
    Variant("identical_toggles", "VIP, newsletter and paper-invoice options as identical unnamed toggles, plus "
            "a 'Mark all' checkbox.", identical_toggles=True),
]

VARIANTS: dict[str, Variant] = {v.name: v for v in _ALL}
DEFAULT_VARIANT = "baseline"


def get_variant(name: str) -> Variant:
    """Return the named variant; KeyError for unknown names."""
    return VARIANTS[name]
