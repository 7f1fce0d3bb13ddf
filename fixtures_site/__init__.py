"""Demo web portal used as a fixture for webmem: realistic forms plus DOM variants."""

from .app import DEMO_PASSWORD, DEMO_USER, create_app
from .server import PortalServer
from .variants import VARIANTS, Variant, get_variant

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "VARIANTS", "PortalServer", "Variant", "create_app", "get_variant"]
