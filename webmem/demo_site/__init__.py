"""The demo portal (Flask): realistic forms plus DOM variants, for the demo, the tests and the benchmarks.
Inside webmem's namespace so the wheel ships no top-level package of its own; it needs the `demo` extra."""

from webmem.extras import require

require("flask")  # one line naming `pip install 'webmem[demo]'`, not a traceback from app.py

from .app import DEMO_PASSWORD, DEMO_USER, create_app  # noqa: E402
from .server import PortalServer  # noqa: E402
from .variants import VARIANTS, Variant, get_variant  # noqa: E402

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "VARIANTS", "PortalServer", "Variant", "create_app", "get_variant"]
