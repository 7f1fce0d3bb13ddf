"""DOM signature: "this is still the page state the flow learned on".

Built from the page's visible interactive skeleton (landmarks, headings, forms and controls) in one
round trip, names masked (digits, dates, e-mails, ids), values dropped, repeated rows collapsed to a
count bucket. The token set gives a Jaccard similarity; its hash is the fast path.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from playwright.sync_api import Page

from webmem.flow.model import Signature
from webmem.page import inpage

SIMILAR = 0.4  # Jaccard at or above: the same page with changes (a banner, a new field, reworded labels)
RENDERING = 0.3  # below this the page may still be rendering what it will show: worth a short look again


class Match(StrEnum):
    EXACT = "exact"
    SIMILAR = "similar"
    DIFFERENT = "different"


FORMAT = 2  # tokens from what a user sees (no name attributes, chrome as one token, form tables kept)


def masked_words(words: Sequence[str]) -> list[str]:
    """The task's values as the page script writes names in tokens (lower case, digit runs as #)."""
    return [re.sub(r"\d+", "#", w.lower()) for w in words if len(w.strip()) >= 2]


def from_tokens(tokens: list[str], data: Sequence[str] = ()) -> Signature:
    """`data`: the task's values (masked_words): a control named by one (the option the task picks, the item
    it added) is the data, not the page's skeleton, and leaves no token."""
    if data:
        named = [t.split("|")[1] if t.count("|") else "" for t in tokens]
        tokens = [t for t, n in zip(tokens, named, strict=True)
                  if not any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", n) for w in data)]
    tokens = sorted(set(tokens))
    digest = hashlib.sha256("\n".join(tokens).encode("utf-8")).hexdigest()[:16]
    return Signature(hash=digest, tokens=tokens, format=FORMAT)


def comparable(a: Signature, b: Signature) -> bool:
    """Signatures made the same way (a flow learned by an older webmem holds another format: it says nothing
    about the page until a passing run refreshes it)."""
    return a.format == b.format


def capture(page: Page, data: Sequence[str] = ()) -> Signature:
    return from_tokens(inpage.call(page, "signature"), data)


def similarity(a: Signature, b: Signature) -> float:
    if not comparable(a, b):
        return 0.0
    if a.hash == b.hash:
        return 1.0
    sa, sb = set(a.tokens), set(b.tokens)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def compare(learned: Signature, now: Signature) -> tuple[Match, float]:
    if learned.hash == now.hash and comparable(learned, now):
        return Match.EXACT, 1.0
    score = similarity(learned, now)
    return (Match.SIMILAR if score >= SIMILAR else Match.DIFFERENT), score


def settled(page: Page, quiet_ms: int, timeout_ms: int, data: Sequence[str] = ()) -> Signature:
    """Settle, then capture, in one round trip."""
    return from_tokens(inpage.call(page, "settledSignature", [quiet_ms, timeout_ms]), data)


# the page check's calls (probes.js `glance`, `settledAt`): the signature as soon as the document is parsed
# (or once settled), with how long the page has been quiet and the page's clock; and, in the same moment, what
# another call asked of that page (`also`: [the name of a function of (arg, -, tokens), its arg], or null)
GLANCE_JS = "glance"
SETTLED_AT_JS = "settledAt"


class Look(NamedTuple):
    signature: Signature
    at: float  # when it was taken, the page's clock (compare with `W.lastMutation`)
    also: list[Any] | None = None  # [what `also` answered at that moment], if it was asked


def settled_at(page: Page, learned: Signature | Collection[str], quiet_ms: int, timeout_ms: int,
               data: Sequence[str] = (), also: tuple[str, Any] | None = None,
               along: inpage.ReadAlong | None = None) -> Look:
    """The page's signature, settling only when it needs to, and when it was taken. One round trip when the
    parsed page shows the learned skeleton (or one of the `learned` hashes) or has been quiet for `quiet_ms`
    already (settling would wait for nothing); a page that changed since settles first (a half-rendered page
    has another skeleton). `also`: (a function of (W, arg, the page's tokens), its arg) to answer in the same
    round trip, on the page as that signature saw it (the step's target probed with the page check)."""
    known = {learned.hash} if isinstance(learned, Signature) else set(learned)
    started = time.monotonic()
    asked = list(also) if also else None
    seen = inpage.call(page, GLANCE_JS, {"timeout": timeout_ms, "also": asked}, along)
    if seen is not None:
        now = from_tokens(seen["tokens"], data)
        if now.hash in known or seen["idle"] >= quiet_ms:
            return Look(now, seen["at"], seen["also"])
    left = max(0, timeout_ms - int((time.monotonic() - started) * 1000))  # the whole look stays within timeout_ms
    got = inpage.call(page, SETTLED_AT_JS, {"quiet": quiet_ms, "timeout": left, "also": asked}, along)
    return Look(from_tokens(got["tokens"], data), got["at"], got["also"])


def changed_since(page: Page, at: float) -> bool:
    """Whether the page's DOM changed after `at` (its clock, as `settled_at` gives it)."""
    return bool(inpage.call(page, "changedSince", at))


# what a page shows while it is still loading (a busy region, a progress bar, a spinner, "Loading..."): probes.js
BUSY_JS = "idle"


def idle_ms(page: Page) -> float:
    """How long the page has been quiet: 0 while it changes, loads, or shows that it is still loading."""
    return float(inpage.call(page, BUSY_JS))


def settle(page: Page, quiet_ms: int, timeout_ms: int) -> bool:
    """Wait until the DOM has been quiet for `quiet_ms` (a half-rendered page has another skeleton)."""
    result = inpage.call(page, "settle", [quiet_ms, timeout_ms])
    return bool(result and result.get("settled"))
