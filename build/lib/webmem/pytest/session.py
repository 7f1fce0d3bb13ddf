"""A fixture that replaces pytest-playwright's `browser_context_args` so each test's context starts from
--webmem-storage-state (Playwright's storage state), when the file exists: a session signed in once, by a
sign-in flow or an earlier run, serves every test. Registered by the plugin at configure time, after
pytest-playwright, so it overrides its fixture and extends what that returns."""

from __future__ import annotations

from typing import Any

import pytest

from webmem.pytest.runner import OPTIONS_KEY


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], pytestconfig: pytest.Config) -> dict[str, Any]:
    state = pytestconfig.stash[OPTIONS_KEY].storage_state
    if state is None or not state.is_file() or "storage_state" in browser_context_args:
        return browser_context_args
    return {**browser_context_args, "storage_state": str(state)}
