"""Issue 22 (the in-page helper can be hijacked) and issue 23 items 3 and 5: webmem's in-page code runs in a
world of its own on Chromium, so a page that replaces `window.__webmem`'s functions or the DOM's natives can
neither crash it nor steer it; the element acted on is the one verified; the fallbacks that make no use of
Playwright's private API (or of an isolated world at all) are exercised too."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from playwright.sync_api import Page

from webmem.browser.config import Timeouts
from webmem.flow.flowfile import parse_flow
from webmem.page import inpage
from webmem.playback.run import RunOptions, run_flow

from .test_hostile_files import flow_text

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

SAVE = ("  - goto: /\n  - fill:\n      target:\n        intent: the name field\n"
        "        selectors: ['role=textbox[name=\"Name\"]', 'css=#n']\n"
        "        fingerprint: {tag: input, type: text, role: textbox, name: Name, label: Name, "
        "attrs: {id: n, name: n}, context: form /saved}\n      value: Ada\n"
        "  - click:\n      target:\n        intent: the Save button\n"
        "        selectors: ['role=button[name=\"Save\"]']\n"
        "        fingerprint: {tag: button, role: button, name: Save, text: Save, context: form /saved}\n"
        "    expect: {url: /saved}\n")
FORMS = ("<form method=post action=/saved><label for=n>Name</label><input id=n name=n>"
         "<button>Save</button></form>"
         "<form method=post action=/evil><input type=hidden name=stolen value=1>"
         "<button id=decoy>Go</button></form>")

# the page takes hold of the helpers the moment they are put on window: the Save button's path leads to the decoy
HIJACK_HELPERS = """<script>(() => {
  let w;
  const steer = (W) => {
    const path = W.uniquePath;
    W.uniquePath = (el) => (el.textContent === 'Save' ? '#decoy' : path(el));
    return W;
  };
  Object.defineProperty(window, '__webmem', { configurable: true, get: () => w,
    set: (v) => { w = v && typeof v === 'object' ? steer(v) : v; } });
})();</script>"""
# the page's natives replaced before and after load, as Polymer's shadow-DOM shim and worse do
NATIVES = {
    "array-like querySelectorAll": """
      for (const P of [Element.prototype, Document.prototype, DocumentFragment.prototype]) {
        const qsa = P.querySelectorAll;
        P.querySelectorAll = function (s) {
          const found = qsa.call(this, s), out = { length: found.length };
          for (let i = 0; i < found.length; i++) out[i] = found[i];
          return out;
        };
      }""",
    "iterators, Array.from and JSON.stringify": """
      NodeList.prototype[Symbol.iterator] = undefined;
      HTMLCollection.prototype[Symbol.iterator] = undefined;
      Array.from = () => { throw new TypeError('Array.from is not yours'); };
      JSON.stringify = () => '"lies"';""",
    "a lying querySelectorAll": """
      const qsa = Element.prototype.querySelectorAll, dqsa = Document.prototype.querySelectorAll;
      Element.prototype.querySelectorAll = function () { return qsa.call(this, '#decoy'); };
      Document.prototype.querySelectorAll = function () { return dqsa.call(this, '#decoy'); };
      Element.prototype.querySelector = function () { return document.getElementById('decoy'); };""",
}


def _page(natives: str) -> str:
    return (f"<title>s</title><script>(() => {{ const spoil = () => {{ {natives} }}; spoil(); "
            "addEventListener('load', spoil); })();</script>" + FORMS)


def _saved_only(hostile) -> None:
    posts = [path for method, path, _ in hostile.requests if method == "POST"]
    assert "/evil" not in posts, posts
    assert posts == ["/saved"], posts
    assert any(b"n=Ada" in body for method, path, body in hostile.requests if path == "/saved")


def _serve(hostile, head: str) -> None:
    hostile.requests.clear()
    hostile.pages["/"] = head + FORMS
    hostile.pages["/saved"] = "<title>saved</title><p>saved</p>"
    hostile.pages["/evil"] = "<title>evil</title><p>thanks</p>"


def test_a_page_that_takes_hold_of_the_helpers_cannot_redirect_the_verified_click(page: Page, hostile) -> None:
    _serve(hostile, "<title>s</title>" + HIJACK_HELPERS)
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=SAVE))
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url))
    assert report.passed, report.error
    _saved_only(hostile)


@pytest.mark.parametrize("spoiled", list(NATIVES))
def test_replaced_natives_neither_crash_nor_steer_the_probes(page: Page, hostile, spoiled: str) -> None:
    _serve(hostile, "")
    hostile.pages["/"] = _page(NATIVES[spoiled])
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=SAVE))
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url))
    assert report.passed, report.error
    _saved_only(hostile)
    # what the helpers see of the page is the page as it is (its own querySelectorAll lies)
    assert inpage.call(page, "visibleText") == "saved"


# the page swaps the verified Save button for a look-alike posting elsewhere the moment webmem looks at it: its
# helpers called (where they share the page's world) or the button marked for the action
SWAP = """<script>(() => {
  const swap = () => {
    const real = document.querySelector('form[action="/saved"] button');
    if (!real || real.dataset.swapped) return;
    const twin = real.cloneNode(true);
    twin.dataset.swapped = '1';
    twin.setAttribute('formaction', '/evil');
    real.replaceWith(twin);
  };
  let w;
  Object.defineProperty(window, '__webmem', { configurable: true, get: () => w, set: (v) => {
    w = v;
    if (!v || !v.inspect) return;
    const inspect = v.inspect;
    v.inspect = (els, o) => {
      const r = inspect(els, o);
      if (els.some((el) => el.textContent === 'Save')) setTimeout(swap);
      return r;
    };
  } });
  addEventListener('DOMContentLoaded', () => new MutationObserver((records) => {
    if (records.some((r) => r.target.textContent === 'Save' && r.attributeName.startsWith('data-webmem'))) swap();
  }).observe(document.body, { subtree: true, attributes: true }));
})();</script>"""


def test_an_element_swapped_after_it_was_verified_is_refused_not_clicked(page: Page, hostile) -> None:
    _serve(hostile, "<title>s</title>" + SWAP)
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=SAVE))
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url, timeouts=Timeouts(action=1000)))
    assert not any(path == "/evil" for method, path, _ in hostile.requests if method == "POST"), hostile.requests
    assert not report.passed
    assert inpage.LOST_HOLD in (report.error or ""), report.error


@pytest.mark.parametrize("mode", ["public", "main"])
def test_the_fallbacks_forced(page: Page, hostile, monkeypatch, mode: str) -> None:
    """WEBMEM_INPAGE=public: the isolated world through Playwright's public CDP call only (what a Playwright
    whose insides changed gets); =main: the page's own world, the path of browsers without CDP."""
    monkeypatch.setenv(inpage.ENV, mode)
    _serve(hostile, "")
    hostile.pages["/"] = _page(NATIVES["array-like querySelectorAll"])
    flow, _ = parse_flow(flow_text(base_url=hostile.url, steps=SAVE))
    report = run_flow(page, flow, {}, RunOptions(base_url=hostile.url))
    assert report.passed, report.error
    _saved_only(hostile)
    assert inpage.isolated(page) is (mode == "public")
    if mode == "public":
        assert inpage._SESSIONS[page].wire.gone is None  # noqa: SLF001 - the private path is really off


