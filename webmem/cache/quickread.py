"""Reading a flow file fast, for the store's index.

The flow loader (`flowfile.load_flow`) builds its data in Python and takes milliseconds a file; a store of
10,000 flows would take a minute to index. Here a YAML 1.2 reader written in Rust reads the file, and the
same pydantic model validates it. Only a plain file is read this way: no anchor, alias, tag, directive or
byte order mark (the loader refuses or reads those its own way), nesting no deeper than the loader allows.
Anything else, and any file this reader or the model refuses, is left to the loader, which says what is
wrong in its usual words: the index never holds an error or a flow that the loader would not give.
"""

from __future__ import annotations

from typing import Any

import yaml_rs
from pydantic import ValidationError

from webmem.flow.flowfile import MAX_FLOW_BYTES, MAX_FLOW_DEPTH
from webmem.flow.format import FORMAT_VERSION, Flow

# `&` anchor, `*` alias, `!` tag, BOM, `%` directive (at a line's start): a text with none is plain YAML data
_NOT_PLAIN = ("&", "*", "!", "\ufeff", "\n%")


def quick_flow(data: bytes) -> Flow | None:
    """The flow in a file's bytes, or None when the loader has to read it (not plain, or not a valid flow)."""
    if len(data) > MAX_FLOW_BYTES:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("%") or any(mark in text for mark in _NOT_PLAIN):
        return None
    try:
        doc = yaml_rs.loads(text, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(doc, dict) or _depth(doc) > MAX_FLOW_DEPTH:
        return None
    version = doc.get("webmem")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        return None
    try:
        return Flow.model_validate(doc)
    except ValidationError:
        return None


def _depth(doc: dict[str, Any]) -> int:
    """How deep lists and mappings nest (the loader counts the same way, from 1 for the top mapping)."""
    depth, level = 0, [doc]
    while level:
        depth += 1
        level = [c for node in level for c in (node.values() if isinstance(node, dict) else node)
                 if isinstance(c, dict | list)]
    return depth
