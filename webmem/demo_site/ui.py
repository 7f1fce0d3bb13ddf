"""Per-request render helper: turns a Variant into ids, classes and texts."""

from __future__ import annotations

import uuid

from .variants import UTILITY_CLASSES, Variant


class PageUI:
    """Created once per request so generated ids stay consistent inside one render."""

    def __init__(self, variant: Variant) -> None:
        self.variant = variant
        self._generated: dict[tuple[str, str], str] = {}

    def id(self, scope: str, key: str) -> str:
        """Element id for `key` (its baseline id) on form `scope`."""
        style = self.variant.ids
        if style == "renamed":
            return f"{scope}-{key.replace('_', '-')}-input"
        if style == "generated":
            # Why: memoised so <label for> and the control agree within one page render.
            return self._generated.setdefault((scope, key), f"f-{uuid.uuid4()}")
        return key

    def cls(self, names: str) -> str:
        """Map space-separated BEM classes to the variant's class names."""
        if not self.variant.utility_classes:
            return names
        return " ".join(UTILITY_CLASSES.get(n, f"x-{n}") for n in names.split())
