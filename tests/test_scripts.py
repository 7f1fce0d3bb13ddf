"""Playwright users at home: a codegen script or a pytest-playwright test imported into a flow (read with `ast`,
carried out once through the Recorder on the live portal), and a flow exported as a plain pytest-playwright test
that passes on the page it was learned on (run with pytest in its own process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from webmem import ImportResult, ScriptError, export_flow, import_script, replay, save_flow
from webmem.browser.config import load_settings
from webmem.browser.launch import find_browser, launch_args
from webmem.demo_site import DEMO_PASSWORD
from webmem.script.importer import parse_script

SCRIPTS = Path(__file__).parent / "scripts"

# script -> (inputs given with -i, the kind of submission it makes, what that submission holds)
CUSTOMER = ({"full_name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}, "customer",
            {"full_name": "Ada Lovelace", "plan": "pro", "contact": "phone"})  # imported by the round trip below
CASES = {
    "codegen_wizard.py": ({"company": "Analytical Engines Ltd", "country": "gb", "contact_name": "Charles Babbage",
                           "phone": "+44 20 7946 0000"}, "wizard", {"company": "Analytical Engines Ltd"}),
    "codegen_contact.py": ({"name": "Grace Hopper", "email": "grace@example.com", "role": "editor"}, "contact",
                           {"name": "Grace Hopper", "role": "editor"}),
    "codegen_document.py": ({"title": "Quarterly report", "document": str(SCRIPTS / "report.txt")}, "document",
                            {"title": "Quarterly report"}),
    "pw_member.py": ({"full_name": "Alan Turing", "email": "alan@example.com"}, "customer",
                     {"full_name": "Alan Turing", "plan": "enterprise", "vip": "yes"}),
}


def script_for(portal, tmp_path: Path, name: str, text: str | None = None) -> Path:
    """The script as codegen wrote it against this portal (its address is the test server's)."""
    path = tmp_path / name
    path.write_text((text or (SCRIPTS / name).read_text()).replace("PORTAL", portal.url))
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_a_codegen_script_imports_through_the_recorder(name: str, page: Page, portal, tmp_path: Path) -> None:
    values, kind, landed = CASES[name]
    check_import(import_script(page, script_for(portal, tmp_path, name), values), values, kind, landed, portal)


def check_import(result: ImportResult, values: dict[str, str], kind: str, landed: dict[str, str], portal) -> None:
    flow = result.flow
    assert result.skipped == []
    text = flow.model_dump_json()
    for key in values:  # each value given became its placeholder; no literal left in the flow
        assert "{{ " + key + " }}" in text, key
        assert str(values[key]) not in text.replace(portal.url, ""), key
    targets = [s.target for s in flow.steps if s.target is not None]
    assert targets and all(t.fingerprint is not None and t.selectors for t in targets)  # real, learned on the page
    assert all(p.signature is not None for p in flow.pages.values())
    assert not any(s.action == "click" and s.target and s.target.fingerprint.role == "textbox"
                   for s in flow.steps)  # codegen's focusing clicks are left out
    subs = portal.submissions(kind)
    assert len(subs) == 1 and all(subs[0]["data"][k] == v for k, v in landed.items())


def test_the_login_script_keeps_the_password_secret(page: Page, portal, tmp_path: Path) -> None:
    # a line that cannot be translated quotes the password as the script types it: never in an error or the list
    typed = '    page.get_by_label("Password").fill("demo-pass-123")\n'
    text = (SCRIPTS / "codegen_login.py").read_text().replace(typed, typed.replace("fill", "type") + typed)
    script = script_for(portal, tmp_path, "codegen_login.py", text)
    values, secrets = {"username": "demo", "password": DEMO_PASSWORD}, {"password": "PORTAL_PASSWORD"}
    with pytest.raises(ScriptError, match=r"line 14: .*type\(\) is not translated") as refused:
        import_script(page, script, values, secrets=secrets)
    assert DEMO_PASSWORD not in str(refused.value)
    result = import_script(page, script, values, secrets=secrets, allow_skips=True)
    assert len(result.skipped) == 1 and DEMO_PASSWORD not in result.skipped[0], result.skipped
    text = result.flow.model_dump_json()
    assert DEMO_PASSWORD not in text and "{{ password }}" in text
    steps = result.flow.steps
    assert [s.action for s in steps] == ["goto", "fill", "press", "fill", "press", "expect"]
    # to_have_url is what the Enter's step expects already (kept once); the title is a step of its own
    assert steps[4].expect is not None and steps[4].expect.url == "/records"
    assert steps[5].expect is not None and steps[5].expect.title == "Records · Acme Portal"
    assert result.flow.inputs["password"].secret and result.flow.inputs["password"].env == "PORTAL_PASSWORD"
    assert portal.logins == 1


UNTRANSLATABLE = '''from playwright.sync_api import Page, expect


def test_odd(page: Page) -> None:
    page.goto("PORTAL/contacts")
    page.once("dialog", lambda dialog: dialog.dismiss())
    for name in ["a", "b"]:
        page.get_by_label("Name").fill(name)
    page.frame_locator("#f").get_by_role("button").click()
    page.get_by_role("button", name=NAME).click()
    page.get_by_role("button", name="Add contact").dblclick()
    expect(page.get_by_role("heading")).to_be_visible()
    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="Help").click()
    page.get_by_role("button", name="Add contact").click()
'''


def test_what_cannot_be_translated_is_named_by_line(page: Page, portal, tmp_path: Path) -> None:
    actions, skipped = parse_script(UNTRANSLATABLE)
    assert [a.kind for a in actions] == ["goto", "click"]
    assert [s.split(":")[0] for s in skipped] == [f"line {n}" for n in (6, 7, 9, 10, 11, 12, 13)]
    assert "frame" in skipped[2] and "literal" in skipped[3] and "dblclick" in skipped[4] and "with" in skipped[6]
    path = script_for(portal, tmp_path, "test_odd.py", UNTRANSLATABLE)
    with pytest.raises(ScriptError, match=r"(?s)cannot translate.*line 6: page\.once.*line 13: with"):
        import_script(page, path)  # refused before any browser work
    assert page.url == "about:blank"
    result = import_script(page, path, allow_skips=True)  # or: the rest imported, the lines listed
    assert len(result.skipped) == 7 and [s.action for s in result.flow.steps] == ["goto", "click"]


def test_round_trip_import_export_and_the_exported_test_passes(page: Page, portal, tmp_path: Path) -> None:
    values, kind, landed = CUSTOMER
    imported = import_script(page, script_for(portal, tmp_path, "codegen_customer.py"), values)
    check_import(imported, values, kind, landed, portal)
    flow = imported.flow
    save_flow(flow, tmp_path / "customer.yaml")
    # the imported flow replays with new values (and no model)
    report = replay(page, tmp_path / "customer.yaml", {"full_name": "Bob Smith", "email": "bob@example.com",
                                                       "plan": "enterprise"}, heal="off")
    assert report.passed, report.error
    code = export_flow(flow, {"full_name": "Carl Sagan", "email": "carl@example.com", "plan": "free"})
    assert 'page.get_by_role("textbox", name="Full name", exact=True).fill(FULL_NAME)' in code
    assert 'page.get_by_role("button", name="Save customer", exact=True).click()' in code
    assert "webmem" not in code.split('"""')[2]  # a plain test: nothing of webmem is imported
    test = tmp_path / "test_exported.py"
    test.write_text(code)
    # the machine's Chromium, as a user's conftest names it (pytest-playwright's own launch arguments fixture)
    settings = load_settings()
    launch = {"executable_path": find_browser(settings), "args": launch_args(settings)}
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture(scope='session')\ndef browser_type_launch_args():\n"
        f"    return {launch!r}\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:webmem",
                          str(test), "--rootdir", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    names = [s["data"]["full_name"] for s in portal.submissions("customer")]
    assert names == ["Ada Lovelace", "Bob Smith", "Carl Sagan"]
