"""Fixtures that replace pytest-playwright's own so its `browser` launches what webmem's browser
discovery and playwright.config.json say. Registered by the plugin at configure time, so they come
after (and so override) pytest-playwright's, whatever order the entry points load in."""

from __future__ import annotations

from typing import Any

import pytest

from webmem import browser as _browser
from webmem.config import load_settings


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config) -> dict[str, Any]:
    settings = load_settings(pytestconfig.rootpath)
    headed = bool(pytestconfig.getoption("--headed", False))
    args: dict[str, Any] = {"headless": settings.headless and not headed}
    executable = _browser.find_browser(settings)
    if executable:
        args["executable_path"] = executable
    args["args"] = _browser.launch_args(settings)
    return args
