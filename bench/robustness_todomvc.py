"""TodoMVC for bench/robustness.py: one task, recorded on one implementation of the to-do app and replayed on
every other one (the `todomvc` npm package's examples/: the same app written with ~70 frameworks, from 2014;
nobody here wrote any of them).

The task: add two to-dos, then mark the first one done. Judge: what the page shows afterwards — the item
that says the first value is done (its checkbox checked or the item marked `completed`), the second is
there and not done, and there are exactly two items. Anything else after a runner said "done", or the
second item done, is WRONG.
"""

from __future__ import annotations

import random
import subprocess
import tarfile
from pathlib import Path

from playwright.sync_api import Page
from robustness_script import Demo, role

PACKAGE = "todomvc@0.1.1"
RECORDED_ON = "vanillajs"
WORDS = ("milk", "bread", "call", "mum", "taxes", "garden", "email", "bike", "fix", "paint", "book", "train",
         "plants", "water", "laundry", "dentist", "tickets", "cake", "letters", "report")
PLACEHOLDER = "What needs to be done?"

# Each item's text and whether it is done; neutral about the framework (any list item whose own text is
# the value, done = a checked checkbox inside it, or a `completed` class on it).
STATE_JS = """() => {
  // index loops: a Shadow DOM polyfill's NodeList is not iterable; open shadow roots are looked into
  const lis = [];
  const walk = (root) => {
    const els = root.querySelectorAll('*');
    for (let i = 0; i < els.length; i++) {
      if (els[i].tagName === 'LI') lis.push(els[i]);
      if (els[i].shadowRoot) walk(els[i].shadowRoot);
    }
  };
  walk(document);
  const out = [];
  for (const li of lis) {
    const box = li.querySelector('input[type=checkbox]') ||
      (li.shadowRoot && li.shadowRoot.querySelector('input[type=checkbox]'));
    if (!box) continue;
    const r = li.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const label = li.querySelector('label') || (li.shadowRoot && li.shadowRoot.querySelector('label'));
    const text = ((label && label.textContent) || li.textContent || '').replace(/\\s+/g, ' ').trim();
    out.push([text, !!box.checked || /\\bcompleted\\b/.test(li.className)]);
  }
  return out;
}"""


def fetch(cache: Path) -> Path:
    """The package's examples/ folder, fetched with `npm pack` and unpacked once into the cache."""
    target = cache / PACKAGE.replace("@", "-")
    examples = target / "package" / "examples"
    if (examples / RECORDED_ON / "index.html").is_file():
        return target / "package"
    target.mkdir(parents=True, exist_ok=True)
    got = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=target, capture_output=True, text=True,
                         timeout=300)
    if got.returncode != 0:
        raise SystemExit(f"npm pack {PACKAGE} failed:\n{got.stderr}")
    tgz = next(target.glob("todomvc-*.tgz"))
    with tarfile.open(tgz) as tf:
        tf.extractall(target, filter="data")
    return target / "package"


def implementations(root: Path) -> list[str]:
    """Every example with a page of its own, the recorded one first."""
    names = sorted(p.parent.name for p in (root / "examples").glob("*/index.html"))
    return [RECORDED_ON] + [n for n in names if n != RECORDED_ON]


def url(base: str, name: str) -> str:
    return f"{base}/examples/{name}/index.html"


def values_for(seed: int) -> dict[str, str]:
    rnd = random.Random(seed)
    a, b, c, d = rnd.sample(WORDS, 4)
    return {"todo1": f"{a} {b}", "todo2": f"{c} {d}"}


def open_app(page: Page, base: str, name: str) -> None:
    """Open one implementation and wait until its new-to-do box is there (some build their DOM late)."""
    page.goto(url(base, name), wait_until="load", timeout=15000)
    page.wait_for_selector("input:not([type=checkbox]), textarea", timeout=5000)


def demo(d: Demo, v: dict[str, str]) -> None:
    box = ("get_by_placeholder", [PLACEHOLDER], {})
    d.fill(v["todo1"], box)
    d.press("Enter", box)
    d.fill(v["todo2"], box)
    d.press("Enter", box)
    # what Playwright's codegen writes for "the checkbox of the item that says ...": role + filter
    d.check(role("listitem"), ("filter", [], {"has_text": v["todo1"]}), role("checkbox"))


def outcome(claimed: bool, page: Page, v: dict[str, str]) -> str:
    try:
        items = page.evaluate(STATE_JS)
    except Exception:  # noqa: BLE001 - a page that navigated away or crashed shows nothing done
        items = []
    by_text = {t: done for t, done in items}
    right = len(items) == 2 and by_text.get(v["todo1"]) is True and by_text.get(v["todo2"]) is False
    if right:
        return "passed"
    if by_text.get(v["todo2"]) or claimed:
        return "WRONG"
    return "refused"
