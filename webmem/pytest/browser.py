"""Fixtures that replace pytest-playwright's own so its `browser` launches what webmem's browser
discovery and webmem.json say. Registered by the plugin at configure time, so they come
after (and so override) pytest-playwright's, whatever order the entry points load in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from webmem.browser import launch as _browser
from webmem.browser.config import load_settings


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config, browser_name: str | None,
                             request: pytest.FixtureRequest) -> dict[str, Any]:
    settings = load_settings(pytestconfig.rootpath)
    headed = bool(pytestconfig.getoption("--headed", False))
    args: dict[str, Any] = {"headless": settings.headless and not headed}
    channel = pytestconfig.getoption("--browser-channel", None)
    if channel:
        args["channel"] = channel
    slowmo = pytestconfig.getoption("--slowmo", 0)
    if slowmo:
        args["slow_mo"] = slowmo
    # webmem's discovery and config name a Chromium: only for Chromium, and not over a channel.
    if (browser_name or "chromium") == "chromium":
        if not channel:
            executable = _browser.find_browser(settings)
            if executable:
                args["executable_path"] = executable
        args["args"] = _browser.launch_args(settings)
    # Per-test launch options, as pytest-playwright allows:
    # @pytest.mark.parametrize("browser_type_launch_args", [{...}], indirect=True)
    param = getattr(request, "param", None)
    if isinstance(param, Mapping):
        args.update(param)
    return args
