"""Issue 13, secrets: no secret in any encoding a browser or Playwright produces, nor any value derived
from a secret field, lands in output, reports, flows, tracebacks or traces (real Chromium, real servers)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page

import webmem
from webmem.flow.flowfile import dump_flow
from webmem.flow.inputs import REDACTED, Redactor, Secrets, resolve_inputs
from webmem.flow.model import InputSpec
from webmem.learn.record import Recorder

from .test_hostile_files import flow_text

pytest_plugins = ["pytester"]

SECRET = 'hunter2~x a*b+c ü"<&'
FORMS = ["hunter2~x", "hunter2%7Ex", "hunter2%7ex", "a*b%2Bc", "a%2Ab%2Bc", "%C3%BC", "\\u00fc", "&lt;&amp;",
         "hunter2~x+a*b%2Bc", "HUNTER2~X"]


def leaks(blob: bytes | str) -> list[str]:
    data = blob if isinstance(blob, bytes) else blob.encode("utf-8")
    low = data.lower()
    return [f for f in FORMS if f.lower().encode() in low] + (["raw"] if SECRET.encode() in data else [])


def trace_bytes(folder: Path) -> bytes:
    out = b""
    for archive in folder.rglob("*.zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                out += name.encode() + b"\n" + z.read(name) + b"\n"
    assert out, f"no trace in {folder}"
    return out


@pytest.mark.parametrize("text", [
    "http://h/got?pw=hunter2%7Ex+a*b%2Bc+%C3%BC%22%3C%26",
    '{"value":"hunter2~x a*b+c \\u00fc\\"<&"}', '{"value":"hunter2~x a*b+c ü\\"<&"}',
    'value="hunter2~x a*b+c ü&quot;&lt;&amp;"', "HUNTER2~X A*B+C Ü\"<&", "hunter2%7Ex%20a%2Ab%2Bc%20%C3%BC%22%3C%26",
])
def test_redactor_covers_every_encoding(text: str) -> None:
    redact = Redactor([SECRET])
    assert REDACTED in redact(text) and not leaks(redact(text)), redact(text)
    assert not leaks(redact.bytes(text.encode("utf-8")))


FILL_PW = "  - fill: {target: {intent: the password, selectors: ['css=#pw']}, value: '{{ pw }}'}\n"


def secret_flow(base: str, steps: str) -> str:
    inputs = "inputs:\n  pw: {secret: true, env: HZ_SECRET}\n"
    return flow_text(base_url=base, inputs=inputs, steps=steps)


GET_FORM = """<title>sign in</title>
<form method=get action=/got onsubmit="fetch('/api', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({value: document.getElementById('pw').value})})">
<input id=pw name=pw aria-label=Password><button id=go>Go</button></form>"""


def test_trace_report_and_errors_hold_no_encoded_secret(webmem_cli, tmp_path: Path, hostile) -> None:
    hostile.pages["/"] = GET_FORM
    hostile.pages["/got"] = "<title>got</title><p>thanks</p>"
    flow = tmp_path / "f.yaml"
    flow.write_text(secret_flow(hostile.url, "  - goto: /\n" + FILL_PW +
                                "  - click: {target: {intent: go, selectors: ['css=#go']}}\n"
                                "    expect: {url: /never}\n"))
    proc = webmem_cli("run", str(flow), "--heal", "off", "--trace", str(tmp_path / "trace"),
                      "--report", str(tmp_path / "r.json"), env={"HZ_SECRET": SECRET})
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the form was sent: committed, unconfirmed
    assert "/got" in proc.stdout + proc.stderr  # the error quotes the URL the form went to ...
    assert not leaks(proc.stdout + proc.stderr), proc.stdout + proc.stderr  # ... without the secret
    assert not leaks((tmp_path / "r.json").read_bytes())
    assert any(b"hunter2" in body or b"hunter2" in path.encode() for _, path, body in hostile.requests)  # it was sent
    assert not leaks(trace_bytes(tmp_path / "trace"))


@pytest.mark.parametrize("field", ["<input id=pw maxlength=4>",
                                   "<input id=pw oninput=\"this.value = this.value.toUpperCase()\">"])
def test_read_back_error_never_echoes_a_secret_field(webmem_cli, tmp_path: Path, hostile, field: str) -> None:
    hostile.pages["/"] = f"<title>x</title><label for=pw>Password</label>{field}"
    flow = tmp_path / "f.yaml"
    flow.write_text(secret_flow(hostile.url, "  - goto: /\n" + FILL_PW))
    proc = webmem_cli("run", str(flow), "--heal", "off", "--report", str(tmp_path / "r.json"),
                      env={"HZ_SECRET": "hunter2"})
    text = proc.stdout + proc.stderr + (tmp_path / "r.json").read_text()
    assert proc.returncode == 1 and "does not hold the secret value" in text, text
    assert "hunt" not in text.lower(), text


def test_do_hit_trace_is_scrubbed_of_the_flows_own_secrets(webmem_cli, tmp_path: Path, portal) -> None:
    store, env = tmp_path / "store", {"PORTAL_PASSWORD": "demo-pass-123"}
    learn = webmem_cli("do", portal.url + "/login", "--task", "Sign in as demo", "-i", "username=demo",
                       "--secret", "password=PORTAL_PASSWORD", "--store", str(store), env=env)
    assert learn.returncode == 0, learn.stdout + learn.stderr
    hit = webmem_cli("do", portal.url + "/login", "--task", "Sign in as demo", "-i", "username=demo",
                     "--store", str(store), "--trace", str(tmp_path / "trace"), env=env)
    assert hit.returncode == 0 and "hit" in hit.stdout, hit.stdout + hit.stderr
    assert b"demo-pass-123" not in trace_bytes(tmp_path / "trace")


def test_recording_a_get_form_keeps_no_typed_query_values(page: Page, hostile) -> None:
    hostile.pages["/"] = """<title>search</title><form method=get action=/results>
      <input id=q name=q aria-label=Query><input id=pw name=pw type=password aria-label=Password>
      <button id=go>Search</button></form>"""
    hostile.pages["/results"] = "<title>results</title><h1>Results</h1>"
    from webmem.flow.model import InputSpec

    rec = Recorder(page, name="s", task="search", specs={"q": InputSpec(), "pw": InputSpec(secret=True)},
                   inputs={"q": "zebra", "pw": "hunter2~x"}, base_url=hostile.url)
    rec.goto("/")
    rec.act("fill", page.locator("#q"), value="zebra")
    rec.act("fill", page.locator("#pw"), value="{{ pw }}")
    rec.act("click", page.locator("#go"))
    assert "hunter2" in page.url and "zebra" in page.url
    text = dump_flow(rec.flow())
    assert "url: /results" in text
    assert "hunter2" not in text and "zebra" not in text.replace("{{ q }}", ""), text


def test_inputs_hide_secrets_in_their_repr() -> None:
    from webmem.flow.flowfile import parse_flow

    flow, _ = parse_flow(secret_flow("http://127.0.0.1:9", "  - goto: /\n"))
    values = resolve_inputs(flow, {"pw": "hunter2"})
    assert values == {"pw": "hunter2"} and "hunter2" not in repr(values) and "hunter2" not in str(values)
    assert "hunter2" not in repr(Secrets({"pw": "hunter2", "x": 1}, {"pw"}))


PYTEST_FLOW_TEST = """
import os
def test_uses_a_secret(webmem):
    webmem.run("f.yaml", inputs={"pw": os.environ["HZ_SECRET"]}, base_url=12345)  # a bug: not a URL

