"""In-page script cost: W.signature() and W.elements() on the portal's customer form, the page script at a
git ref (default: main) beside the working copy, alternating in one run; prints medians and the ratio.

Run: .venv/bin/python bench/page_script.py [N] [REF]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from webmem.browser import launch as browser
from webmem.browser.config import load_settings
from webmem.demo_site.server import PortalServer
from webmem.page import inpage

ROOT = Path(__file__).resolve().parent.parent
CALLS = {
    "signature": "() => { const t = performance.now(); for (let i = 0; i < 20; i++) window.__webmem.signature();"
                 " return (performance.now() - t) / 20; }",
    "elements": "(opts) => { const t = performance.now(); for (let i = 0; i < 20; i++) window.__webmem.elements(opts);"
                " return (performance.now() - t) / 20; }",
}


def script_at(ref: str) -> str:
    return subprocess.run(["git", "show", f"{ref}:webmem/page/js/page.js"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def measure(page: Page, script: str, url: str) -> dict[str, float]:
    page.goto(url)
    page.evaluate(script)
    return {name: page.evaluate(expr, inpage.OPTS) for name, expr in CALLS.items()}


def main(n: int = 15, ref: str = "main") -> None:
    scripts = {ref: script_at(ref), "working copy": inpage.source()}
    settings = load_settings(ROOT)
    ms: dict[str, dict[str, list[float]]] = {k: {c: [] for c in CALLS} for k in scripts}
    with PortalServer() as portal, sync_playwright() as pw:
        b = browser.launch(pw, settings)
        pages = {k: b.new_context().new_page() for k in scripts}
        for _ in range(n):
            for k, script in scripts.items():
                for c, v in measure(pages[k], script, portal.url + "/customers/new").items():
                    ms[k][c].append(v)
        b.close()
    for c in CALLS:
        base, now = statistics.median(ms[ref][c]), statistics.median(ms["working copy"][c])
        print(f"W.{c:<10} {ref}: {base:6.3f} ms   working copy: {now:6.3f} ms   ratio {now / base:4.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15, sys.argv[2] if len(sys.argv) > 2 else "main")
