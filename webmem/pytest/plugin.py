"""webmem's pytest plugin (registered through the pytest11 entry point; `-p no:webmem` turns it off).

It builds on pytest-playwright's fixtures rather than launching a browser of its own.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin("playwright"):
        from webmem.pytest import browser

        config.pluginmanager.register(browser, "webmem-browser")