def test_traced(webmem):
    report = webmem.run("f.yaml", inputs={"pw": os.environ["HZ_SECRET"]})
    assert report.passed, report.error
"""


def test_pytest_tracebacks_and_pytest_playwright_traces_hold_no_secret(pytester: pytest.Pytester, hostile,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.pages["/"] = GET_FORM
    hostile.pages["/got"] = "<title>got</title><p>thanks</p>"
    pytester.makefile(".yaml", f=secret_flow(hostile.url, "  - goto: /\n" + FILL_PW +
                      "  - click: {target: {intent: go, selectors: ['css=#go']}}\n    expect: {url: /got}\n"))
    pytester.makepyfile(test_secret=PYTEST_FLOW_TEST)
    monkeypatch.setenv("HZ_SECRET", SECRET)
    pytester.makeini("[pytest]\nwebmem_browser = true\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--tb=long", "--tracing", "on",
                                           "--output", str(pytester.path / "results"), timeout=240)
    text = "\n".join(result.outlines + result.errlines)
    result.assert_outcomes(passed=2, failed=1)  # f.yaml is collected as a flow test too
    assert "inputs = {'pw': «secret»}" in text or "values = {'pw': «secret»}" in text, text
    assert not leaks(text), text
    traces = pytester.path / "results"
    assert len(list(traces.rglob("*.zip"))) == 3  # the flow test f.yaml reads the secret from $HZ_SECRET
    assert not leaks(trace_bytes(traces))
    json.dumps(text)


# ---- issue 22 ----------------------------------------------------------------------------------------------


def written_leaks(folder: Path, *also: str) -> dict[str, list[str]]:
    """Every file under `folder` (flows, reports, journals, statistics, index, logs; zips such as traces
    unpacked) that holds the secret in any encoding `leaks` knows, or one of `also` (any letter case): file ->
    what was found."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                data = b"\n".join(name.encode() + b"\n" + z.read(name) for name in z.namelist())
        if hits := leaks(data) + [a for a in also if a.lower().encode() in data.lower()]:
            found[str(path.relative_to(folder))] = hits
    return found


