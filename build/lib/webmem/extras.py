"""Optional parts of webmem and the one way to import their packages: where it is used, so the core install
(replay, record, `do` with the offline agent) never needs them, and a missing one is one line naming the
`pip install` to run instead of a traceback. The extras are declared in pyproject.toml."""

from __future__ import annotations

import importlib
from types import ModuleType

from webmem.errors import MissingExtra

# module imported -> (the extra that installs it, what needs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "openai": ("llm", "the LLM agent and LLM repair"),
    "openpyxl": ("batch", "reading Excel rows"),
    "ijson": ("batch", "reading rows from a JSON list"),
    "psycopg": ("postgres", "a PostgreSQL journal"),
    "mcp": ("mcp", "`webmem mcp`"),
    "flask": ("demo", "the demo portal"),
}


def require(module: str) -> ModuleType:
    """Import `module` (a package of an extra, or one of its submodules) or raise MissingExtra naming the
    extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra, needs = EXTRAS[top]
        raise MissingExtra(f"{needs} needs the {top} package, which is not installed: "
                           f"pip install 'webmem[{extra}]'", extra) from exc
