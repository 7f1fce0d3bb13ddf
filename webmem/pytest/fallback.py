"""A fixture that extends pytest-playwright's `browser_type_launch_args` where Playwright's own Chromium build is
not installed (no `playwright install`, a machine without its download): the test's Chromium is then the one
webmem finds (WEBMEM_BROWSER / `executablePath` in webmem.json, else a system Chromium), so a new pytest
project runs without `--webmem-browser`. Where the build is there, or another browser or a channel is chosen,
pytest-playwright's arguments are left as they are. Registered by the plugin at configure time, after
pytest-playwright, when `--webmem-browser` is off (that replaces the fixture instead, webmem.pytest.browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserType, Playwright

from webmem.browser import launch as _browser
from webmem.pytest.runner import OPTIONS_KEY


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_type: BrowserType,
                             playwright: Playwright, pytestconfig: pytest.Config) -> dict[str, Any]:
    args = browser_type_launch_args
    if browser_type.name != "chromium" or args.keys() & {"channel", "executable_path"}:
        return args
    if Path(browser_type.executable_path).exists():  # Playwright's own build: as pytest-playwright would
        return args
    settings = pytestconfig.stash[OPTIONS_KEY].settings
    return {**args, "executable_path": _browser.find_browser(settings, playwright),
            "args": [*_browser.launch_args(settings), *args.get("args", [])]}