def test_a_secret_cut_by_maxlength_is_hidden_as_cut_in_the_trace(webmem_cli, tmp_path: Path, hostile) -> None:
    """A field with maxlength=6 holds the secret's first six characters: the trace's DOM snapshots, the
    report and the output hide that prefix too."""
    hostile.pages["/"] = "<title>x</title><label for=pw>Password</label><input id=pw maxlength=6>"
    flow = tmp_path / "f.yaml"
    flow.write_text(secret_flow(hostile.url, "  - goto: /\n" + FILL_PW))
    proc = webmem_cli("run", str(flow), "--heal", "off", "--report", str(tmp_path / "r.json"),
                      "--trace", str(tmp_path / "trace"), env={"HZ_SECRET": "hunter2~x"})
    assert proc.returncode == 1 and "does not hold the secret value" in proc.stdout + proc.stderr
    written = trace_bytes(tmp_path / "trace") + (tmp_path / "r.json").read_bytes()
    assert b"hunter" not in written.lower() and b"hunt" not in (proc.stdout + proc.stderr).lower().encode()


def test_a_recording_writes_no_secret_anywhere(webmem_cli, tmp_path: Path, hostile) -> None:
    """`webmem do` on a miss records (the offline agent): the flow, the store's index and statistics, the
    trace and the output hold the secret in no encoding, nor the prefix a maxlength=6 field kept of it."""
    hostile.pages["/"] = ("<title>sign in</title><form method=post action=/in><label for=u>Username</label>"
                          "<input id=u name=u><label for=pw>Password</label><input id=pw name=pw type=password "
                          "maxlength=6><button>Sign in</button></form>")
    hostile.pages["/in"] = "<title>in</title><h1>Welcome</h1>"
    proc = webmem_cli("do", hostile.url + "/", "--task", "Sign in", "-i", "username=ada", "--secret",
                      "password=HZ_SECRET", "--store", str(tmp_path / "store"), "--agent", "heuristic",
                      "--trace", str(tmp_path / "trace"), env={"HZ_SECRET": SECRET})
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "learned" in text, text
    assert any(path == "/in" and b"hunter" in body for _, path, body in hostile.requests)  # it was typed
    assert list((tmp_path / "store").glob("*.yaml")) and list((tmp_path / "trace").glob("*.zip"))
    assert not written_leaks(tmp_path, "hunter") and not leaks(text), written_leaks(tmp_path, "hunter")


SIGNIN_LOGIN = """<title>login</title><h1>Sign in</h1><form method=post action=/in>
<label>User <input id=user name=user></label>
<label>Access code <input id=code name=code></label>
<label>Password <input id=pw name=pw type=password></label>
<button>Log in</button></form>"""
SIGNIN_FORM = """<title>notes</title><h1>Notes</h1><form method=post action=/done>
<label>Note <input id=note name=note></label><button>Save</button></form>"""


def test_a_sign_in_flows_secret_field_is_masked_in_every_screenshot(page: Page, hostile, tmp_path: Path,
                                                                     monkeypatch) -> None:
    hostile.pages["/login"] = SIGNIN_LOGIN
    hostile.pages["/form"] = SIGNIN_FORM
    hostile.pages["/home"] = "<title>home</title><p>hi</p>"
    rec = webmem.Recorder(page, name="login", task="Sign in",
                          inputs={"user": "ann", "code": "C0DE-1234-SECRET", "pw": "pw-secret"},
                          specs={"user": InputSpec(default="ann"), "code": InputSpec(secret=True, env="T_CODE"),
                                 "pw": InputSpec(secret=True, env="T_PW")})
    rec.goto(hostile.url + "/login")
    rec.fill(page.get_by_label("User"), "{{ user }}")
    rec.fill(page.get_by_label("Access code"), "{{ code }}")
    rec.fill(page.get_by_label("Password"), "{{ pw }}")
    rec.click(page.get_by_role("button", name="Log in"))
    login = tmp_path / "login.yaml"
    webmem.save_flow(rec.flow(), login)

    rec = webmem.Recorder(page, name="note", task="Note {{ note }}", inputs={"note": "x"}, specs={"note": InputSpec()})
    rec.goto(hostile.url + "/form")
    rec.fill(page.get_by_label("Note"), "{{ note }}")
    rec.click(page.get_by_role("button", name="Save"))
    main = tmp_path / "note.yaml"
    webmem.save_flow(rec.flow(), main)

    monkeypatch.setenv("T_CODE", "C0DE-1234-SECRET")
    monkeypatch.setenv("T_PW", "pw-secret")
    # replay: /form sends the browser to sign in; the login page's button is gone (the sign-in flow fails at it)
    hostile.redirects["/form"] = (302, "/login?next=/form")
    hostile.pages["/login"] = SIGNIN_LOGIN.replace("<button>Log in</button>", "")
    shots: list[tuple[str, bool]] = []
    real = Page.screenshot

    def spy(self, **kw):  # the real screenshot, after noting what it was told to mask
        masks = kw.get("mask") or []
        code_masked = any(m.evaluate_all("(els) => els.some((e) => e.id === 'code')") for m in masks)
        if self.locator("#code").count():
            shots.append((str(kw.get("path")), code_masked, self.input_value("#code")))
        return real(self, **kw)

    monkeypatch.setattr(Page, "screenshot", spy)
    report = webmem.replay(page, main, {"note": "hello"}, sign_in=str(login), artifacts=tmp_path / "art")
    assert not report.passed and shots, (report.error, shots)  # the sign-in failed on its page: shots of it
    leaked = [s for s in shots if s[2] and not s[1]]
    assert not leaked, shots
