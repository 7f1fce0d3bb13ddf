"""`webmem mcp`: webmem as an MCP server, the cache between an agent and the browser."""

from webmem.mcp.server import build, serve

__all__ = ["build", "serve"]
