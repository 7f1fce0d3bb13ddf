"""URL patterns and input handling (pure functions)."""

from __future__ import annotations

import pytest

from webmem.errors import InputError
from webmem.flow.flowfile import parse_flow
from webmem.flow.inputs import Redactor, render, resolve_inputs
from webmem.flow.urlpattern import matches, to_pattern

BASE = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        (f"{BASE}/customers/123", "/customers/{id}"),
        (f"{BASE}/o/3f2a9c1e-77b1-4c2e-9a0d-123456789abc/items/5", "/o/{uuid}/items/{id}"),
        (f"{BASE}/s/9f86d081884c7d659a2feaa0c55ad015", "/s/{hash}"),
        (f"{BASE}/search?z=1&q=shoes&utm_source=mail&gclid=x", "/search?q=shoes&z={id}"),
        ("https://other.example/a", "https://other.example/a"),
        (f"{BASE}/", "/"),
    ],
)
def test_to_pattern(url: str, pattern: str) -> None:
    assert to_pattern(url, BASE) == pattern


def test_matches() -> None:
    assert matches("/customers/{id}", f"{BASE}/customers/77", BASE)
    assert not matches("/customers/{id}", f"{BASE}/orders/77", BASE)
    assert not matches("/customers/{id}", f"{BASE}/customers/77/edit", BASE)
    assert matches("/search?q=shoes", f"{BASE}/search?utm_source=x&q=shoes", BASE)
    assert not matches("/search?q=shoes", f"{BASE}/search?q=boots", BASE)
    assert not matches("https://a.example/x", "https://b.example/x")


FLOW = """webmem: 1
name: t
task: t
inputs:
  name: {}
  age: {type: number, required: false}
  vip: {type: bool, default: 'no'}
  plan: {type: enum, choices: [free, pro], default: free}
  email: {format: email, required: false}
  password: {secret: true, env: APP_PASSWORD}
steps:
  - goto: '/?vip={{ vip }}&plan={{ plan }}'
"""


def test_inputs_validated_and_typed() -> None:
    flow, _ = parse_flow(FLOW)
    values = resolve_inputs(flow, {"name": "Ann", "age": "42", "vip": "yes"}, env={"APP_PASSWORD": "s3cr3t!"})
    assert values == {"name": "Ann", "age": 42, "vip": True, "plan": "free", "password": "s3cr3t!"}
    with pytest.raises(InputError, match="missing required input.*name"):
        resolve_inputs(flow, {}, env={"APP_PASSWORD": "x"})
    with pytest.raises(InputError, match="'age': expected a number"):
        resolve_inputs(flow, {"name": "a", "age": "old"}, env={"APP_PASSWORD": "x"})
    with pytest.raises(InputError, match="unknown input"):
        resolve_inputs(flow, {"name": "a", "nope": 1}, env={"APP_PASSWORD": "x"})
    with pytest.raises(InputError, match="one of free, pro"):
        resolve_inputs(flow, {"name": "a", "plan": "gold"}, env={"APP_PASSWORD": "x"})
    with pytest.raises(InputError, match="e-mail"):
        resolve_inputs(flow, {"name": "a", "email": "nope"}, env={"APP_PASSWORD": "x"})


def test_secret_value_never_in_errors_and_redacted() -> None:
    flow, _ = parse_flow(FLOW.replace("password: {secret: true, env: APP_PASSWORD}",
                                      "password: {secret: true, type: number}"))
    with pytest.raises(InputError) as info:
        resolve_inputs(flow, {"name": "a", "password": "hunter2"})
    assert "hunter2" not in str(info.value)
    redact = Redactor(["hunter2"])
    assert redact("typed hunter2 here") == "typed «secret» here"
    assert redact.data({"a": ["hunter2"]}) == {"a": ["«secret»"]}


def test_render() -> None:
    assert render("Hi {{ name }}, {{name}}!", {"name": "Ann"}) == "Hi Ann, Ann!"
    with pytest.raises(InputError, match="no input value"):
        render("{{ missing }}", {})


def test_a_generated_placeholder_matches_only_its_kind() -> None:
    assert matches("/customers/{id}", "http://h/customers/12")
    assert not matches("/customers/{id}", "http://h/customers/new")  # the form, not a created record
    assert matches("/o/{uuid}", "http://h/o/123e4567-e89b-12d3-a456-426614174000")
    assert not matches("/o/{uuid}", "http://h/o/orders")
    assert matches("/files/{name}", "http://h/files/report")  # a name webmem did not make: any segment
