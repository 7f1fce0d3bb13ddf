"""webmem's version: the one place it is written (pyproject.toml reads it; `--version`, the MCP server's info and a
bundle's manifest say it)."""

VERSION = "0.1.0"
