"""Flow files on disk: safe YAML in, canonical diff-friendly YAML out.

Loading keeps the round-trip document (comments, key order, quoting) next to the validated model, so
a rewrite changes only the lines of what changed. Writes are atomic (temp file + rename) and locked,
and writing an unchanged flow touches nothing.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString, SingleQuotedScalarString

from webmem.errors import FlowFormatError
from webmem.flow.format import FORMAT_VERSION, Flow, step_kind
from webmem.flow.model import InputSpec

MAX_FLOW_BYTES = 2 * 1024 * 1024
MAX_FLOW_DEPTH = 32  # a flow nests about 6 levels deep; far more is an attack on the parser
LOCAL_DIR = ".webmem"
FLOW_SUFFIXES = (".yaml", ".yml")
DATA_SUFFIXES = (".data.yaml", ".data.yml", ".data.json", ".data.csv")
_TOP_LEVEL_WEBMEM = re.compile(r"^webmem\s*:", re.MULTILINE)
FLOW_STYLE_KEYS = {"attrs", "classes", "healed"}  # short maps and lists that read best on one line (a heal's
# provenance too: one line per healed step in its diff)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")  # round-trip: never constructs Python objects from tags
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold long selectors across lines
    yaml.preserve_quotes = True
    return yaml


@dataclass
class FlowFile:
    path: Path
    flow: Flow
    doc: CommentedMap
    text: str

    def dumps(self) -> str:
        return dumps_doc(self.doc)


def dumps_doc(doc: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()


def is_flow_name(name: str) -> bool:
    """A name a flow file may have: *.yaml or *.yml, but not a NAME.data.yaml of test rows."""
    name = name.lower()
    return name.endswith(FLOW_SUFFIXES) and not name.endswith(DATA_SUFFIXES)


def is_flow_file(path: Path) -> bool:
    """A file with a flow's name and a top-level `webmem:` key."""
    if not is_flow_name(path.name):
        return False
    try:
        with path.open("rb") as fh:  # never more than a flow may hold (a device or FIFO never ends)
            text = fh.read(MAX_FLOW_BYTES + 1).decode("utf-8", errors="replace")
    except OSError:
        return False
    return is_flow_text(text)


def is_flow_text(text: str) -> bool:
    """A text with a top-level `webmem:` key."""
    return bool(_TOP_LEVEL_WEBMEM.search(text))


# ---- loading ------------------------------------------------------------------------------------


