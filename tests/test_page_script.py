"""The in-page script (webmem/page/js/page.js) on pages nobody here wrote: odd DOMs, shadow roots and frames,
signatures from what a user sees, row fingerprints, wide candidates and row-scoped selectors. Real Chromium."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import psutil
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from webmem.page import inpage, signature
from webmem.page.selector import locator, unique_selectors
from webmem.page.target import fingerprint_of

# a page that breaks iteration of DOM collections, Array.from and querySelectorAll (as Shadow DOM
# polyfills do: the result is an array-like, not a NodeList)
HOSTILE = """<script>
  NodeList.prototype[Symbol.iterator] = undefined;
  HTMLCollection.prototype[Symbol.iterator] = undefined;
  DOMTokenList.prototype[Symbol.iterator] = undefined;
  NodeList.prototype.forEach = undefined;
  Array.from = () => { throw new Error('Array.from is not yours'); };
  for (const proto of [Document.prototype, Element.prototype, DocumentFragment.prototype]) {
    const native = proto.querySelectorAll;
    proto.querySelectorAll = function (sel) {
      const found = native.call(this, sel), out = { length: found.length };
      for (let i = 0; i < found.length; i++) out[i] = found[i];
      return out;
    };
  }
</script>
<main><h1>Order</h1>
<form action="/order"><label for="qty">Quantity</label><input id="qty" name="q1" class="a b">
<label><input type="checkbox" name="gift"> Gift wrap</label>
<select name="size" aria-label="Size"><option>S</option><option>M</option></select>
<button>Place order</button></form>
<ul><li>one <button>Pick</button></li><li>two <button>Pick</button></li><li>three <button>Pick</button></li></ul>
</main>"""

OPTS = inpage.OPTS


def names(items: list[dict]) -> list[str | None]:
    return [i["fp"].get("name") for i in items]


def check_hostile(page: Page) -> None:
    # straight through page.evaluate: Playwright's own main-world selector engine trips on the wrapped
    # querySelectorAll, webmem's script must not
    sig = signature.capture(page)
    assert "textbox|quantity|input|text" in sig.tokens
    assert "rows|ul||3-5" in sig.tokens
    items = inpage.call(page, "(W, opts) => W.elements(opts)", OPTS)
    assert names(items)[:4] == ["Quantity", "Gift wrap", "Size", "Place order"]
    assert items[0]["fp"]["classes"] == ["a", "b"]
    infos = inpage.call(page, "(W, opts) => W.inspect([document.getElementById('qty')], opts)", OPTS)
    assert infos[0]["fp"]["label"] == "Quantity" and infos[0]["fp"]["order"] == 0
    cands = inpage.call(page, "(W, opts) => W.candidates(document.getElementById('qty'), opts)", OPTS)
    assert cands[:2] == ['role=textbox[name="Quantity"]', "label=Quantity"]
    assert cands[-2:] == ["css=body > main > form > input", "xpath=/html/body/main/form/input"]
    pick = inpage.call(page, "(W, opts) => W.candidates(document.querySelectorAll('li button')[1], opts)", OPTS)
    assert 'role=listitem >> has_text="two" >> role=button[name="Pick"]' in pick


def test_survives_odd_doms_installed_first(page: Page) -> None:
    # the context fixture installs the script before the page's own scripts run
    page.set_content(HOSTILE)
    assert page.evaluate("() => typeof NodeList.prototype[Symbol.iterator]") == "undefined"
    check_hostile(page)


@pytest.fixture
def bare_page(browser: Browser) -> Iterator[Page]:
    """A page of a context webmem did not set up: the script arrives after the page's own scripts."""
    ctx = browser.new_context()
    yield ctx.new_page()
    ctx.close()


def test_survives_odd_doms_installed_late(bare_page: Page) -> None:
    bare_page.set_content(HOSTILE)
    assert bare_page.evaluate("() => !!window.__webmem") is False
    check_hostile(bare_page)


def test_calls_answer_or_say_what_went_wrong(page: Page) -> None:
    # webmem's calls go over a CDP session on Chromium; a script error still surfaces as Playwright's
    page.set_content("<p>x</p>")
    assert inpage.call(page, "(W, a) => a.n + 1", {"n": 1, "s": "\u2028</script>'\""}) == 2
    assert inpage.call(page, "(W) => new Promise((r) => setTimeout(() => r('later'), 10))") == "later"
    with pytest.raises(PlaywrightError, match="boom"):
        inpage.call(page, "(W) => { throw new Error('boom') }")
    page.evaluate("() => { delete window.__webmem; }")  # a document without the helpers gets them
    assert inpage.call(page, "(W) => typeof W.signature") == "function"


