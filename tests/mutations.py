"""Seeded page mutations for the healing suite: a customer-style form changed by random combinations
of realistic edits. Every control carries `data-truth` (which the fingerprint never looks at), so a
test can tell whether the element webmem chose is the right one."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

FIELDS = [
    # key, label, type, synonyms
    ("full_name", "Full name", "text", ["Customer name", "Name", "Your full name"]),
    ("email", "Email", "email", ["E-mail address", "Email address", "Contact e-mail"]),
    ("phone", "Phone", "tel", ["Telephone", "Phone number", "Mobile"]),
    ("company", "Company", "text", ["Organisation", "Company name", "Employer"]),
    ("city", "City", "text", ["Town", "City / town", "Locality"]),
    ("notes", "Notes", "textarea", ["Comments", "Remarks", "Additional notes"]),
]
EDITS = ["rename_ids", "generated_ids", "classes", "reword", "reorder", "wrap", "banner", "decoy", "fieldset",
         "remove", "button_text"]


@dataclass
class Page:
    html: str
    edits: list[str] = field(default_factory=list)
    removed: str | None = None


def render(rng: random.Random | None = None, edits: list[str] | None = None) -> Page:
    edits = edits or []
    order = list(FIELDS)
    if "reorder" in edits and rng:
        rng.shuffle(order)
    removed = rng.choice(order)[0] if ("remove" in edits and rng) else None
    rows = []
    for key, label, typ, synonyms in order:
        if key == removed:
            continue
        fid = key
        if "rename_ids" in edits:
            fid = f"customer-{key.replace('_', '-')}-input"
        if "generated_ids" in edits:
            fid = f"f-{uuid.uuid4()}"
        text = rng.choice(synonyms) if ("reword" in edits and rng and rng.random() < 0.6) else label
        cls = "u-input px-2" if "classes" in edits else "form__input"
        ctrl = (f'<textarea id="{fid}" name="{key}" class="{cls}" data-truth="{key}"></textarea>' if typ == "textarea"
                else f'<input id="{fid}" name="{key}" type="{typ}" class="{cls}" data-truth="{key}">')
        row = f'<div class="form__row"><label for="{fid}">{text}</label>{ctrl}</div>'
        if "wrap" in edits:
            row = f'<div class="wrap"><div class="inner">{row}</div></div>'
        rows.append((key, row))
    body = "".join(r for _, r in rows)
    if "fieldset" in edits:
        body = f"<fieldset><legend>Details</legend>{body}</fieldset>"
    button = "Save" if "button_text" in edits else "Save customer"
    form = (f'<form id="customer-form" action="/customers/new" method="post">{body}'
            f'<button type="submit" data-truth="submit">{button}</button></form>')
    pre = ""
    if "banner" in edits:
        pre += '<div class="banner" role="status">Maintenance on Sunday <button>Dismiss</button></div>'
    if "decoy" in edits:
        pre += ('<form action="/newsletter"><h2>Newsletter</h2><label for="nl">Email</label>'
                '<input id="nl" type="email" name="newsletter_email" data-truth="decoy">'
                '<label><input type="checkbox" name="optin" data-truth="decoy"> Email me news</label>'
                '<button data-truth="decoy">Subscribe</button></form>')
    html = (f"<html><head><title>New customer</title></head><body><header><nav><a href='/'>Home</a></nav></header>"
            f"<main>{pre}<h1>New customer</h1>{form}</main></body></html>")
    return Page(html, edits, removed)


def mutate(seed: int) -> Page:
    rng = random.Random(seed)
    edits = rng.sample(EDITS, rng.randint(1, 4))
    return render(rng, edits)
