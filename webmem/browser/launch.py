"""Finding and launching Chromium: the one browser story of the command line, the Python API
(`webmem.launch(p)`), the pytest plugin, batch workers and the MCP server.

Lookup order: WEBMEM_BROWSER / `executablePath` in webmem.json → Playwright's own Chromium → a system Chromium.
`python -m webmem.browser --ensure` also tries to install one (Playwright's download, then apt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Playwright

from webmem.browser.config import Settings, load_settings
from webmem.errors import BrowserNotFound

SYSTEM_BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Without network, Chromium's background services flood refused connections and slow start-up.
OFFLINE_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]

INSTALL_HINT = (
    "No Chromium found. Install one of: `python -m playwright install chromium`, "
    "`apt-get install chromium` (Debian/Ubuntu), or set WEBMEM_BROWSER / executablePath in "
    "webmem.json to a Chromium or Chrome binary."
)


def playwright_chromium(pw: Playwright | None = None) -> str | None:
    """The path of Playwright's own downloaded Chromium, if it is installed."""
    try:
        if pw is not None:
            path = pw.chromium.executable_path
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                path = p.chromium.executable_path
    except Exception:  # the driver could not tell: treat as not installed
        return None
    return path if path and Path(path).exists() else None


def system_chromium() -> str | None:
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name) if not name.startswith("/") else (name if Path(name).exists() else None)
        if found:
            return found
    return None


def find_browser(settings: Settings, pw: Playwright | None = None) -> str | None:
    """The executable to launch, or None for Playwright's own Chromium. Raises if there is none."""
    if settings.executable_path:
        if not Path(settings.executable_path).exists():
            raise BrowserNotFound(f"configured browser does not exist: {settings.executable_path} "
                                  f"(from {settings.origin('executable_path')})")
        return settings.executable_path
    if playwright_chromium(pw):
        return None
    found = system_chromium()
    if found:
        return found
    raise BrowserNotFound(INSTALL_HINT)


def launch_args(settings: Settings) -> list[str]:
    args = list(OFFLINE_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    args += [a for a in settings.args if a not in args]
    return args


def launch(pw: Playwright, settings: Settings | None = None, *, headed: bool = False, **options: Any) -> Browser:
    """A Chromium browser as webmem launches it: the executable webmem finds (WEBMEM_BROWSER / `executablePath`,
    else Playwright's own build, else a system Chromium), `headless` and `args` from the settings (default: those
    of webmem.json and the environment where you run), offline-friendly flags. `options` go to Playwright's
    `chromium.launch` over those (`slow_mo=`, `headless=False`, ...).

        with sync_playwright() as p:
            page = webmem.launch(p).new_page()
    """
    settings = settings if settings is not None else load_settings()
    kwargs: dict[str, Any] = {"executable_path": find_browser(settings, pw),
                              "headless": settings.headless and not headed, "args": launch_args(settings)}
    return pw.chromium.launch(**{**kwargs, **options})


def ensure_browser(settings: Settings) -> str:
    """Make sure some Chromium exists, installing one if needed. Returns a description."""
    try:
        found = find_browser(settings)
        return found or "playwright's chromium"
    except BrowserNotFound:
        if settings.executable_path:
            raise
    attempts = [[sys.executable, "-m", "playwright", "install", "chromium"]]
    if Path("/etc/debian_version").exists() and hasattr(os, "geteuid") and os.geteuid() == 0:
        attempts.append(["sh", "-c", "apt-get update -qq && apt-get install -y -qq chromium"])
    for cmd in attempts:
        print(f"webmem: installing a browser: {' '.join(cmd)}", file=sys.stderr)
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            print(f"webmem: that did not work: {last}", file=sys.stderr)
            continue
        try:
            found = find_browser(settings)
            return found or "playwright's chromium"
        except BrowserNotFound:
            continue
    raise BrowserNotFound(INSTALL_HINT)


def main(argv: list[str] | None = None) -> int:
    from webmem.errors import WebmemError

    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = load_settings()
        where = ensure_browser(settings) if "--ensure" in argv else (find_browser(settings) or "playwright")
    except WebmemError as exc:
        print(f"webmem: {exc}", file=sys.stderr)
        return 2
    print(f"browser: {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