def test_a_crashed_tab_fails_a_call_at_once(page: Page) -> None:
    """A CDP call to a crashed tab is never answered: webmem's calls fail as Playwright's own do, at once,
    whether the tab crashes before the call or while it waits."""
    page.set_content("<p>x</p>")
    assert inpage.call(page, "(W) => 1") == 1

    def crash() -> None:
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "--type=renderer" in " ".join(p.cmdline()):
                    p.kill()

    threading.Timer(0.5, crash).start()
    started = time.monotonic()
    with pytest.raises(PlaywrightError, match="crashed"):
        inpage.call(page, "(W) => new Promise((r) => setTimeout(r, 30000))")
    with pytest.raises(PlaywrightError, match="crashed"):
        inpage.call(page, "(W) => 1")
    assert time.monotonic() - started < 10


SHADOW_AND_FRAME = """<main><h1>Settings</h1>
<x-field></x-field>
<iframe srcdoc="<label for=city>City</label><input id=city><button>Look up</button>"></iframe>
</main>
<script>
  customElements.define('x-field', class extends HTMLElement {
    connectedCallback() {
      const root = this.attachShadow({ mode: 'open' });
      root.innerHTML = '<label for="nick">Nickname</label><input id="nick">' +
        '<span id="tip">Team colour</span><input aria-labelledby="tip">';
      const closed = document.createElement('div');
      this.appendChild(closed);
      closed.attachShadow({ mode: 'closed' }).innerHTML = '<input aria-label="Secret">';
    }
  });
</script>"""


def test_sees_open_shadow_roots_and_same_origin_frames(page: Page) -> None:
    page.set_content(SHADOW_AND_FRAME)
    page.frame_locator("iframe").get_by_label("City").wait_for()
    items = inpage.call(page, "(W, opts) => W.elements(opts)", OPTS)
    # labels and aria-labelledby resolve inside the shadow root; the closed root stays closed
    assert names(items) == ["Nickname", "Team colour", "City", "Look up"]
    nick = items[0]["fp"]
    assert nick["label"] == "Nickname" and nick["order"] == 0
    sig = signature.capture(page).tokens
    assert "textbox|nickname|input|text" in sig and "textbox|team colour|input|text" in sig
    assert "textbox|city|input|text" in sig and "button|look up|button|submit" not in sig
    assert "button|look up|button|" in sig and not any("secret" in t for t in sig)
    # the registry addresses shadow elements; Playwright's role selectors pierce open roots
    handle = inpage.registry_element(page, 0)
    assert handle is not None
    assert unique_selectors(page, handle)[0] == 'role=textbox[name="Nickname"]'


def test_chrome_holds_its_web_components(page: Page) -> None:
    page.set_content("""<nav><x-menu></x-menu></nav><main><h1>Home</h1></main><script>
      customElements.define('x-menu', class extends HTMLElement { connectedCallback() {
        this.attachShadow({ mode: 'open' }).innerHTML = '<a href="/a">A</a><a href="/b">B</a><a href="/c">C</a>';
      } });</script>""")
    tokens = signature.capture(page).tokens
    assert tokens == ["chrome|navigation|3-5", "heading|home|h1|", "main||main|"]


def test_signature_is_what_a_user_sees(page: Page, portal) -> None:
    page.goto(portal.url + "/customers/new")
    tokens = signature.capture(page).tokens
    assert "textbox|full name|input|text" in tokens
    assert not any("full_name" in t or "start_date" in t for t in tokens)  # no name attributes
    # the site header (brand + 6 nav links) and footer are one token each, not one per link
    assert "chrome|banner|6-20" in tokens and "chrome|contentinfo|2" in tokens
    assert not any(t.startswith("link|") and "customers" in t for t in tokens)
    assert "link|cancel|a|" in tokens


