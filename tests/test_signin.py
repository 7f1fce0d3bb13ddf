"""Sessions and sign-in (issue 20): a sign-in flow runs where a page asks to sign in, a batch worker signs in
once, an expired session signs in again, a storage state carries a session between processes, the offline
agent signs in and reaches the form, and a login page is named as one. Real Chromium, the demo portal's
login-protected members form; logins are counted by the portal, records judged by its store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from webmem.cache.memory import Memory
from webmem.demo_site.app import DEMO_PASSWORD
from webmem.demo_site.server import PortalServer
from webmem.flow.flowfile import load_flow
from webmem.flow.format import Flow
from webmem.flow.model import Expect
from webmem.playback.replayer import Replayer
from webmem.playback.signin import HINT

from .batch_helpers import FAST_CONFIG, run_batch, write_csv
from .signin_flows import MEMBER_FLOW
from .test_pytest_plugin import PORTAL_CONFTEST

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SIGN_IN = ROOT / "flows" / "sign-in.yaml"  # hand-written: username default demo, password from $PORTAL_PASSWORD


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_PASSWORD", DEMO_PASSWORD)


VERIFY_MEMBER = """
verify:
  steps:
    - goto: /members
    - expect:
        text: '{{ email }}'
"""


def members(portal: PortalServer) -> list[str]:
    return sorted(s["data"]["email"] for s in portal.submissions("member"))


def no_password_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert DEMO_PASSWORD.encode() not in path.read_bytes(), path


def member_flow(folder: Path) -> Path:
    path = folder / "add-member.yaml"
    path.write_text(MEMBER_FLOW, encoding="utf-8")
    return path


def test_replay_signs_in_where_the_login_page_shows_once_per_step(page: Page, browser: Browser, portal: PortalServer,
                                                                   tmp_path: Path) -> None:
    flow = member_flow(tmp_path)
    # no sign-in flow: the error names the login page, not the missing field
    bare = Replayer(base_url=portal.url).run(page, flow, {"name": "Ann", "email": "ann@example.com"})
    assert not bare.passed and bare.error is not None and HINT in bare.error, bare.error
    assert "the page is a sign-in page" in bare.error.split("no selector")[0]
    replayer = Replayer(base_url=portal.url, sign_in=SIGN_IN, storage_state=tmp_path / "state.json")
    first = replayer.run(page, flow, {"name": "Ann", "email": "ann@example.com"})
    assert first.passed and first.signed_in == 1, first.error
    again = replayer.run(page, flow, {"name": "Bob", "email": "bob@example.com"})
    assert again.passed and again.signed_in == 0  # the session is kept: no second sign-in
    portal.expire_sessions()
    expired = replayer.run(page, flow, {"name": "Cy", "email": "cy@example.com"})
    assert expired.passed and expired.signed_in == 1, expired.error
    assert portal.logins == 2 and members(portal) == ["ann@example.com", "bob@example.com", "cy@example.com"]
    # the storage state a sign-in saved starts another context signed in
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["cookies"]
    ctx = browser.new_context(storage_state=str(tmp_path / "state.json"))
    try:
        other = Replayer(base_url=portal.url).run(ctx.new_page(), flow, {"name": "Di", "email": "di@example.com"})
    finally:
        ctx.close()
    assert other.passed and portal.logins == 2
    no_password_in(tmp_path)


def test_a_session_that_ends_in_the_middle_of_a_form_stops_before_it_is_sent(page: Page, portal: PortalServer,
                                                                               tmp_path: Path) -> None:
    """The name was typed, then the portal's idle timeout sent the page to its login: signing in again brings
    back an empty form, and going on would send it without the name. The run signs in and stops there."""
    flow = member_flow(tmp_path)

    def time_out(index: int) -> None:
        if index == 2:  # before the e-mail step: the session is gone and the page is at the login
            portal.expire_sessions()
            page.goto(portal.url + "/members/new")

    replayer = Replayer(base_url=portal.url, sign_in=SIGN_IN, on_step_start=time_out)
    report = replayer.run(page, flow, {"name": "Ann", "email": "ann@example.com"})
    assert report.status == "failed" and report.signed_in == 2, report  # at the start, and again mid-form
    assert "the session ended in the middle of page 'members-new'" in (report.error or ""), report.error
    assert report.steps[2].status == "failed" and not report.steps[2].acted
    assert members(portal) == [] and page.url.endswith("/members/new")  # signed in again, nothing sent
    again = Replayer(base_url=portal.url, sign_in=SIGN_IN).run(page, flow, {"name": "Ann", "email": "ann@example.com"})
    assert again.passed and members(portal) == ["ann@example.com"], again.error


def test_a_flow_that_starts_by_signing_in_skips_it_when_signed_in(page: Page, portal: PortalServer,
                                                                  tmp_path: Path) -> None:
    """A hand-merged sign-in + add flow: signed in already, the login page redirects away; its steps are
    skipped, not failed (and the row not retried)."""
    login, member = load_flow(SIGN_IN).flow, load_flow(member_flow(tmp_path)).flow
    goto, fill_user, fill_password, click = login.steps  # a login that sends on to the form (`next=`)
    goto = goto.model_copy(update={"goto": "/login?next=/members/new"})
    click = click.model_copy(update={"expect": Expect(url="/members/new")})
    merged = Flow(name="sign-in-and-add", task="Sign in and add a member", inputs={**login.inputs, **member.inputs},
                  pages={**login.pages, **member.pages},
                  steps=[goto, fill_user, fill_password, click, *member.steps[1:]])
    replayer = Replayer(base_url=portal.url)
    first = replayer.run(page, merged, {"name": "Eve", "email": "eve@example.com"})
    assert first.passed, first.error
    second = replayer.run(page, merged, {"name": "Fay", "email": "fay@example.com"})
    assert second.passed, second.error
    assert [s.status for s in second.steps][1:4] == ["skipped"] * 3
    assert portal.logins == 1 and members(portal) == ["eve@example.com", "fay@example.com"]


def test_offline_agent_signs_in_then_reaches_the_form(page: Page, portal: PortalServer, tmp_path: Path) -> None:
    # given nothing to sign in with, the task on a protected page says the page is a sign-in page
    signed_out = Memory(tmp_path / "none", agent="heuristic").do(
        page, "Add a member", {"name": "Gil", "email": "gil@example.com"}, url=portal.url + "/members/new")
    assert signed_out.status == "failed" and HINT in (signed_out.error or ""), signed_out.error
    memory = Memory(tmp_path / "flows", agent="heuristic")
    inputs = {"username": "demo", "password": DEMO_PASSWORD, "name": "Gil", "email": "gil@example.com"}
    done = memory.do(page, "Add a member", inputs, url=portal.url + "/login?next=/members",
                     secrets={"password": "PORTAL_PASSWORD"})
    assert done.status == "learned", done.error
    assert members(portal) == ["gil@example.com"]
    # signed in, the login sends to the records list: nothing there reads like the task, and it says so
    page.context.clear_cookies()
    refused = Memory(tmp_path / "other", agent="heuristic").do(
        page, "Add a member", {**inputs, "email": "hal@example.com"}, url=portal.url + "/login",
        secrets={"password": "PORTAL_PASSWORD"})
    assert refused.status == "failed" and "refusing to guess" in (refused.error or ""), refused.error
    assert "reads like the task" in (refused.error or "")
    assert members(portal) == ["gil@example.com"] and not list((tmp_path / "other").glob("*.yaml"))
    no_password_in(tmp_path)


def test_cli_do_sign_in_then_do_add_in_a_second_process(portal: PortalServer, tmp_path: Path, webmem_cli) -> None:
    """The issue's command line: `do` learns the sign-in; a second `do`, a fresh process, lands on the login
    page, signs in by itself, goes back and learns the task on the real form."""
    (tmp_path / "webmem.json").write_text(FAST_CONFIG, encoding="utf-8")
    env = {"PORTAL_PASSWORD": DEMO_PASSWORD}
    learn = webmem_cli("do", portal.url + "/login", "--task", "Sign in to the portal", "-i", "username=demo",
                       "--secret", "password=PORTAL_PASSWORD", "--agent", "heuristic", cwd=tmp_path, env=env)
    assert learn.returncode == 0, learn.stdout + learn.stderr
    add = webmem_cli("do", portal.url + "/members/new", "--task", "Add a member", "-i", "name=Ida",
                     "-i", "email=ida@example.com", "--agent", "heuristic", "--report", "r.json",
                     "--sign-in", "flows/sign-in-to-the-portal.yaml", "--storage-state", "state.json",
                     cwd=tmp_path, env=env)
    assert add.returncode == 0, add.stdout + add.stderr
    assert "sign-in page: signing in" in add.stdout and "learned" in add.stdout
    assert members(portal) == ["ida@example.com"] and portal.logins == 2
    flow = (tmp_path / "flows" / "add-a-member.yaml").read_text()
    assert "/members/new" in flow and "Username" not in flow  # learned on the real form, not the login page
    assert json.loads((tmp_path / "state.json").read_text())["cookies"]
    no_password_in(tmp_path)


def test_batch_signs_in_once_per_worker(portal: PortalServer, tmp_path: Path) -> None:
    """Even across the fresh context after a failed row: a worker keeps the session its sign-in made."""
    flow = member_flow(tmp_path)
    flow.write_text(flow.read_text() + VERIFY_MEMBER, encoding="utf-8")
    (tmp_path / "webmem.json").write_text(FAST_CONFIG, encoding="utf-8")
    rows = [{"id": f"m{i}", "name": f"Member {i}", "email": f"m{i}@example.com"} for i in range(1, 7)]
    write_csv(tmp_path / "rows.csv", rows)
    portal.set_faults([{"match": "m3@", "mode": "error"}])  # a 500, nothing stored: verified, entered again
    r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, "--workers", "2",
                  "--sign-in", str(SIGN_IN), "--storage-state", "state.json",
                  extra_env={"PORTAL_PASSWORD": DEMO_PASSWORD})
    assert r.returncode == 0, r.stdout + r.stderr
    assert members(portal) == sorted(row["email"] for row in rows)
    assert "row 3 (m3) done (attempt 2)" in r.stdout, r.stdout
    workers = _signed_in_by_worker(tmp_path / "rows.journal.sqlite")
    assert portal.logins == len(workers) and all(n == 1 for n in workers.values()), workers
    assert json.loads((tmp_path / "state.json").read_text())["cookies"]
    no_password_in(tmp_path)


def test_batch_signs_in_again_when_the_session_expires_and_loses_no_row(portal: PortalServer,
                                                                          tmp_path: Path) -> None:
    flow = member_flow(tmp_path)
    (tmp_path / "webmem.json").write_text(FAST_CONFIG, encoding="utf-8")
    rows = [{"id": f"x{i}", "name": f"Expiry {i}", "email": f"x{i}@example.com"} for i in range(1, 6)]
    write_csv(tmp_path / "rows.csv", rows)
    portal.expire_sessions(after=2)  # the session ends as the 2nd record is stored (its confirmation: a login)
    r = run_batch(tmp_path, str(flow), "rows.csv", "--base-url", portal.url, "--sign-in", str(SIGN_IN),
                  extra_env={"PORTAL_PASSWORD": DEMO_PASSWORD})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 done, 0 failed, 0 uncertain" in r.stdout
    assert members(portal) == sorted(row["email"] for row in rows)  # each exactly once
    assert portal.logins == 2
    no_password_in(tmp_path)


def _signed_in_by_worker(journal: Path) -> dict[str, int]:
    import sqlite3

    db = sqlite3.connect(journal)
    try:
        found: dict[str, int] = {}
        for (evidence,) in db.execute("SELECT evidence FROM batch_rows"):
            ev = json.loads(evidence)
            found[ev["worker"]] = found.get(ev["worker"], 0) + ev.get("signed_in", 0)
        return found
    finally:
        db.close()


PLUGIN_CONFTEST = PORTAL_CONFTEST

PLUGIN_TESTS = '''
def test_first(webmem):
    report = webmem.run("add-member.yaml", {"name": "Jo", "email": "jo@example.com"}, check=True)
    assert report.signed_in == 1


def test_second_starts_from_the_saved_session(webmem, portal):
    report = webmem.run("add-member.yaml", {"name": "Kim", "email": "kim@example.com"}, check=True)
    assert report.signed_in == 0 and portal.logins == 1
'''


def test_pytest_plugin_signs_in_and_keeps_the_session(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makeini("[pytest]\nwebmem_browser = true\n")
    member_flow(pytester.path)
    (pytester.path / "sign-in.yaml").write_text(SIGN_IN.read_text(encoding="utf-8"), encoding="utf-8")
    pytester.makepyfile(test_members=PLUGIN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_members.py", "--webmem-sign-in",
                                           "sign-in.yaml", "--webmem-storage-state", "state.json", timeout=240)
    result.assert_outcomes(passed=2)
    assert json.loads((pytester.path / "state.json").read_text())["cookies"]
    no_password_in(pytester.path)
