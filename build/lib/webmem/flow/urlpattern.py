"""URL patterns: the per-run parts of a URL (record ids, UUIDs, hashes) become `{name}` placeholders,
query keys are sorted and tracking parameters dropped, so one pattern covers every run of a flow."""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

TRACKING = re.compile(
    r"^(utm_\w+|gclid|dclid|fbclid|msclkid|yclid|igshid|mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|ref_src|spm)$", re.I
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
NUMBER = re.compile(r"^\d+$")
HEXHASH = re.compile(r"^[0-9a-f]{16,}$", re.I)
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")


def _segment_kind(segment: str) -> str | None:
    if NUMBER.match(segment):
        return "id"
    if UUID.match(segment):
        return "uuid"
    if HEXHASH.match(segment) or (
        len(segment) >= 20 and re.search(r"\d", segment) and re.fullmatch(r"[A-Za-z0-9_-]+", segment)
    ):
        return "hash"
    return None


def _name(kind: str, used: dict[str, int]) -> str:
    used[kind] = used.get(kind, 0) + 1
    return kind if used[kind] == 1 else f"{kind}{used[kind]}"


def to_pattern(url: str, base_url: str | None = None) -> str:
    """`http://h/orders/123?utm_source=x&b=2&a=1` → `/orders/{id}?a=1&b=2` (origin kept only when it
    differs from `base_url`)."""
    parts = urlsplit(urljoin(base_url or "", url))
    used: dict[str, int] = {}
    segments = []
    for seg in parts.path.split("/"):
        kind = _segment_kind(seg) if seg else None
        segments.append("{" + _name(kind, used) + "}" if kind else seg)
    path = "/".join(segments) or "/"
    query = []
    for key, value in sorted(parse_qsl(parts.query, keep_blank_values=True)):
        if TRACKING.match(key):
            continue
        kind = _segment_kind(value) if value else None
        query.append((key, "{" + _name(kind, used) + "}" if kind else value))
    q = urlencode(query, safe="{}")
    origin = f"{parts.scheme}://{parts.netloc}"
    keep_origin = bool(parts.netloc) and (base_url is None or origin_of(base_url) != origin)
    return (origin if keep_origin else "") + path + (f"?{q}" if q else "")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _seg_matches(pattern: str, value: str) -> bool:
    m = PLACEHOLDER.match(pattern)
    if not m:
        return pattern == value
    # a placeholder webmem made stands for what it was made from: /customers/{id} is not /customers/new
    kind = m.group(1).rstrip("0123456789")
    if kind == "id":
        return bool(NUMBER.match(value))
    if kind == "uuid":
        return bool(UUID.match(value))
    if kind == "hash":
        return _segment_kind(value) is not None
    return bool(value)


def matches(pattern: str, url: str, base_url: str | None = None) -> bool:
    """Whether `url` is an instance of `pattern`. Extra query keys in the URL are allowed."""
    pat = urlsplit(urljoin(base_url or "", pattern)) if base_url or "://" in pattern else urlsplit(pattern)
    got = urlsplit(urljoin(base_url or "", url))
    if pat.netloc and (pat.scheme, pat.netloc.lower()) != (got.scheme, got.netloc.lower()):
        return False
    psegs, gsegs = pat.path.rstrip("/").split("/"), got.path.rstrip("/").split("/")
    if len(psegs) != len(gsegs) or not all(_seg_matches(p, g) for p, g in zip(psegs, gsegs, strict=True)):
        return False
    have = dict(parse_qsl(got.query, keep_blank_values=True))
    for key, value in parse_qsl(pat.query, keep_blank_values=True):
        if key not in have or not _seg_matches(value, have[key]):
            return False
    return True


WEB_SCHEMES = ("http", "https")


def url_problem(url: str, *, absolute: bool = False) -> str | None:
    """Why `url` may not be opened by webmem, or None. The one rule for every URL a flow or a command
    gives (base_url, --base-url, goto, page and expected URLs, `do`/`record` URLs): a web address over
    http(s), or (unless `absolute`) a path relative to one. file:, javascript:, data: and the like
    would read the local disk or run code; a malformed host would fail later with a traceback."""
    text = str(url)
    probe = re.sub(r"\{\{.*?\}\}", "x", text)  # placeholders stand for an input value
    if any(c in probe for c in "\r\n\t\x00"):
        return f"{text!r} contains control characters"
    try:
        parts = urlsplit(probe.strip())
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        return f"{text!r} is not a web address ({exc})"
    scheme = parts.scheme.lower()
    if scheme or parts.netloc or absolute:
        if scheme not in WEB_SCHEMES:
            shown = f"the scheme {scheme}:" if scheme else "no scheme"
            return f"{text!r} is not a web address ({shown}; only http:// and https:// are allowed)"
        if not parts.hostname:
            return f"{text!r} is not a web address (no host)"
    return None


def check_web_url(url: str, *, absolute: bool = False) -> str:
    """`url` if it passes `url_problem`, else ValueError (for pydantic validators: the flow-file error
    names the step and field)."""
    problem = url_problem(url, absolute=absolute)
    if problem:
        raise ValueError(problem)
    return url


def without_values(pattern: str, typed: list[str], secrets: tuple[str, ...] | list[str] = (),
                   keys: Collection[str] = ()) -> str:
    """`pattern` without the query pairs whose value is one of `typed` or holds one of `secrets` (what
    the user typed into a GET form lands in the URL: a recorded expectation must not keep it, least of
    all a password), nor those whose key is one of `keys` (the fields of a GET form submitted: the form
    generated them, e.g. `?flexRadioDefault=on`, and another version of the page has others). A dropped key
    still matches: extra query keys in a URL are allowed."""
    typed_set = {t.strip().lower() for t in typed if t}
    hidden = [s.lower() for s in secrets if s]
    parts = urlsplit(pattern)
    if not parts.query or not (typed_set or hidden or keys):
        return pattern
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs
            if v.strip().lower() not in typed_set and not any(s in v.lower() or s in k.lower() for s in hidden)
            and k not in keys]
    if len(kept) == len(pairs):
        return pattern
    q = urlencode(kept, safe="{}")
    return pattern.split("?", 1)[0] + (f"?{q}" if q else "")
