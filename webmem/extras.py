"""Optional parts of webmem and the one way to import their packages: where it is used, so the core install
(replay, record, `do` with the offline agent) never needs them, and a missing one is one line naming the
`pip install` to run instead of a traceback. The extras are declared in pyproject.toml."""

from __future__ import annotations

import importlib
import importlib.util
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


def _missing(module: str) -> MissingExtra:
    top = module.split(".")[0]
    extra, needs = EXTRAS[top]
    return MissingExtra(f"{needs} needs the {top} package, which is not installed: pip install 'webmem[{extra}]'",
                        extra)


def require(module: str) -> ModuleType:
    """Import `module` (a package of an extra, or one of its submodules) or raise MissingExtra naming the
    extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _missing(module) from exc


def check(module: str) -> None:
    """Raise MissingExtra now if `module` is not installed, without importing it (openai takes some 0.3 s): for
    a part that will need it later, so the error comes before a browser starts."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _missing(module)
