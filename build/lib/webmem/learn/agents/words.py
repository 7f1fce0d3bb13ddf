"""Words for matching without a model: tokens of a label or task (camelCase and e-mail aware), and a fuzzy
Dice similarity of two token lists (the offline agent maps inputs to fields and tasks to links with it)."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HYPHENATED = re.compile(r"(?<=\b[a-z])-(?=[a-z])")  # e-mail → email


def tokens(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text or "").lower()
    text = _HYPHENATED.sub("", text)
    return [t for t in re.split(r"[^a-z0-9]+", text) if t]


def _same(a: str, b: str) -> bool:
    if a == b or a.rstrip("s") == b.rstrip("s"):
        return True
    return min(len(a), len(b)) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.85


def similarity(key: list[str], text: list[str]) -> float:
    """Dice similarity of two token lists with fuzzy token equality; 1.0 for the same words."""
    if not key or not text:
        return 0.0
    if "".join(key) == "".join(text):
        return 1.0
    used: set[int] = set()
    matched = 0
    for k in key:
        for i, t in enumerate(text):
            if i not in used and _same(k, t):
                used.add(i)
                matched += 1
                break
    return 2 * matched / (len(key) + len(text))
