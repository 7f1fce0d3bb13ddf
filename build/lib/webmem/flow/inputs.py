"""Run inputs: validated against the flow's input schema before any browser starts, substituted
into `{{ key }}` placeholders, and — for secrets — redacted from everything webmem writes."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from webmem.errors import InputError
from webmem.flow.model import InputSpec


class FlowView(Protocol):
    """A flow (`webmem.flow.format.Flow`, which imports this module) as its inputs are read here."""

    @property
    def inputs(self) -> Mapping[str, InputSpec]: ...

    @property
    def steps(self) -> Sequence[BaseModel]: ...

    @property
    def handlers(self) -> Sequence[BaseModel]: ...


if TYPE_CHECKING:
    from webmem.flow.secrets_allow import SecretAllowlist


# `{{ key }}`; inside a `repeat` block also `{{ list.field }}` (the item's field), `{{ list.index }}` (0-based)
# and `{{ list.index+K }}` (the index plus K: the n-th row of a table that starts at K)
NAME = r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*(?:\+\d+)?)?"
PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME + r")\s*\}\}")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE = {"1", "true", "yes", "on", "y"}
FALSE = {"0", "false", "no", "off", "n", ""}
REDACTED = "«secret»"


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in TRUE else False if text in FALSE else None


def _coerce(key: str, spec: InputSpec, value: Any) -> Any:
    if spec.type == "list":
        return _coerce_list(key, spec, value)
    # an input is one scalar: null, a list or an object would be typed as "None" or "{'a': [1]}"
    if value is None or not isinstance(value, str | int | float | bool):
        kind = "null" if value is None else type(value).__name__
        raise InputError(f"input {key!r}: expected {'an' if spec.type == 'enum' else 'a'} {spec.type}, got {kind}"
                         + ("" if spec.secret or value is None else f" {_short(repr(value))}"))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (say, undecodable bytes on the command line)
            raise InputError(f"input {key!r}: not valid text (it holds a lone surrogate or undecodable "
                             "bytes)") from None
    # a JSON/YAML true or 1e400 (inf) or NaN is no text a person typed: as a string it would be entered as "True",
    # "inf" or "nan". A plain finite number is taken as its digits (a zip code or an amount from a JSON row or an
    # .xlsx cell), as before.
    if isinstance(value, bool) and spec.type != "bool":
        shown = "a yes/no value" if spec.secret else "JSON " + str(value).lower()
        raise InputError(f"input {key!r}: expected {'an' if spec.type == 'enum' else 'a'} {spec.type}, got {shown} "
                         "(quote it if it is text)")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"input {key!r}: expected {'a finite number' if spec.type == 'number' else 'text'}, got "
                         f"{'a number' if spec.secret else value} (an overflowing or not-a-number JSON value)")
    if spec.type == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"input {key!r}: expected a number, got {_show(spec, value)}") from None
        if not math.isfinite(number):
            raise InputError(f"input {key!r}: expected a finite number, got {_show(spec, value)}")
        return int(number) if number.is_integer() else number
    if spec.type == "bool":
        parsed = parse_bool(value)
        if parsed is None:
            raise InputError(f"input {key!r}: expected yes/no/true/false/1/0, got {_show(spec, value)}")
        return parsed
    text = str(value)
    if spec.type == "file" and not Path(text).is_file():
        raise InputError(f"input {key!r}: expected a file to upload, got {_show(spec, text)} (no such file)")
    if spec.type == "enum" and spec.choices and text not in spec.choices:
        raise InputError(f"input {key!r}: expected one of {', '.join(spec.choices)}, got {_show(spec, text)}")
    if spec.format == "email" and text and not EMAIL.match(text):
        raise InputError(f"input {key!r}: expected an e-mail address, got {_show(spec, text)}")
    if spec.format == "date" and text and not DATE.match(text):
        raise InputError(f"input {key!r}: expected a date as YYYY-MM-DD, got {_show(spec, text)}")
    return text


def _coerce_list(key: str, spec: InputSpec, value: Any) -> list[dict[str, Any]]:
    """A list input: a list of mappings (or that as JSON text, as the command line or a CSV cell gives it), each
    item's fields checked like inputs; an error names the item and field (`lines[2].quantity`)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InputError(f"input {key!r}: expected a list of items (JSON), got {_short(repr(value))}") from None
    if not isinstance(value, list | tuple):
        raise InputError(f"input {key!r}: expected a list of items, got {type(value).__name__}")
    if not value and spec.required:
        raise InputError(f"input {key!r}: expected at least one item")
    fields = spec.items or {}
    items = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise InputError(f"input {where}: expected an item with fields {', '.join(fields)}, "
                             f"got {type(item).__name__}")
        unknown = sorted(set(item) - set(fields))
        if unknown:
            raise InputError(f"input {where}: unknown field(s) {', '.join(map(str, unknown))} "
                             f"(an item has: {', '.join(fields)})")
        out: dict[str, Any] = {}
        for name, field in fields.items():
            raw = item.get(name)
            if raw is None or raw == "" and field.default is not None:
                raw = field.default
            if raw is None:
                if field.required:
                    raise InputError(f"input {where}.{name}: missing")
                continue
            out[name] = _coerce(f"{where}.{name}", field, raw)
        items.append(out)
    return items


