"""A WSGI app served from a background thread on a free 127.0.0.1 port (a context manager): the demo portal's
server class, without the portal."""

from webmem.demo_site.server import ThreadedServer

__all__ = ["ThreadedServer"]