def test_navigation_changes_weigh_one_token(page: Page) -> None:
    form = '<main><h1>Join</h1><form><label>Email <input type="email"></label><button>Join</button></form></main>'
    aside = '<aside><a href="/x">Related</a></aside>'
    page.set_content(f'<nav><a href="/a">A</a><a href="/b">B</a></nav>{form}{aside}')
    before = signature.capture(page)
    page.set_content(f'<nav><a href="/a">Alpha</a><a href="/b">Beta</a><a href="/c">Gamma</a></nav>{form}{aside}')
    after = signature.capture(page)
    assert [t for t in before.tokens if t.startswith("chrome|")] == ["chrome|complementary|1", "chrome|navigation|2"]
    assert [t for t in after.tokens if t.startswith("chrome|")] == ["chrome|complementary|1", "chrome|navigation|3-5"]
    assert not any(t.startswith("link|") for t in before.tokens + after.tokens)
    assert signature.compare(before, after)[0] is signature.Match.SIMILAR
    # a header inside a section is that section's, not the page's banner; nested chrome is one token
    page.set_content(f'<header><nav><a href="/a">A</a></nav><a href="/b">B</a></header>{form}'
                     '<footer><section><header><h2>Fine print</h2></header></section></footer>')
    tokens = signature.capture(page).tokens
    assert [t for t in tokens if t.startswith("chrome|")] == ["chrome|banner|2", "chrome|contentinfo|0"]
    assert not any("fine print" in t for t in tokens)


FORM_IN_TABLE = """<main><h1>Credits</h1><form><table>
<thead><tr><th>Job</th><th>Person</th><th>Fee</th></tr></thead><tbody>
<tr><th>Director</th><td><input></td><td><input type="number" aria-label="Director fee"></td></tr>
<tr><th>Producer</th><td><input></td><td><input type="number" aria-label="Producer fee"></td></tr>
<tr><td>Writer</td><td><input></td><td><input type="number" aria-label="Writer fee"></td></tr>
</tbody></table><button>Save</button></form></main>"""
FORM_IN_DIVS = """<main><h1>Credits</h1><form>
<div><label>Director person <input></label><label>Director fee <input type="number"></label></div>
<div><label>Producer person <input></label><label>Producer fee <input type="number"></label></div>
<div><label>Writer person <input></label><label>Writer fee <input type="number"></label></div>
<button>Save</button></form></main>"""
DATA_TABLE = """<main><h1>People</h1><table><thead><tr><th>Name</th><th></th></tr></thead><tbody>
<tr><td>Ann</td><td><button>Edit</button></td></tr><tr><td>Bob</td><td><button>Edit</button></td></tr>
<tr><td>Cy</td><td><button>Edit</button></td></tr></tbody></table></main>"""


def test_form_tables_keep_their_controls(page: Page) -> None:
    page.set_content(FORM_IN_TABLE)
    table = signature.capture(page)
    # nameless inputs are named by row header (a th, or the first cell's text) and column header
    for t in ["textbox|director person|input|text", "textbox|producer person|input|text",
              "textbox|writer person|input|text", "spinbutton|director fee|input|number"]:
        assert t in table.tokens, table.tokens
    assert not any(t.startswith("rows|") for t in table.tokens)
    page.set_content(FORM_IN_DIVS)
    divs = signature.capture(page)
    assert len(set(table.tokens) & set(divs.tokens)) >= 8
    assert signature.compare(table, divs)[0] is signature.Match.SIMILAR
    # a table of data rows (no form controls) still collapses to a count
    page.set_content(DATA_TABLE)
    data = signature.capture(page).tokens
    assert "rows|tbody|name,|3-5" in data and not any(t.startswith("button|edit") for t in data)


ROWS = """<main><h1>Board</h1>
<table><tbody><tr><th>Director</th><td><input></td></tr><tr><td>Writer</td><td><input></td></tr>
<tr><td><input type="checkbox" aria-label="pick"></td><td></td><td>Gaffer</td></tr></tbody></table>
<ul><li><input type="checkbox"><label>Buy milk</label><button>Delete</button></li>
<li><input type="checkbox"><label>Walk the dog</label><button>Delete</button>
<ul><li><input type="checkbox"><label>Find the leash</label></li></ul></li>
<li>  <b>Call</b>   mum <input type="checkbox"></li></ul>
<div class="card"><h3>Pro plan</h3><p>For teams</p><button>Buy</button></div>
<div class="card"><header><h3>Free plan</h3></header><button>Buy</button></div>
<article><h2>News</h2><p>Text</p><a href="/more">More</a></article>
<form action="/x"><label>Plain <input></label></form>
</main>"""