def list_spec(items: Sequence[Any]) -> InputSpec:
    """A list input's spec from its demonstrated value: the fields of its items, numbers and yes/no kept so."""
    fields: dict[str, InputSpec] = {}
    for item in items:
        for key, value in (item.items() if isinstance(item, dict) else ()):
            kind = "bool" if isinstance(value, bool) else "number" if isinstance(value, int | float) else "string"
            fields.setdefault(key, InputSpec(type=kind))
    if not fields:
        raise ValueError("a list input's value is a list of items with fields: [{field: value, ...}, ...]")
    return InputSpec(type="list", items=fields)


def spec_for(value: Any, secret: bool = False, env: str | None = None) -> InputSpec:
    """The spec of an input known only by its value (a recording's, a `do` task's): a list of items is a list
    input, anything else a string."""
    return list_spec(value) if isinstance(value, list) else InputSpec(secret=secret, env=env)


def item_values(over: str, index: int, item: Mapping[str, Any], keys: Collection[str]) -> dict[str, Any]:
    """The placeholders of one item of a `repeat` block over `over`, for the `keys` the block uses: its fields
    (`lines.quantity`), its 0-based index (`lines.index`) and the index plus K (`lines.index+K`)."""
    values: dict[str, Any] = {f"{over}.{k}": v for k, v in item.items()}
    for key in keys:
        head, _, rest = key.partition(".")
        name, plus, k = rest.partition("+")
        if head == over and name == "index":
            values[key] = index + (int(k) if plus else 0)
    return values


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(spec: InputSpec, value: Any) -> str:
    return REDACTED if spec.secret else repr(value)


def resolve_inputs(
    flow: FlowView, given: Mapping[str, Any], env: Mapping[str, str] | None = None, *,
    allow: SecretAllowlist | None = None, origin: str | None = None,
) -> dict[str, Any]:
    """The flow's inputs from `given`, then the environment (for inputs that name a variable), then
    defaults. Unknown, missing or mistyped inputs raise InputError naming the field. The result's repr
    hides the secret ones (it may show up in a traceback's locals). `allow`: the operator's allowlist of
    variables (each for the sites it may be typed into); a variable it does not allow for `origin` (the site
    the run starts on) is refused by name."""
    env = os.environ if env is None else env
    unknown = sorted(set(given) - set(flow.inputs))
    if unknown:
        known = ", ".join(flow.inputs) or "none"
        raise InputError(f"unknown input(s): {', '.join(unknown)} (this flow takes: {known})")
    values: dict[str, Any] = {}
    missing = []
    for key, spec in flow.inputs.items():
        if key in given:
            raw = given[key]
        elif spec.env and spec.env in env:
            if allow is not None:
                allow.check(spec.env, origin, f"input {key!r}")
            raw = env[spec.env]
        elif spec.default is not None:
            raw = spec.default
        elif spec.required:
            missing.append(key + (f" (or set ${spec.env})" if spec.env else ""))
            continue
        else:
            continue
        values[key] = _coerce(key, spec, raw)
    if missing:
        raise InputError(f"missing required input(s): {', '.join(missing)}")
    for key, learned in learned_values(flow).items():
        if key in values and not same_value(values[key], learned):
            raise InputError(
                f"input {key!r}: {_show(flow.inputs[key], values[key])} differs from the value the flow was learned "
                f"with ({learned!r}), and no step of the flow enters it, so it would not land; learn the task "
                "with this value, or bind a step to {{ " + key + " }}")
    return Secrets(values, {k for k, spec in flow.inputs.items() if spec.secret})


def consumed(flow: FlowView) -> set[str]:
    """The inputs the flow enters: those a step or an overlay handler refers to (a `verify:` block only
    checks, it enters nothing)."""
    texts = [step.model_dump_json() for step in flow.steps] + [h.model_dump_json() for h in flow.handlers]
    # an item's `{{ lines.field }}` enters the list input `lines`
    return {key.split(".")[0] for text in texts for key in placeholders(text)}


def learned_values(flow: FlowView) -> dict[str, str]:
    """Inputs no step enters -> the value the flow was learned with (its default: an agent's recording keeps
    it so the same inputs replay). Such a value is fixed in the steps (a click on that choice): another value
    would not land."""
    used = consumed(flow)
    return {k: str(s.default) for k, s in flow.inputs.items()
            if k not in used and s.default not in (None, "") and not s.secret}


def same_value(value: Any, learned: Any) -> bool:
    """Whether a run's value is the one the flow was learned with: the same text (case and spacing at the ends
    aside), or the same yes/no."""
    a, b = str(value).strip().lower(), str(learned).strip().lower()
    if a == b:
        return True
    x, y = parse_bool(value), parse_bool(learned)
    return x is not None and x == y


