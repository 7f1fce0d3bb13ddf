"""A browser session for the command line: launch, context, optional trace, and clean-up.

Secrets never land in a trace: the trace archive is rewritten with every secret (in every encoding
webmem.inputs.Redactor knows) replaced before it is kept.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from webmem.browser import launch as browser
from webmem.browser.config import Settings
from webmem.flow.inputs import REDACTED, Redactor
from webmem.page import inpage
from webmem.paths import inside


@contextlib.contextmanager
def open_page(settings: Settings, *, headed: bool = False, trace: Path | None = None,
              redactor: Redactor | None = None, trace_name: str = "trace") -> Iterator[Page]:
    with sync_playwright() as pw:
        b = browser.launch(pw, settings, headed=headed)
        ctx = new_context(b, settings)
        if trace is not None:
            ctx.tracing.start(screenshots=True, snapshots=True)
        try:
            yield ctx.new_page()
        finally:
            if trace is not None:
                trace.mkdir(parents=True, exist_ok=True)
                path = inside(trace, trace_name, ".zip")
                ctx.tracing.stop(path=str(path))
                redact_archive(path, redactor or Redactor())
            ctx.close()
            b.close()


def new_context(b: Browser, settings: Settings) -> BrowserContext:
    """A fresh context with webmem's viewport, timeouts and in-page helpers."""
    ctx = b.new_context(viewport={"width": settings.viewport.width, "height": settings.viewport.height})
    ctx.set_default_timeout(settings.timeouts.action)
    ctx.set_default_navigation_timeout(settings.timeouts.navigation)
    inpage.install(ctx)
    return ctx


def redact_archive(path: Path, redactor: Redactor) -> None:
    """Rewrite a zip (a Playwright trace) with every secret, in every encoding, replaced, atomically."""
    if not redactor.secrets:
        return
    tmp = path.with_suffix(".redacting")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(redactor(item.filename).replace(REDACTED, "secret"), redactor.bytes(src.read(item)))
    os.replace(tmp, path)
