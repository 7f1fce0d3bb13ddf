"""Run inputs: validated against the flow's input schema before any browser starts, substituted
into `{{ key }}` placeholders, and — for secrets — redacted from everything webmem writes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from webmem.errors import InputError
from webmem.flow import Flow, InputSpec

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*)\s*\}\}")
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
    # an input is one scalar: null, a list or an object would be typed as "None" or "{'a': [1]}"
    if value is None or not isinstance(value, str | int | float | bool):
        kind = "null" if value is None else type(value).__name__
        raise InputError(f"input {key!r}: expected a {spec.type}, got {kind}"
                         + ("" if spec.secret or value is None else f" {_short(repr(value))}"))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (say, undecodable bytes on the command line)
            raise InputError(f"input {key!r}: not valid text (it holds a lone surrogate or undecodable "
                             "bytes)") from None
    if spec.type == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"input {key!r}: expected a number, got {_show(spec, value)}") from None
        return int(number) if number.is_integer() else number
    if spec.type == "bool":
        parsed = parse_bool(value)
        if parsed is None:
            raise InputError(f"input {key!r}: expected yes/no/true/false/1/0, got {_show(spec, value)}")
        return parsed
    text = str(value)
    if spec.type == "enum" and spec.choices and text not in spec.choices:
        raise InputError(f"input {key!r}: expected one of {', '.join(spec.choices)}, got {_show(spec, text)}")
    if spec.format == "email" and text and not EMAIL.match(text):
        raise InputError(f"input {key!r}: expected an e-mail address, got {_show(spec, text)}")
    if spec.format == "date" and text and not DATE.match(text):
        raise InputError(f"input {key!r}: expected a date as YYYY-MM-DD, got {_show(spec, text)}")
    return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(spec: InputSpec, value: Any) -> str:
    return REDACTED if spec.secret else repr(value)


def resolve_inputs(
    flow: Flow, given: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The flow's inputs from `given`, then the environment (for inputs that name a variable), then
    defaults. Unknown, missing or mistyped inputs raise InputError naming the field."""
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
    return values


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


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """`key=value` strings from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--input {pair!r}: expected key=value")
        out[key.strip()] = value
    return out


class Redactor:
    """Replaces secret values in any text webmem is about to print, log or store."""

    def __init__(self, secrets: list[str] | None = None):
        # longest first, so a secret that contains another is hidden whole
        self.secrets = sorted({s for s in (secrets or []) if s}, key=len, reverse=True)

    @classmethod
    def for_inputs(cls, specs: Mapping[str, InputSpec], values: Mapping[str, Any]) -> Redactor:
        """Hides the values of the inputs marked secret."""
        return cls([str(values[k]) for k, spec in specs.items() if spec.secret and k in values])

    @classmethod
    def for_flow(cls, flow: Flow, values: Mapping[str, Any]) -> Redactor:
        return cls.for_inputs(flow.inputs, values)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value
