"""MiniWoB++ tasks for bench/robustness.py: how to seed an episode and read its reward, and per task a
parser of the utterance (its values become flow inputs) and a scripted demonstration that solves an
episode the way a person would, with codegen-style locators.

The pages come from the `miniwob` wheel's html/ folder (core/core.js): `Math.seedrandom(seed)` then
`core.startEpisodeReal()` generates a seeded episode; `core.endEpisode` sets WOB_DONE_GLOBAL and
WOB_RAW_REWARD_GLOBAL (1 = solved, negative = a wrong element was acted on).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page
from robustness_script import Call, Demo, css, nth, role, text

# the episode timer would end slow runs with -1; a huge one keeps the reward about the actions
START_JS = "(s) => { Math.seedrandom(s); core.EPISODE_MAX_TIME = 1e9; core.startEpisodeReal(); }"
UTTERANCE_JS = "() => document.getElementById('query').textContent.replace(/\\s+/g, ' ').trim()"
REWARD_JS = "() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL]"


def start_episode(page: Page, url: str, seed: int) -> str:
    """Load the task page, start the seeded episode, return its utterance."""
    page.goto(url, wait_until="load", timeout=15000)
    page.evaluate(START_JS, seed)
    page.wait_for_function("() => WOB_TASK_READY !== false", timeout=5000)
    return page.evaluate(UTTERANCE_JS)


def reward(page: Page) -> tuple[bool, float]:
    done, raw = page.evaluate(REWARD_JS)
    return bool(done), float(raw)


class Unparsed(ValueError):
    """The utterance does not have the shape the task's parser knows."""


def _match(pattern: str, utterance: str) -> dict[str, str]:
    m = re.fullmatch(pattern, utterance)
    if not m:
        raise Unparsed(f"cannot parse {utterance!r}")
    return {k: v for k, v in m.groupdict().items() if v is not None}


@dataclass(frozen=True)
class Task:
    name: str
    parse: Callable[[str, Page], dict[str, str]]
    demo: Callable[[Demo, dict[str, str]], None]
    path: str = ""  # the page's path on its server (MiniWoB's: /miniwob/NAME.html)

    def url(self, base: str) -> str:
        return base + (self.path or f"/miniwob/{self.name}.html")


# ---- parsers ------------------------------------------------------------------------------------

def p_select(utterance: str, page: Page) -> dict[str, str]:
    return _match(r"Select (?P<option>.+?) and click Submit\.", utterance)


def p_checkboxes(utterance: str, page: Page) -> dict[str, str]:
    items = _match(r"Select (?P<items>.*?) and click Submit\.", utterance)["items"]
    if items == "nothing":
        return {}
    return {f"item{i + 1}": v.strip() for i, v in enumerate(items.split(","))}


def p_list(utterance: str, page: Page) -> dict[str, str]:
    return _match(r"Select (?P<item>.+?) from the list and click Submit\.", utterance)


def p_link(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'(?:.* c|C)lick on the link "(?P<link>.+)"\.', utterance)


def p_dialog(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'Click the button in the dialog box labeled "(?P<button>.+)"\.', utterance)


def p_time(utterance: str, page: Page) -> dict[str, str]:
    got = _match(r"Enter (?P<h>\d{1,2}):(?P<m>\d{2}) ?(?P<ap>AM|PM) as the time and press submit\.", utterance)
    hour = int(got["h"]) % 12 + (12 if got["ap"] == "PM" else 0)
    return {"time": f"{hour:02d}:{got['m']}"}  # what an <input type=time> holds


def p_text(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'Enter "(?P<text>.+)" into the text field and press Submit\.', utterance)


def p_flight(utterance: str, page: Page) -> dict[str, str]:
    return _match(r"Book the (?P<which>cheapest|shortest) one-way flight from: (?P<origin>.+?) to: "
                  r"(?P<destination>.+?) on (?P<date>\d\d/\d\d/\d{4})\.", utterance)


def p_forward(utterance: str, page: Page) -> dict[str, str]:
    # the page's own sentence templates (NAME / DEST) become the patterns
    for template in page.evaluate("() => NL_TEMPLATES"):
        pattern = re.escape(template).replace("NAME", r"(?P<sender>\S+?)").replace("DEST", r"(?P<to>\S+?)")
        m = re.fullmatch(pattern, utterance)
        if m:
            return m.groupdict()
    raise Unparsed(f"cannot parse {utterance!r}")


SOCIAL_ACTIONS = ("Share via DM", "Copy link to Tweet", "Embed Tweet", "Mute", "Block", "Report", "Reply",
                  "Retweet", "Like")


def p_social(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'For the user (?P<user>@\S+), click on the "(?P<action>.+)" button\.', utterance)


def p_phone(utterance: str, page: Page) -> dict[str, str]:
    return _match(r"Find (?P<name>.+) in the contact book and click on their (?P<field>phone|email|address)"
                  r"(?: number)?\.", utterance)


# ---- demonstrations -----------------------------------------------------------------------------

def d_option(d: Demo, v: dict[str, str]) -> None:
    d.check(role("radio", v["option"]))
    d.click(role("button", "Submit"))


def d_checkboxes(d: Demo, v: dict[str, str]) -> None:
    for key in sorted(v):
        d.check(role("checkbox", v[key]))
    d.click(role("button", "Submit"))