def render(template: str, values: Mapping[str, Any]) -> str:
    """Substitute `{{ key }}` placeholders. An unknown key is an error, not an empty string."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise InputError(f"placeholder {{{{ {key} }}}} has no input value")
        value = values[key]
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return PLACEHOLDER.sub(sub, template)


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def parse_pairs(pairs: list[str], option: str = "--input", form: str = "key=value") -> dict[str, str]:
    """`key=value` strings from the command line (`option` and `form` name them in an error)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{option} {pair!r}: expected {form}")
        out[key.strip()] = value
    return out


def _char_forms(c: str) -> set[str]:
    """Every way one character of a secret may be written by a browser, Playwright or webmem: as is (any
    letter case), percent-encoded (a URL, a form submission: `~` → %7E, space → + or %20), as an HTML
    entity (named, decimal, hex), and JSON/JavaScript-escaped (\\u00fc, \\"), the escape's backslash
    doubled any number of times (JSON inside JSON, as in a trace's network log)."""
    from html.entities import codepoint2name

    forms = {c, c.upper(), c.lower(), "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))}
    if c == " ":
        forms.add("+")
    forms |= {f"&#{ord(c)};", f"&#x{ord(c):x};", f"&#x{ord(c):X};"}
    if ord(c) in codepoint2name:
        forms.add(f"&{codepoint2name[ord(c)]};")
    if c == "'":
        forms.add("&apos;")
    return {f for f in forms if f}


def _json_escapes(c: str) -> list[str]:
    """The JSON escapes of one character, without their backslash."""
    units = c.encode("utf-16-be", "surrogatepass")
    escapes = ["u" + "".join(f"{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))]
    escapes = [escapes[0], escapes[0].upper().replace("U", "u")]
    if len(units) == 4:  # outside the BMP: a surrogate pair
        pair = [f"u{units[0]:02x}{units[1]:02x}", f"u{units[2]:02x}{units[3]:02x}"]
        escapes = ["\\\\+".join(pair)]
    if c in "\"\\/":
        escapes.append(c)
    named = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
    if c in named:
        escapes.append(named[c])
    return escapes


def secret_pattern(secret: str) -> str:
    """A regular expression (to compile with re.I) matching `secret` in any mix of those encodings."""
    parts = []
    for c in secret:
        alts = sorted(map(re.escape, _char_forms(c)), key=len, reverse=True)
        alts += [r"\\+" + (e if e.startswith("u") and "\\" in e else re.escape(e)) for e in _json_escapes(c)]
        parts.append("(?:" + "|".join(alts) + ")")
    return "".join(parts)


def _to_bytes_pattern(secrets: list[str]) -> bytes:
    parts = []
    for secret in secrets:
        chars = []
        for c in secret:
            forms = (re.escape(f.encode("utf-8", "surrogatepass")) for f in _char_forms(c))
            alts = sorted(forms, key=len, reverse=True)
            alts += [rb"\\+" + (e.encode() if e.startswith("u") and "\\" in e else re.escape(e.encode()))
                     for e in _json_escapes(c)]
            chars.append(b"(?:" + b"|".join(alts) + b")")
        parts.append(b"".join(chars))
    return b"|".join(parts)


class Redactor:
    """Replaces secret values — in every encoding they may take (`encodings`), in any letter case — in
    any text webmem is about to print, log or store, and in trace archives."""

    def __init__(self, secrets: list[str] | None = None):
        self.secrets: list[str] = []
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self.extend(secrets or [])

    def extend(self, secrets: list[str]) -> None:
        """Hide these values too (a flow's own secret inputs, known only once the flow is chosen)."""
        # longest first, so a secret that contains another is hidden whole
        self.secrets = sorted({*self.secrets, *(str(s) for s in secrets if s)}, key=len, reverse=True)
        if not self.secrets:
            return
        pattern = "|".join(secret_pattern(s) for s in self.secrets)
        self._text = re.compile(pattern, re.I)
        # the same over UTF-8 bytes: escapes and encodings are ASCII, the characters as typed are UTF-8
        self._bytes = re.compile(_to_bytes_pattern(self.secrets), re.I)

    @classmethod
    def for_inputs(cls, specs: Mapping[str, InputSpec], values: Mapping[str, Any]) -> Redactor:
        """Hides the values of the inputs marked secret."""
        return cls([str(values[k]) for k, spec in specs.items() if spec.secret and k in values])

    @classmethod
    def for_flow(cls, flow: FlowView, values: Mapping[str, Any]) -> Redactor:
        return cls.for_inputs(flow.inputs, values)

    def __call__(self, text: str) -> str:
        return self._text.sub(REDACTED, text) if self._text is not None else text

    def bytes(self, data: bytes) -> bytes:
        """The same for raw bytes (a trace archive's members)."""
        return self._bytes.sub(REDACTED.encode("utf-8"), data) if self._bytes is not None else data

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value


class Secrets(dict[str, Any]):
    """Input values that never show in a traceback: pytest prints a failing test's locals with repr(),
    and a flow test's inputs may hold a password. Secret keys show as «secret»."""

    def __init__(self, values: Mapping[str, Any], secret_keys: set[str] | frozenset[str]):
        super().__init__(values)
        self.secret_keys = frozenset(secret_keys)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {REDACTED if k in self.secret_keys else repr(v)}"
                               for k, v in self.items()) + "}"

    __str__ = __repr__
