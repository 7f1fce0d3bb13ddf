"""Property-based fuzzing (hypothesis) of what webmem reads from people and pages: the flow loader, URL
patterns, input rendering and selectors. Whatever comes in, the answer is a clean result or a
WebmemError subclass — never another exception, never a hang. Bounded: few examples, a deadline each."""

from __future__ import annotations

import json
from urllib.parse import urljoin, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webmem.errors import FlowFormatError, InputError, SelectorError, WebmemError
from webmem.flow.flowfile import dump_flow, parse_flow
from webmem.flow.format import Flow
from webmem.flow.inputs import REDACTED, Redactor, placeholders, render, resolve_inputs
from webmem.flow.model import InputSpec
from webmem.flow.selector import check_selector as check
from webmem.flow.urlpattern import matches, to_pattern, url_problem

BOUNDED = settings(max_examples=60, deadline=1000, suppress_health_check=[HealthCheck.too_slow],
                   derandomize=True)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
JSONISH = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                            max_size=4), max_leaves=20)
URLISH = st.one_of(
    st.text(max_size=40),
    st.builds(lambda s, h, p: f"{s}://{h}/{p}", st.sampled_from(["http", "https", "file", "javascript", "ftp", ""]),
              st.text(alphabet="[]:.@0123456789abc", max_size=12), st.text(max_size=12)),
)
SELECTORS = st.one_of(st.text(max_size=30), st.builds(lambda k, b: f"{k}={b}", st.sampled_from(
    ["testid", "role", "css", "xpath", "text", "label", "bogus", ""]), st.text(max_size=20)))


def _steps() -> st.SearchStrategy[list]:
    target = st.fixed_dictionaries({"intent": st.text(max_size=10), "selectors": st.lists(SELECTORS, max_size=2)})
    step = st.one_of(
        st.fixed_dictionaries({"goto": URLISH}),
        st.fixed_dictionaries({"fill": st.fixed_dictionaries({"target": target, "value": st.text(max_size=20)})}),
        st.fixed_dictionaries({"click": st.fixed_dictionaries({"target": target})}),
        st.fixed_dictionaries({"expect": st.fixed_dictionaries({"url": URLISH})}),
        JSONISH,
    )
    return st.lists(step, max_size=4)


FLOW_DOCS = st.fixed_dictionaries({
    "webmem": st.one_of(st.just(1), SCALARS), "name": st.text(max_size=20), "task": st.text(max_size=20),
    "base_url": URLISH, "steps": _steps(),
    "inputs": st.dictionaries(st.text(max_size=6), st.fixed_dictionaries({"secret": st.booleans()}), max_size=2),
})


@BOUNDED
@given(FLOW_DOCS)
def test_flow_loader_on_structured_documents(doc: dict) -> None:
    try:
        flow, _ = parse_flow(json.dumps(doc))
    except WebmemError:
        return
    text = dump_flow(flow)  # a flow that loads also writes and loads back unchanged
    assert parse_flow(text)[0] == flow


def _loads_or_says_why(text: str) -> None:
    """A text is a flow that writes and loads back unchanged, or an error that says what is wrong with it."""
    try:
        flow, _ = parse_flow(text)
    except FlowFormatError as exc:
        assert exc.problems and all(p.strip() for p in exc.problems)
        return
    assert isinstance(flow, Flow) and parse_flow(dump_flow(flow))[0] == flow


@BOUNDED
@given(st.text(max_size=300))
def test_flow_loader_on_any_text(text: str) -> None:
    _loads_or_says_why("webmem: 1\n" + text)


@BOUNDED
@given(st.text(alphabet="&*!|>-[]{}:, \n\tab'\"#%@`?", max_size=200))
def test_flow_loader_on_yaml_punctuation(text: str) -> None:
    for candidate in (text, "webmem: 1\n" + text):
        _loads_or_says_why(candidate)


@BOUNDED
@given(URLISH, URLISH)
def test_url_patterns(url: str, base: str) -> None:
    problem = url_problem(url)
    if url_problem(base, absolute=True) is not None or problem is not None:
        return  # webmem refuses these before using them; the rest must never raise
    pattern = to_pattern(url, base)
    # a URL is an instance of the pattern learned from it (as a browser reports a URL: no `.`/`..` segments)
    if not {".", ".."} & set(urlsplit(urljoin(base, url)).path.split("/")):
        assert matches(pattern, url, base), (url, base, pattern)


@BOUNDED
@given(st.text(max_size=60), st.dictionaries(st.from_regex(r"[A-Za-z_][a-z0-9_]{0,5}", fullmatch=True),
                                             SCALARS, max_size=3))
def test_input_rendering(template: str, values: dict) -> None:
    keys = placeholders(template)
    try:
        rendered = render(template, values)
    except InputError as exc:  # only a placeholder without a value is refused, and the message names it
        missing = [k for k in keys if k not in values]
        assert missing and f"{{{{ {missing[0]} }}}}" in str(exc), (template, values, exc)
        return
    assert all(k in values for k in keys)
    if not keys:
        assert rendered == template
    else:  # every placeholder gives way to its value, as text (a yes/no for a bool)
        assert not set(placeholders(rendered)) & set(keys) - {k for k in keys if "{{" in str(values[k])}
        for k in keys:
            v = values[k]
            assert ("yes" if v else "no") in rendered if isinstance(v, bool) else str(v) in rendered


@BOUNDED
@given(st.dictionaries(st.sampled_from(["a", "b"]), JSONISH, max_size=2),
       st.sampled_from(["string", "number", "bool", "enum"]), st.booleans())
def test_input_resolution(given_values: dict, kind: str, secret: bool) -> None:
    flow = Flow(name="f", task="t", steps=[{"goto": "http://127.0.0.1/"}],
                inputs={"a": InputSpec(type=kind, choices=["x"] if kind == "enum" else None, secret=secret),
                        "b": InputSpec(required=False)})
    try:
        values = resolve_inputs(flow, given_values)
    except WebmemError:
        return
    assert all(isinstance(v, str | int | float | bool) for v in values.values())
    if secret and "a" in values and str(values["a"]):
        assert str(values["a"]) not in repr(values)


@settings(BOUNDED, deadline=5000)  # the first flow loaded in a process pays for the loader's start
@given(SELECTORS)
def test_selectors(selector: str) -> None:
    try:
        check(selector)
    except SelectorError as exc:  # a refusal names the selector it refuses
        assert isinstance(exc, WebmemError) and (selector in str(exc) or repr(selector) in str(exc)), exc
        return
    if "{{" in selector:
        return  # an undeclared placeholder: the flow loader refuses it (test_hostile_files)
    # accepted: a flow holds it, and keeps it as it was through writing the file and loading it back
    flow = Flow.model_validate({"name": "f", "task": "t", "base_url": "http://127.0.0.1/",
                                "steps": [{"click": {"target": {"intent": "x", "selectors": [selector]}}}]})
    assert parse_flow(dump_flow(flow))[0].steps[0].target.selectors == [selector]


@BOUNDED
@given(st.text(min_size=1, max_size=12), st.text(max_size=60))
def test_redactor_never_lets_the_secret_through(secret: str, around: str) -> None:
    redact = Redactor([secret])
    out = redact(around + secret + around).replace(REDACTED, "\x00")
    assert "\x00" in secret or secret not in out
    data = (around + secret).encode("utf-8", "surrogatepass")
    raw = secret.encode("utf-8", "surrogatepass")
    assert raw in REDACTED.encode() or raw not in redact.bytes(data)
