"""Reading a flow file fast, for the store's index.

The flow loader (`flowfile.load_flow`) builds its data in Python and takes milliseconds a file; a store of
10,000 flows would take a minute to index. Here a YAML 1.2 reader written in Rust reads the file, and the
same pydantic model validates it. Only a plain file is read this way: no anchor, alias, tag, directive or
byte order mark (the loader refuses or reads those its own way), nesting no deeper than the loader allows,
and none of the forms the two readers were found to take differently (below; tests/test_store.py fuzzes
them against the loader): the flows webmem writes are plain. Anything else, and any file this reader or
the model refuses, is left to the loader, which says what is wrong in its usual words: the index never
holds an error or a flow that the loader would not give.
"""

from __future__ import annotations

import re
from typing import Any

import yaml_rs
from pydantic import ValidationError

from webmem.flow.flowfile import MAX_FLOW_BYTES, MAX_FLOW_DEPTH
from webmem.flow.format import FORMAT_VERSION, Flow

# `&` anchor, `*` alias, `!` tag, `%` directive (at a line's start): a text with none is plain YAML data
_NOT_PLAIN = ("&", "*", "!", "\n%")
# a document marker (`---` or `...` first on a line): the readers disagree on a stream that starts with `...`
_MARKER = re.compile(r"(?:^|\n)(?:---|\.\.\.)(?=[ \t\n]|$)")
# characters outside printable text and \n (tabs, CR, controls, BOM, Unicode line ends and spaces): the
# readers disagree on where some of them may stand
_ODD_CHARACTER = re.compile("[^\n\x20-\x7e\u00a1-\u167f\u1681-\u1fff\u200b-\u2027\u2030-\u205e\u2060-\u2fff"
                            "\u3001-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# an empty key (`: x`) or an explicit one (`? x`), first on a line or after another indicator: the
# readers make different keys of them
# (possessive: what the spaces and dashes took is never given back, so a line fails at once)
_EMPTY_KEY = re.compile(r"\n[ \t]*+(?:-[ \t]++)*+[:?](?=[ \t\n]|$)")
_EMPTY_KEY_AFTER = re.compile(r"[:?-][ \t]++(?:-[ \t]++)*+[:?](?=[ \t\n]|$)")
# a plain scalar the readers take differently: a number with `_` (`_1`, `1_000`, `5e6_`, `0o_`) or with
# 0X / 0O / 0B in capitals; one that starts like a date or time (all the loader reads start \d{4}-\d: the
# readers disagree on some forms); `=` (YAML 1.1's value key, which the loader refuses)
_ODD_SCALAR = re.compile(r"[\s\[{,](?=[-+\d._=])(?:[-+]?(?:[\d.][\w.+-]*_|_|0[XOB])|\d{4}-\d|=(?=[\s\]},:]|$))")
# a block scalar's indicator (| or >, then the line's end): the readers disagree on some of their line ends
_BLOCK = re.compile(r"[|>](?<=\s.)(?=[-+\d]*[ \t]*(?:#[^\n]*)?(?:\n|$))")  # (after a space: see _FLOW)
# a flow collection ([a, b] or {k: v}): read here only when it closes on its line and holds only safe
# plain scalars, with no `:` but a key's `: ` (the readers disagree on colons and indicators in flows)
_FLOW = re.compile(r"[\[{](?<=\s.)")  # where a value may start: after a space (the text is read with one before)
_SAFE = r"[^\s:\[\]{}#'\"?|>\\!&*%@`,-][^:\[\]{}#'\"?|>\\!&*%@`,]*"  # a plain scalar in a flow, safely
_FLOW_OK = re.compile(rf"[ ]*(?:{_SAFE}(?:: {_SAFE})?(?:, {_SAFE}(?:: {_SAFE})?)*)?[\]}}]")


def quick_flow(data: bytes | str) -> Flow | None:
    """The flow in a file's bytes (or text), or None when the loader has to read it (not plain, or not a
    valid flow)."""
    if isinstance(data, bytes):
        if len(data) > MAX_FLOW_BYTES:
            return None
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    doc = plain_data(data)
    version = doc.get("webmem") if doc is not None else None
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        return None
    try:
        return Flow.model_validate(doc)
    except ValidationError:
        return None


# Every check below looks at one line at a time (none reaches past a line's end), so a line found plain
# once is plain in any file: the flows of one store share most of their lines (keys, selectors, page
# tokens), and only the lines not seen before are scanned, joined into one text.
_PLAIN_LINES: set[str] = set()
_MAX_PLAIN_LINES = 200_000  # then forgotten and learned again: bounded memory
# each level of block nesting moves a line's content right by one column or more, or (a sequence as a
# mapping's value) by none, then by two: content left of column (MAX_FLOW_DEPTH - 3) / 2 bounds the depth;
# a line that starts with that many spaces and dashes may nest deeper (its depth is then counted)
_DEEP_LINE = re.compile(rf"^[ -]{{{(MAX_FLOW_DEPTH - 3) // 2 + 1}}}", re.MULTILINE)


def plain_data(text: str) -> dict[str, Any] | None:
    """The mapping in `text`, read by the fast reader, when it is certainly what the loader reads (the
    same keys and values of the same types), else None."""
    lines = text.split("\n")
    new = [line for line in lines if line not in _PLAIN_LINES]
    unseen = "\n".join(new)
    if new and not _plain_lines(unseen):
        return None
    try:
        doc = yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    if new and _DEEP_LINE.search(unseen):  # (lines that deep are never kept as plain)
        return doc if _depth(doc) <= MAX_FLOW_DEPTH else None
    if len(_PLAIN_LINES) + len(new) > _MAX_PLAIN_LINES:
        _PLAIN_LINES.clear()
    _PLAIN_LINES.update(new)
    return doc


def _plain_lines(text: str) -> bool:
    """Whether these lines hold nothing the readers could take differently: no anchor, alias, tag or
    directive, no odd character, no odd plain scalar, no block scalar or odd flow collection, no date or
    time the readers could take differently (the loader reads some forms as dates that this reader reads
    as text and the other way round: a value that looks like one is read here only quoted), no plain `=`
    or `<<` (YAML 1.1's value and merge keys, which the loader refuses), no empty or explicit key."""
    if text.startswith("%") or any(mark in text for mark in _NOT_PLAIN) or _MARKER.search(text):
        return False
    if _ODD_CHARACTER.search(text) or _ODD_SCALAR.search(" " + text) or _block_or_odd_flow(text):
        return False
    return not ("<<" in text or _EMPTY_KEY.search("\n" + text) or _EMPTY_KEY_AFTER.search(text))


def _opens(text: str, at: int) -> bool:
    """Whether the indicator at `at` stands where a value starts: first on its line, or after `key:`,
    `- ` or `? ` and a space."""
    before = text[text.rfind("\n", 0, at) + 1:at]
    head = before.rstrip(" \t")
    return not head or (head[-1] in ":?-" and len(head) < len(before))


def _block_or_odd_flow(text: str) -> bool:
    text = "\n" + text
    if any(_opens(text, m.start()) for m in _BLOCK.finditer(text)):
        return True
    for m in _FLOW.finditer(text):
        if _opens(text, m.start()):
            end = text.find("\n", m.start())
            if not _FLOW_OK.fullmatch(text[m.start() + 1:end if end >= 0 else len(text)].rstrip()):
                return True
    return False


def _depth(doc: dict[str, Any]) -> int:
    """How deep lists and mappings nest (the loader counts the same way, from 1 for the top mapping)."""
    depth, level = 0, list[Any]([doc])
    while level:
        depth += 1
        level = [c for node in level for c in (node.values() if isinstance(node, dict) else node)
                 if isinstance(c, dict | list)]
    return depth
