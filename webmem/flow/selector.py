"""Selectors as written in flow files: the grammar, checked when a flow loads, and how `{{ input }}` placeholders
are filled. No browser here: `webmem.page.selector` turns a selector into a Playwright locator.

The grammar is Playwright's own vocabulary with exact matching, so a selector never matches by
accident on a substring: `testid=`, `role=ROLE[name="…"]`, `placeholder=`, `label=`, `alt=`,
`title=`, `text=`, `css=`, `xpath=`.

Parts chain with ` >> `, each looking inside what the part before it found, and `has_text="…"` keeps only
what contains a text (Playwright's `filter(has_text=...)`), so a target can be tied to its row or item the
way codegen writes it: `role=listitem >> has_text="{{ todo }}" >> role=checkbox` is
`get_by_role("listitem").filter(has_text=todo).get_by_role("checkbox")`. A `{{ input }}` placeholder in a
selector is rendered at replay, escaped for where it stands. `nth=K` keeps the K-th (from 0) of the *visible*
elements the part before it found: `role=button[name="{{ choice }}"] >> nth=1` is the second button named by
the task's value where the demonstration saw two (replay takes the only one where there is one, see
`nth_of`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from webmem.errors import SelectorError

ROLE = re.compile(r'^(?P<role>[a-z]+)(?:\[name=(?P<name>".*")\])?$', re.S)
KINDS = ("testid", "role", "placeholder", "label", "alt", "title", "text", "css", "xpath", "has_text", "nth")
CHAIN = " >> "
# as webmem.flow.inputs.PLACEHOLDER (which imports this module's neighbours): `{{ key }}`, `{{ list.field }}`,
# `{{ list.index+K }}`
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*(?:\+\d+)?)?)\s*\}\}")

def split_chain(selector: str) -> list[str]:
    """A selector's parts: split at ` >> `, but never inside a "quoted string" (a rendered name may hold one)."""
    if CHAIN not in selector:  # most selectors: no walk over every character (indexing a store reads 100,000s)
        return [selector]
    parts, start, quoted, escaped = [], 0, False, False
    i = 0
    while i < len(selector):
        c = selector[i]
        if escaped:
            escaped = False
        elif c == "\\" and quoted:
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif not quoted and selector.startswith(CHAIN, i):
            parts.append(selector[start:i])
            start = i + len(CHAIN)
            i = start
            continue
        i += 1
    parts.append(selector[start:])
    return parts


def parts_of(selector: str) -> list[tuple[str, str]]:
    """The (kind, body) parts of a selector, checked against the grammar."""
    parts = []
    for i, part in enumerate(split_chain(selector)):
        kind, sep, body = part.partition("=")
        if not sep or kind not in KINDS:
            raise SelectorError(f"unknown selector {selector!r}: expected one of "
                                f"{', '.join(k + '=' for k in KINDS if k != 'has_text')}")
        if not body.strip():
            raise SelectorError(f"empty selector part {part!r} in {selector!r}")
        if kind in {"has_text", "nth"} and i == 0:
            raise SelectorError(f"{selector!r}: {kind}= filters the part before it, so it cannot come first")
        if kind == "nth" and not body.isdigit():
            raise SelectorError(f"bad selector {selector!r}: nth= needs a position (0, 1, ...)")
        if kind == "role":
            role_match(selector, body)
        if kind == "has_text":
            quoted(selector, body)
        if kind == "css":
            css_syntax(selector, body)
        parts.append((kind, body))
    return parts


def css_syntax(selector: str, body: str) -> None:
    """A `css=` part must be CSS selector syntax (`#full_name[` is refused when the flow loads, not when the step
    is reached). Read by cssselect's parser (pure Python, no dependencies, syntax only: CSS 3 and `:has()`,
    `:is()`; Playwright's own pseudo-classes such as `:has-text("x")` or `:visible` read as any pseudo-class).
    Playwright's `:nth-match(selector, n)` takes a list it cannot read: left to Playwright."""
    if ":nth-match(" in body:
        return
    problem = _css_problem(_PLACEHOLDER.sub("x1", body))  # a placeholder stands for a name or number
    if problem:
        raise SelectorError(f"bad CSS selector {selector!r}: {problem}")


@functools.lru_cache(maxsize=8192)  # a store's flows share many selectors: each is parsed once per process
def _css_problem(css: str) -> str | None:
    import cssselect  # (only where a flow holds a css= selector)

    try:
        cssselect.parse(css)
    except cssselect.SelectorSyntaxError as exc:
        return str(exc)
    return None


def kind_of(selector: str) -> str:
    """The kind of a selector's first part (`role`, `css`...)."""
    return parts_of(selector)[0][0]


def quoted(selector: str, body: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, str):
        raise SelectorError(f'bad selector {selector!r}: has_text needs a "quoted string"')
    return value


def role_match(selector: str, body: str) -> re.Match[str]:
    m = ROLE.match(body)
    if not m:
        raise SelectorError(f'bad role selector {selector!r}: expected role=ROLE[name="NAME"]')
    try:
        if m.group("name") is not None and not isinstance(json.loads(m.group("name")), str):
            raise ValueError
    except ValueError:
        raise SelectorError(f'bad role selector {selector!r}: the name must be a "quoted string"') from None
    return m


def check_selector(selector: str) -> None:
    """Raise SelectorError unless `selector` is in the grammar (so a flow is refused when it is loaded, not
    when the step is reached)."""
    parts_of(selector)


def render_selector(selector: str, values: Mapping[str, Any]) -> str:
    """Fill a selector's `{{ input }}` placeholders: inside a quoted string the value is escaped as JSON, so
    a value with quotes or ` >> ` in it stays one name. An input without a value is a SelectorError."""
    if "{{" not in selector:
        return selector

    def fill(part: str) -> str:
        quoted = part.startswith("has_text=") or '[name="' in part

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in values:
                raise SelectorError(f"selector {selector!r}: no value for {{{{ {key} }}}}")
            text = str(values[key])
            return json.dumps(text, ensure_ascii=False)[1:-1] if quoted else text

        return _PLACEHOLDER.sub(sub, part)

    return CHAIN.join(fill(p) for p in split_chain(selector))


def nth_of(selector: str) -> tuple[str, int] | None:
    """A selector ending in `>> nth=K` as (what comes before, K); None for any other."""
    parts = split_chain(selector)
    kind, _, body = parts[-1].partition("=")
    if len(parts) < 2 or kind != "nth" or not body.isdigit():
        return None
    return CHAIN.join(parts[:-1]), int(body)


def valid(selector: str) -> bool:
    try:
        kind_of(selector)
    except SelectorError:
        return False
    return True