def row_of(page: Page, css: str, nth: int = 0) -> str | None:
    return fingerprint_of(page, page.locator(css).nth(nth).element_handle()).row


def test_fingerprint_row(page: Page) -> None:
    page.set_content(ROWS)
    assert row_of(page, "table input", 0) == "Director"  # the row's th
    assert row_of(page, "table input", 1) == "Writer"  # else the first cell with text
    assert row_of(page, "table input", 2) == "Gaffer"
    assert row_of(page, "li input", 0) == "Buy milk Delete"  # the item's text without the element's
    assert row_of(page, "li button", 0) == "Buy milk"
    assert row_of(page, "li input", 1) == "Walk the dog Delete"  # not its nested item's words
    assert row_of(page, "li input", 2) == "Find the leash"
    assert row_of(page, "li input", 3) == "Call mum"
    assert row_of(page, ".card button", 0) == "Pro plan"
    assert row_of(page, ".card button", 1) == "Free plan"
    assert row_of(page, "article a") == "News"
    assert row_of(page, "form input") is None  # a plain field has no row


WIDE = """<main><h1>Menu</h1><button>Open</button>
<ul><li>Apples</li><li>Pears</li></ul>
<div role="menu"><div role="menuitemcheckbox" aria-checked="false">Bold</div></div>
<div onclick="go()">Go on</div><span tabindex="0">Focus me</span><span tabindex="-1">Not me</span>
<div role="treeitem" style="display:none">Hidden leaf</div></main>"""


def test_wide_registry_only_when_asked(page: Page) -> None:
    page.set_content(WIDE)
    narrow = inpage.call(page, "(W, opts) => W.elements(opts)", OPTS)
    assert names(narrow) == ["Open"]
    wide = inpage.call(page, "(W, opts) => W.elements(opts)", {**OPTS, "wide": True})
    got = [(i["fp"]["tag"], i["fp"].get("role"), i["fp"].get("name")) for i in wide]
    assert got == [("button", "button", "Open"), ("li", "listitem", None), ("li", "listitem", None),
                   ("div", "menuitemcheckbox", "Bold"), ("div", None, None), ("span", None, None)]
    # what sets entries apart is their words
    assert [i["fp"].get("text") for i in wide[1:]] == ["Apples", "Pears", "Bold", "Go on", "Focus me"]
    hidden = inpage.call(page, "(W, opts) => W.elements(opts)", {**OPTS, "wide": True, "hidden": True})
    leaf = [i for i in hidden if i["fp"].get("name") == "Hidden leaf"]
    assert len(leaf) == 1 and leaf[0]["visible"] is False
    assert inpage.call(page, "(W) => W.registry.length") == len(hidden)


TODO = """<main><h1>Todos</h1><input aria-label="Mark all as complete" type="checkbox">
<ul><li><input type="checkbox"><label>Buy milk</label><button aria-label="Remove"></button></li>
<li><input type="checkbox"><label>Walk the dog</label><button aria-label="Remove"></button></li></ul>
<table><tr><th>Director</th><td><input></td></tr><tr><th>Producer</th><td><input></td></tr></table></main>"""


def test_row_scoped_candidates(page: Page) -> None:
    page.set_content(TODO)
    toggle = page.locator("li input").nth(1).element_handle()
    found = unique_selectors(page, toggle, limit=10)
    row_sel = 'role=listitem >> has_text="Walk the dog" >> role=checkbox'
    assert row_sel in found
    # after the plain role/label ones, before the positional fallbacks
    assert found.index(row_sel) < min(i for i, s in enumerate(found) if s.startswith(("css=", "xpath=")))
    assert locator(page, row_sel).evaluate("(el, t) => el === t", toggle)
    remove = page.locator("li button").nth(0).element_handle()
    assert 'role=listitem >> has_text="Buy milk" >> role=button[name="Remove"]' in unique_selectors(page, remove, 10)
    producer = page.locator("table input").nth(1).element_handle()
    assert 'role=row >> has_text="Producer" >> role=textbox' in unique_selectors(page, producer, 10)
    # a control in no row gets no row-scoped candidate
    everything = page.locator("main > input").element_handle()
    cands = inpage.on_element(everything, "candidates", OPTS)
    assert not any("has_text=" in c for c in cands)
