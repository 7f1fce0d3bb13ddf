"""A browser session for the command line: launch, context, optional trace, and clean-up.

Secrets never land in a trace: the trace archive is rewritten with every secret (in every encoding
webmem.inputs.Redactor knows, and as typed: cut short by a field's maxlength) replaced before it is kept.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from webmem.browser import launch as browser
from webmem.browser.config import Settings
from webmem.flow.inputs import REDACTED, Redactor
from webmem.page import guard, inpage
from webmem.paths import inside


@contextlib.contextmanager
def open_page(settings: Settings, *, headed: bool = False, trace: Path | None = None,
              redactor: Redactor | None = None, trace_name: str = "trace",
              storage_state: Path | None = None) -> Iterator[Page]:
    """A page in a fresh context; `storage_state`: a Playwright storage state file to start from (if it exists)
    and to save the session to at the end (cookies and local storage: a session, never a typed password)."""
    with sync_playwright() as pw:
        b = browser.launch(pw, settings, headed=headed)
        try:
            with context_page(b, settings, trace=trace, redactor=redactor, trace_name=trace_name,
                              storage_state=storage_state) as page:
                yield page
        finally:
            b.close()


@contextlib.contextmanager
def tab_over_cdp(endpoint: str, settings: Settings) -> Iterator[Page]:
    """A new tab in the default context of a running Chromium (started with --remote-debugging-port): a person's
    own browser, or one another program also drives. The tab is closed at the end, the browser left running."""
    with sync_playwright() as pw:
        b = pw.chromium.connect_over_cdp(endpoint, timeout=settings.timeouts.navigation)
        ctx = b.contexts[0] if b.contexts else b.new_context()
        inpage.install(ctx)
        page = ctx.new_page()
        page.set_default_timeout(settings.timeouts.action)
        page.set_default_navigation_timeout(settings.timeouts.navigation)
        try:
            yield page
        finally:
            with contextlib.suppress(Exception):  # the person may have closed it
                page.close()


@contextlib.contextmanager
def context_page(b: Browser, settings: Settings, *, trace: Path | None = None, redactor: Redactor | None = None,
                 trace_name: str = "trace", storage_state: Path | None = None) -> Iterator[Page]:
    """A page in a fresh context of a running browser (several runs, one browser: `webmem check`), traced to
    `trace/NAME.zip` (secrets removed) and its session saved to `storage_state` at the end, as `open_page`."""
    ctx = new_context(b, settings, storage_state)
    if trace is not None:
        ctx.tracing.start(screenshots=True, snapshots=True)
    try:
        yield ctx.new_page()
    finally:
        if trace is not None:
            trace.mkdir(parents=True, exist_ok=True)
            path = inside(trace, trace_name, ".zip")
            ctx.tracing.stop(path=str(path))
            redactor = redactor or Redactor()
            redactor.extend(guard.secrets_of(ctx))  # typed ones too, as a field's maxlength cut them
            redact_archive(path, redactor)
        if storage_state is not None:
            with contextlib.suppress(Exception):  # a browser that went down keeps the file as it was
                save_state(ctx, storage_state)
        ctx.close()


StorageState = Path | dict[str, Any] | None


def new_context(b: Browser, settings: Settings, storage_state: StorageState = None) -> BrowserContext:
    """A fresh context with webmem's viewport, timeouts and in-page helpers; the one place contexts are made.
    `storage_state`: a session to start from (Playwright's storage state, a file that exists or a dict)."""
    if isinstance(storage_state, Path) and not storage_state.is_file():
        storage_state = None  # nothing kept yet: start signed out, the file is written at the end
    ctx = b.new_context(viewport={"width": settings.viewport.width, "height": settings.viewport.height},
                        storage_state=storage_state)  # type: ignore[arg-type]
    ctx.set_default_timeout(settings.timeouts.action)
    ctx.set_default_navigation_timeout(settings.timeouts.navigation)
    inpage.install(ctx)
    return ctx


def save_state(ctx: BrowserContext, path: Path) -> None:
    """Keep the context's session (Playwright's storage state) in `path`, atomically, readable by its owner only."""
    import json

    state = ctx.storage_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)
    os.replace(tmp, path)


def redact_archive(path: Path, redactor: Redactor) -> None:
    """Rewrite a zip (a Playwright trace) with every secret, in every encoding, replaced, atomically."""
    if not redactor.secrets:
        return
    tmp = path.with_suffix(".redacting")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(redactor(item.filename).replace(REDACTED, "secret"), redactor.bytes(src.read(item)))
    os.replace(tmp, path)