def d_list(d: Demo, v: dict[str, str]) -> None:
    d.select(v["item"], role("combobox"))
    d.click(role("button", "Submit"))


def _click_unique(d: Demo, *recipe: Call) -> None:
    """Codegen adds a position only when the locator alone is ambiguous."""
    d.click(*recipe) if d.find(*recipe).count() == 1 else d.click(*recipe, nth(0))


def _link(d: Demo, word: str) -> None:
    _click_unique(d, text(word, exact=True))


def d_tab(d: Demo, v: dict[str, str]) -> None:
    # the person looks through the tabs for the link and opens the one that has it
    tab = d.page.evaluate("(w) => [...document.querySelectorAll('#area .alink')].find((e) => "
                          "e.textContent === w).closest('[role=tabpanel]').id.split('-')[1]", v["link"])
    d.click(role("tab", f"Tab #{tab}"))
    _link(d, v["link"])


def d_collapsible(d: Demo, v: dict[str, str]) -> None:
    sections = d.page.evaluate("(w) => { const hs = [...document.querySelectorAll('#area h3')]; return hs.findIndex"
                               "((h) => [...h.nextElementSibling.querySelectorAll('.alink')].some((e) => "
                               "e.textContent === w)) + 1; }", v["link"])
    d.click(role("tab", f"Section #{sections}"))
    _link(d, v["link"])


def d_link(d: Demo, v: dict[str, str]) -> None:
    _link(d, v["link"])


def d_dialog(d: Demo, v: dict[str, str]) -> None:
    d.click(role("button", "Close" if v["button"] == "x" else v["button"]))


def d_time(d: Demo, v: dict[str, str]) -> None:
    d.fill(v["time"], css("#tt"))
    d.click(role("button", "Submit"))


def d_text(d: Demo, v: dict[str, str]) -> None:
    d.fill(v["text"], role("textbox"))
    d.click(role("button", "Submit"))


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def d_flight(d: Demo, v: dict[str, str]) -> None:
    for key, box in (("origin", "From:"), ("destination", "To:")):
        d.click(("get_by_placeholder", [box], {}))
        d.fill(v[key], ("get_by_placeholder", [box], {}))
        d.page.wait_for_timeout(400)  # the autocomplete menu opens a moment after typing
        entries = [t for t in d.find(css("ul.ui-autocomplete li")).all_inner_texts() if v[key] in t]
        d.click(text(entries[0], exact=True))
    month, day, year = (int(x) for x in v["date"].split("/"))
    d.click(css("#datepicker"))
    shown = d.find(css(".ui-datepicker-title")).inner_text().split()
    delta = (year - int(shown[1])) * 12 + month - 1 - MONTHS.index(shown[0])
    for _ in range(abs(delta)):
        d.click(("get_by_title", ["Next" if delta > 0 else "Prev"], {}))
    d.click(role("link", str(day), exact=True))
    d.click(role("button", "Search"))
    rows = d.page.evaluate("() => [...document.querySelectorAll('.flight')].map((f) => [+f.querySelector("
                           "'.flight-price').dataset.price, +f.querySelector('.time-duration').dataset.duration,"
                           " f.querySelector('.flight-price').textContent])")
    best = min(rows, key=lambda r: r[0] if v["which"] == "cheapest" else r[1])
    d.click(role("button", best[2]))


def d_forward(d: Demo, v: dict[str, str]) -> None:
    _click_unique(d, text(v["sender"], exact=True))
    d.click(text("Forward", exact=True))
    d.fill(v["to"], css(".forward-sender"))
    d.click(css("#send-forward"))


def d_social(d: Demo, v: dict[str, str]) -> None:
    users = d.find(css(".media .username")).all_inner_texts()
    i = users.index(v["user"])
    icon = {"Reply": ".reply", "Retweet": ".retweet", "Like": ".like"}.get(v["action"])
    if icon:
        d.click(css(icon), nth(i))
        return
    d.click(css(".more"), nth(i))
    if v["action"] in ("Mute", "Block"):
        d.click(text(f"{v['action']} {v['user']}"))
    else:
        d.click(text(v["action"]), nth(i))


def d_phone(d: Demo, v: dict[str, str]) -> None:
    for _ in range(5):
        if d.find(css("#contact .name")).inner_text().strip() == v["name"]:
            break
        d.click(role("link", ">", exact=True))
    shown = d.find(css(f"#contact a.{v['field']}")).inner_text()
    d.click(text(shown, exact=True))  # an <a> without href: no link role


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("click-option", p_select, d_option),
    Task("click-checkboxes", p_checkboxes, d_checkboxes),
    Task("choose-list", p_list, d_list),
    Task("click-tab-2", p_link, d_tab),
    Task("click-link", p_link, d_link),
    Task("click-dialog-2", p_dialog, d_dialog),
    Task("enter-time", p_time, d_time),
    Task("enter-text-dynamic", p_text, d_text),
    Task("book-flight", p_flight, d_flight),
    Task("email-inbox-forward-nl", p_forward, d_forward),
    Task("social-media", p_social, d_social),
    Task("phone-book", p_phone, d_phone),
    Task("click-collapsible-2", p_link, d_collapsible),
]}