def _reject_tags(node: Any, where: str) -> None:
    if isinstance(node, TaggedScalar) or (
        isinstance(node, CommentedMap | CommentedSeq) and node.tag.value is not None
    ):
        raise ValueError(f"{where}: YAML tags are not allowed in a flow file")
    if isinstance(node, dict):
        for k, v in node.items():
            _reject_tags(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _reject_tags(v, f"{where}[{i}]")


def _describe(loc: tuple[Any, ...], raw: Any) -> str:
    """Turn pydantic's error location into 'step 3 (fill): target.selectors'."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        index = parts[1]
        steps = raw.get("steps") if isinstance(raw, dict) else None
        kind = step_kind(steps[index]) if isinstance(steps, list) and index < len(steps) else None
        rest = parts[2:]
        if rest and rest[0] == kind:  # the union's tag repeats the action key
            rest = rest[1:]
        if rest and rest[0] == kind:
            rest = rest[1:]
        head = f"step {index + 1}" + (f" ({kind})" if kind else "")
        return head + (": " + ".".join(map(str, rest)) if rest else "")
    return ".".join(map(str, parts)) or "(top level)"


def _check_events(text: str, path: str) -> None:
    """Refuse anchors and aliases (an alias bomb expands a few hundred bytes into gigabytes of nodes) and
    nesting deeper than MAX_FLOW_DEPTH (the composer recurses), in one linear pass over the parser's
    events, before any node is built."""
    depth = 0
    for event in YAML(typ="safe").parse(text):
        name = type(event).__name__
        if name == "AliasEvent" or getattr(event, "anchor", None):
            mark = event.start_mark
            raise FlowFormatError(path, [f"line {mark.line + 1}, column {mark.column + 1}: YAML anchors and "
                                         "aliases (&name, *name) are not allowed in a flow file"])
        if name in ("MappingStartEvent", "SequenceStartEvent"):
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                mark = event.start_mark
                raise FlowFormatError(path, [f"line {mark.line + 1}: nested more than {MAX_FLOW_DEPTH} levels deep"])
        elif name in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


def parse_flow(text: str, path: str = "<flow>", *, round_trip: bool = True) -> tuple[Flow, Any]:
    """The validated flow and its document. `round_trip=False` parses several times faster (the C safe
    loader, which refuses every tag) but keeps no comments or formatting: for reading, never rewriting."""
    if len(text.encode("utf-8")) > MAX_FLOW_BYTES:
        raise FlowFormatError(path, [f"file is larger than {MAX_FLOW_BYTES // 1024} KiB"])
    try:
        _check_events(text, path)
        try:
            doc = (_yaml() if round_trip else YAML(typ="safe")).load(text)
        except (NotImplementedError, IndexError, AttributeError, TypeError):
            # the round-trip reader gives up on some comment placements (a comment after a key with no value,
            # then a blank line) that are valid YAML: read the data without its comments (a rewrite of this
            # file then drops them), the same data the index's fast reader and the safe reader see
            doc = YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FlowFormatError(path, [f"{where}YAML syntax: {problem}"]) from None
    if not isinstance(doc, dict):
        raise FlowFormatError(path, ["expected a mapping with `webmem`, `name`, `task` and `steps`"])
    try:
        _reject_tags(doc, "")
    except ValueError as exc:
        raise FlowFormatError(path, [str(exc)]) from None
    version = doc.get("webmem")
    if version is None:
        raise FlowFormatError(path, ["webmem: missing format version (expected `webmem: 1`)"])
    if not isinstance(version, int) or isinstance(version, bool):
        raise FlowFormatError(path, [f"webmem: format version must be an integer, got {version!r}"])
    if version > FORMAT_VERSION:
        raise FlowFormatError(
            path,
            [f"webmem: format version {version} is newer than this webmem reads ({FORMAT_VERSION}); "
             "upgrade webmem"],
        )
    if version < 1:
        raise FlowFormatError(path, [f"webmem: unknown format version {version}"])
    try:
        flow = Flow.model_validate(doc)
    except ValidationError as exc:
        from webmem.flow.problems import say  # (pydantic's words into webmem's)

        raise FlowFormatError(path, [say(err, _describe(err["loc"], doc)) for err in exc.errors()]) from None
    return flow, doc


def load_flow(path: str | os.PathLike[str], *, round_trip: bool = True) -> FlowFile:
    p = Path(path)
    try:
        if p.is_dir():
            raise FlowFormatError(str(p), ["is a folder, not a flow file"])
        with p.open("rb") as fh:  # read at most the limit: /dev/zero or a FIFO reports size 0
            data = fh.read(MAX_FLOW_BYTES + 1)
        if len(data) > MAX_FLOW_BYTES:
            raise FlowFormatError(str(p), [f"file is larger than {MAX_FLOW_BYTES // 1024} KiB"])
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise FlowFormatError(str(p), ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowFormatError(str(p), [f"cannot read: {exc}"]) from None
    flow, doc = parse_flow(text, str(p), round_trip=True) if round_trip else _parsed_copy(text, str(p))
    return FlowFile(path=p, flow=flow, doc=doc, text=text)


@functools.lru_cache(maxsize=32)
def _parsed(text: str, path: str) -> tuple[Flow, Any]:
    return parse_flow(text, path, round_trip=False)


def _parsed_copy(text: str, path: str) -> tuple[Flow, Any]:
    """A read-only parse, kept by the file's very text (a hit reads the same flow file run after run): a copy,
    so a caller that changes its flow changes nobody else's. A file that fails to parse is never kept."""
    flow, doc = _parsed(text, path)
    return flow.model_copy(deep=True), copy.deepcopy(doc)


# ---- building and updating documents ------------------------------------------------------------


def to_plain(flow_or_part: Any) -> Any:
    """A model as plain data in field order, without empty values (no noise in the file)."""
    data = _drop_empty(flow_or_part.model_dump(mode="json", by_alias=True, exclude_none=True,
                                               exclude_defaults=True))
    if isinstance(flow_or_part, InputSpec) and flow_or_part.items:  # an item field with every default is one too
        data["items"] = {key: to_plain(spec) for key, spec in flow_or_part.items.items()}
    if not isinstance(flow_or_part, Flow):
        return data
    # in the model's field order: the version key always; an input with every default is still an
    # input (`name: {}`); in each step the action key leads and `expect` follows
    data["webmem"] = flow_or_part.webmem
    if flow_or_part.inputs:
        data["inputs"] = {key: to_plain(spec) for key, spec in flow_or_part.inputs.items()}
    data["steps"] = [dict(sorted(step.items(), key=lambda item: (item[0] == "expect", item[0] != "commit")))
                     for step in data["steps"]]
    return {key: data[key] for key in Flow.model_fields if key in data}


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


@functools.lru_cache(maxsize=8192)
def _reads_back(text: str, inline: bool, style: str) -> bool:
    """Whether the YAML library reads `text` back as itself when it writes it in `style` ('' plain, "'" or '"'),
    as a key and as a value, inside {...}/[...] (`inline`) or in a block. The parser is the judge, not a
    hand-written list of risky characters: ruamel's emitter writes `:a`, `? a` and `hover:x` plain in flow
    context where its own parser then refuses or misreads them."""
    wrap = {"'": SingleQuotedScalarString, '"': DoubleQuotedScalarString}.get(style, str)
    probe, seq = CommentedMap([(wrap(text), 0), ("v", wrap(text))]), CommentedSeq([wrap(text)])
    if inline:
        probe.fa.set_flow_style()
        seq.fa.set_flow_style()
    doc = CommentedMap([("m", probe), ("s", seq)])
    try:
        back = _yaml().load(dumps_doc(doc))
    except YAMLError:
        return False
    return isinstance(back, dict) and list(back.get("m") or {}) == [text, "v"] and back["m"]["v"] == text \
        and back.get("s") == [text]


_WORDS = re.compile(r"\w+(?:[ ./-]\w+)*")  # words, no punctuation YAML gives a meaning: the emitter's own rules hold


def _quoted(value: str, inline: bool, paranoid: bool = False) -> str:
    """`value` as it must be written to read back as itself: as is, single-quoted, or double-quoted (escapes
    for line breaks and control characters such as U+0085 that single quotes would fold). Inside {...}/[...]
    only words stay plain (a plain `hover:x` reads back alone, not beside a quoted line break). `paranoid`:
    double quotes for every string, which escape everything."""
    if isinstance(value, ScalarString) or not value or (value.isascii() and _WORDS.fullmatch(value)):
        return value
    if paranoid or len(value) > 4096:  # (a long text is not kept in the read-back cache: double quotes hold it)
        return DoubleQuotedScalarString(value)
    for style, wrap in (("", str), ("'", SingleQuotedScalarString)):
        if not (inline and not style) and _reads_back(value, inline, style):
            return value if not style else wrap(value)
    return DoubleQuotedScalarString(value)


def _styled(value: Any, key: str | None = None, inline: bool = False, careful: int = 1) -> Any:
    """Plain data as round-trip nodes, short maps and lists on one line. `careful`: 0 strings as the emitter
    writes them, 1 each as it must be to read back (_quoted), 2 every string double-quoted (new_doc tries them
    in this order, checking each by reading it back)."""
    if isinstance(value, dict):
        flow_style = inline or key in FLOW_STYLE_KEYS
        cm = CommentedMap(((_key(k, flow_style, careful) if careful else k), _styled(v, k, flow_style, careful))
                          for k, v in value.items())
        if flow_style:
            cm.fa.set_flow_style()
        return cm
    if isinstance(value, list):
        flow_style = inline or key in FLOW_STYLE_KEYS
        cs = CommentedSeq(_styled(v, inline=flow_style, careful=careful) for v in value)
        if flow_style:
            cs.fa.set_flow_style()
        return cs
    if isinstance(value, str) and careful:
        return _quoted(value, inline, careful > 1)
    return value


def _key(key: Any, inline: bool, careful: int = 1) -> Any:
    return _quoted(key, inline, careful > 1) if isinstance(key, str) else key


def _inline(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node.fa.flow_style())


def new_doc(flow: Flow) -> CommentedMap:
    """The flow as a document that reads back as itself: as the emitter writes it when that reads back (one
    dump and load), else with every string checked on its own (_quoted)."""
    plain = to_plain(flow)
    for careful in (0, 1):
        doc = _styled(plain, careful=careful)
        try:
            if YAML(typ="safe").load(dumps_doc(doc)) == plain:
                return doc
        except YAMLError:
            pass
    return _styled(plain, careful=2)


def merge_into(node: Any, new: Any, key: str | None = None, inline: bool = False) -> Any:
    """Update a round-trip node in place to equal `new`, keeping whatever did not change (and so its
    comments and formatting). Returns the node to store (a fresh one when the shape changed). `inline`: the
    node sits inside a {...} or [...] (what is new in it is quoted as that context needs)."""
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        inner = inline or _inline(node)
        for k in [k for k in node if k not in new]:
            del node[k]
        for position, (k, v) in enumerate(new.items()):
            if k in node:
                merged = merge_into(node[k], v, k, inner)
                if merged is not node[k]:
                    node[k] = merged
            else:
                node.insert(min(position, len(node)), _key(k, inner), _styled(v, k, inner))
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        # item by item over the common length, then added or dropped at the end: a list that grew or
        # shrank keeps its unchanged items as they were
        inner = inline or _inline(node)
        for i, v in enumerate(new[: len(node)]):
            merged = merge_into(node[i], v, None, inner)
            if merged is not node[i]:
                node[i] = merged
        del node[len(new):]
        for v in new[len(node):]:
            node.append(_styled(v, inline=inner))
        return node
    if node == new and type(node) is type(new):
        return node
    if not isinstance(new, dict | list) and str(node) == str(new) and type(new) is not bool:
        # keep the original scalar (and its quoting) when the value is the same
        return node if node == new else new
    return _styled(new, key, inline)


def dump_flow(flow: Flow) -> str:
    return dumps_doc(new_doc(flow))


# ---- writing ------------------------------------------------------------------------------------


def local_dir(folder: Path) -> Path:
    """`folder/.webmem`: webmem's local state beside flows (locks; in a flow store its index and run
    statistics). Created with its own .gitignore, so none of it shows up in a review."""
    d = folder / LOCAL_DIR
    d.mkdir(parents=True, exist_ok=True)
    ignore = d / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# webmem's local state (locks, index, run statistics): not reviewed\n*\n")
    return d


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for rewriting `path`, held on a lock file in the local folder beside it (the
    flow itself is replaced by rename, so its inode cannot carry the lock). filelock (the lock pip and
    virtualenv use) rather than fcntl: flock on POSIX, msvcrt's LockFileEx on Windows, so the package, and the
    pytest plugin every pytest run loads, imports everywhere; a fresh lock object per call, so two threads
    or xdist workers exclude each other as two processes do."""
    folder = path.parent if path.parent.name == LOCAL_DIR else local_dir(path.parent)
    with FileLock(folder / f"{path.name}.lock", thread_local=False):
        yield


def write_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` by temp file + rename. Returns False (and writes nothing) if unchanged."""
    data = text.encode("utf-8")
    try:  # compared as bytes, reading no more than the new text: the old file may be binary or huge
        with path.open("rb") as fh:
            if fh.read(len(data) + 1) == data:
                return False
    except (FileNotFoundError, IsADirectoryError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:  # mkstemp makes 0600; a new file gets the usual mode (what the umask allows)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def rescue(path: Path, data: Any) -> Path:
    """Keep a flow that did not read back (a demonstration is work that cannot be done again for free) as JSON,
    which YAML reads as it is, in `.webmem/unsaved/` beside it: the error names the file. No secret is in it:
    flows hold placeholders, never values."""
    folder = local_dir(path.parent) / "unsaved"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    kept = folder / f"{path.stem}-{stamp}.yaml"
    write_atomic(kept, json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n")
    return kept


def _read_back(text: str, path: Path, data: Callable[[], Any]) -> tuple[Flow, Any]:
    """Never write what we could not read back; but never lose it either (rescue)."""
    try:
        return parse_flow(text, str(path))
    except FlowFormatError as exc:
        try:
            kept = f"the flow is kept in {rescue(path, data())}"
        except (OSError, TypeError, ValueError) as why:
            kept = f"it could not be kept either ({why})"
        raise FlowFormatError(str(path), [*exc.problems, f"not written: it would not read back; {kept}"]) from None


def save_flow(flow: Flow, path: str | os.PathLike[str]) -> bool:
    """Write a new flow (or replace one) canonically. Returns whether the file changed."""
    p = Path(path)
    text = dump_flow(flow)
    _read_back(text, p, lambda: to_plain(flow))
    with locked(p):
        return write_atomic(p, text)


def save_flow_file(ff: FlowFile) -> bool:
    """Write a loaded document back; an unchanged document writes nothing."""
    text = ff.dumps()
    if text == ff.text:
        return False
    _read_back(text, ff.path, lambda: ff.doc)
    with locked(ff.path):
        changed = write_atomic(ff.path, text)
    ff.text = text
    return changed


def update_flow(path: str | os.PathLike[str], change: Callable[[FlowFile], None]) -> tuple[str, str]:
    """Re-read the flow under the lock, apply `change` to it (it edits `ff.doc`), and write it back
    atomically. Another run may have rewritten the file meanwhile: the change sees the current file.
    Returns (old text, new text)."""
    p = Path(path)
    with locked(p):
        ff = load_flow(p)
        before = ff.text
        change(ff)
        text = ff.dumps()
        _read_back(text, p, lambda: ff.doc)
        write_atomic(p, text)
    return before, text


def unified_diff(before: str, after: str, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> str | None:
    """A flow file's change as a unified diff with git-style headers (a/PATH, b/PATH), or None."""
    a, b = (Path(p).as_posix().lstrip("/") for p in (old, new))  # a/tmp/x.yaml, not a//tmp/x.yaml
    return "".join(_unified(before.splitlines(True), after.splitlines(True), f"a/{a}", f"b/{b}")) or None


def _unified(x: list[str], y: list[str], old: str, new: str, n: int = 3) -> Iterator[str]:
    """difflib.unified_diff without its "autojunk" heuristic: in a flow of more than 200 lines, a line as
    common as `selectors:` would count as junk and a one-line change would show as lines removed and added
    again around it (a heal's diff is meant to be read)."""
    matcher = difflib.SequenceMatcher(None, x, y, autojunk=False)
    for first, group in enumerate(matcher.get_grouped_opcodes(n)):
        if first == 0:
            yield f"--- {old}\n+++ {new}\n"
        i1, j1, i2, j2 = group[0][1], group[0][3], group[-1][2], group[-1][4]
        yield f"@@ -{_span(i1, i2)} +{_span(j1, j2)} @@\n"
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                yield from (" " + line for line in x[a1:a2])
                continue
            yield from ("-" + line for line in x[a1:a2])
            yield from ("+" + line for line in y[b1:b2])


def _span(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it (difflib's own rule)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def render_update(path: str | os.PathLike[str], change: Callable[[FlowFile], None]) -> tuple[str, str]:
    """Like update_flow, but only computes the new text (for proposing a patch)."""
    ff = load_flow(path)
    before = ff.text
    change(ff)
    text = ff.dumps()
    parse_flow(text, str(path))
    return before, text