def test_playwright_is_in_the_declared_range_with_the_insides_the_adapter_uses(page: Page, hostile) -> None:
    """pyproject.toml declares the Playwright versions webmem runs on (its floor is the one CI installs): one
    outside that range fails here by name. And the installed one has the insides `inpage._Wire` uses (its
    private path: a crash noticed during a call); where they differ, webmem falls back (as the test above forces)
    but this test says so, instead of a quietly slower, less careful bridge."""
    spec = next(Requirement(d) for d in tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
                ["dependencies"] if Requirement(d).name == "playwright")
    installed = metadata.version("playwright")
    assert spec.specifier.contains(installed, prereleases=True), (
        f"Playwright {installed} is installed, outside the range pyproject.toml declares ({spec}): install one "
        "in the range, or test webmem on this one (tests/test_hostile_inpage.py) and widen it")
    _serve(hostile, "")
    page.goto(hostile.url + "/")
    inpage.call(page, "version")
    assert inpage.isolated(page)
    assert inpage._SESSIONS[page].wire.gone is not None, (  # noqa: SLF001 - the adapter's choice is the test
        f"Playwright {installed}'s insides are not what webmem's adapter uses (inpage.private_api: `_loop`, `_sync`, "
        "`_impl_obj.send`): webmem runs on the public fallback; look at inpage._Wire before declaring this version")
