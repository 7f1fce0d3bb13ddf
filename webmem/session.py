"""A browser session for the command line: launch, context, optional trace, and clean-up.

Secrets never land in a trace: the trace archive is rewritten with every secret (and its URL- and
JSON-encoded forms) replaced before it is kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from webmem import browser, inpage
from webmem.config import Settings
from webmem.inputs import REDACTED, Redactor


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
                path = trace / f"{trace_name}.zip"
                ctx.tracing.stop(path=str(path))
                redact_archive(path, redactor or Redactor())
            ctx.close()
            b.close()


def new_context(b: Browser, settings: Settings) -> BrowserContext:
    """A fresh context with webmem's viewport, timeouts and in-page helpers."""
    ctx = b.new_context(viewport=settings.viewport.model_dump())
    ctx.set_default_timeout(settings.timeouts.action)
    ctx.set_default_navigation_timeout(settings.timeouts.navigation)
    inpage.install(ctx)
    return ctx


def _variants(secret: str) -> list[bytes]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return sorted({f.encode("utf-8") for f in forms if f}, key=len, reverse=True)


def redact_archive(path: Path, redactor: Redactor) -> None:
    """Rewrite a zip (a Playwright trace) with every secret replaced, atomically."""
    if not redactor.secrets:
        return
    patterns = [v for s in redactor.secrets for v in _variants(s)]
    tmp = path.with_suffix(".redacting")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            for pattern in patterns:
                data = data.replace(pattern, REDACTED.encode("utf-8"))
            name = item.filename
            for secret in redactor.secrets:
                name = name.replace(secret, "secret")
            dst.writestr(name, data)
    os.replace(tmp, path)
