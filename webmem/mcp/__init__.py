"""`webmem mcp`: webmem as an MCP server, the cache between an agent and the browser (the `mcp` extra)."""

from webmem.extras import require

require("mcp")  # one line naming `pip install 'webmem[mcp]'`, not a traceback from server.py

from webmem.mcp.server import build, serve  # noqa: E402

__all__ = ["build", "serve"]
