"""The demo portal (Flask): realistic forms plus DOM variants, for the demo, the tests and the benchmarks.
Inside webmem's namespace so the wheel ships no top-level package of its own; it needs the `demo` extra."""

import sys

from webmem.errors import MissingExtra
from webmem.extras import require

try:
    require("flask")  # one line naming `pip install 'webmem[demo]'`, not a traceback from app.py
except MissingExtra as exc:
    # `python -m webmem.demo_site` imports this package before its __main__ (argv[0] is "-m" meanwhile): a
    # person at a shell gets the line and exit 2, as from `webmem demo`; an importer gets the exception
    if sys.argv[:1] == ["-m"]:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    raise

from .app import DEMO_PASSWORD, DEMO_USER, create_app  # noqa: E402
from .server import PortalServer  # noqa: E402
from .variants import VARIANTS, Variant, get_variant  # noqa: E402

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "VARIANTS", "PortalServer", "Variant", "create_app", "get_variant"]
