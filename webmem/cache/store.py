"""The flow store: a folder of flow files (the source of truth, reviewed in git) and a small index for
finding the flow that fits a task on a page.

The lookup key is the task's identity (its words with input values taken out, so the same task with
other inputs finds the same flow), the start URL pattern, and the start page's DOM signature (several
variants may share task and URL; the signature tells them apart). The index lives in `.webmem/` beside
the flows, is rebuilt from the files whenever it is missing, unreadable or stale, and is never the only
copy of anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from webmem.errors import FlowFormatError, StoreError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import PLACEHOLDER, placeholders
from webmem.flow.model import Signature, slug
from webmem.flow.urlpattern import matches, origin_of

INDEX_VERSION = 1


# ---- task identity ------------------------------------------------------------------------------


def task_template(task: str, values: Mapping[str, Any]) -> str:
    """The task with input values written as `{{ key }}`: "Create customer Ada" with name=Ada becomes
    "Create customer {{ name }}". Whole words only, in one pass (longest value first, placeholders
    already there left alone). A one-character value counts only in its exact case, and never the
    words "a" and "I"."""
    words: dict[str, str] = {}
    exact: dict[str, str] = {}
    for key, value in values.items():
        v = str(value).strip()
        if len(v) >= 2:
            words.setdefault(v.lower(), key)
        elif v and v.lower() not in {"a", "i"}:
            exact.setdefault(v, key)
    if not words and not exact:
        return task
    alternatives = [re.escape(v) for v in sorted([*words, *exact], key=len, reverse=True)]
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", re.IGNORECASE)

    def swap(m: re.Match[str]) -> str:
        found = m.group(0)
        key = exact.get(found) if len(found) == 1 else words.get(found.lower())
        return "{{ " + key + " }}" if key else found

    parts = re.split(r"(\{\{.*?\}\})", task)  # placeholders (odd parts) are kept as they are
    return "".join(p if i % 2 else pattern.sub(swap, p) for i, p in enumerate(parts))


def task_key(task: str) -> str:
    """A task's identity: lower case, punctuation and spacing normalised, placeholders as `{key}`."""
    text = PLACEHOLDER.sub(lambda m: f" {{{m.group(1)}}} ", task).lower()
    return " ".join(re.findall(r"\{[\w-]+\}|[^\W_]+", text))


# ---- the index ----------------------------------------------------------------------------------


class Entry(BaseModel):
    """What the index keeps of one flow file."""

    path: str = Field(description="relative to the store")
    mtime_ns: int
    size: int
    digest: str = Field(description="sha256 of the file's text: what quarantine and stats refer to")
    name: str = ""
    task: str = ""
    key: str = ""
    origin: str | None = None
    start: str | None = Field(None, description="the first goto as a URL pattern")
    signature: Signature | None = Field(None, description="the start page state's signature")
    inputs: dict[str, bool] = Field(default_factory=dict, description="input -> needs a value")
    fixed: dict[str, str] = Field(default_factory=dict, description="inputs no step uses -> the value the flow "
                                  "was learned with (a click on that choice is fixed in the steps)")
    error: str | None = Field(None, description="why the file is not a usable flow")
    other: bool = Field(False, description="a YAML file that is no flow (remembered so it is not re-read)")

    def accepts(self, values: Mapping[str, Any]) -> bool:
        """Whether a run with these inputs fits the flow: the same keys (required ones given), and for an
        input no step uses, the value it was learned with (another value would need another click)."""
        if not set(values) <= set(self.inputs) or any(k not in values for k, need in self.inputs.items() if need):
            return False
        return all(str(values[k]).strip().lower() == v.strip().lower() for k, v in self.fixed.items() if k in values)


class Index(BaseModel):
    version: int = INDEX_VERSION
    entries: list[Entry] = Field(default_factory=list)


def describe(path: Path, rel: str, stat: os.stat_result) -> Entry:
    """Read one flow file into an index entry (a broken file becomes an entry with an error)."""
    entry = Entry(path=rel, mtime_ns=stat.st_mtime_ns, size=stat.st_size, digest="")
    if not flowfile.is_flow_file(path):
        entry.other = True
        return entry
    try:
        ff = flowfile.load_flow(path, round_trip=False)
    except FlowFormatError as exc:
        entry.error = "; ".join(exc.problems)
        return entry
    entry.digest = text_digest(ff.text)
    flow = ff.flow
    entry.name, entry.task, entry.key = flow.name, flow.task, task_key(flow.task)
    try:
        start = start_of(flow)
    except ValueError as exc:  # an address urllib cannot split (e.g. a broken IPv6 host)
        entry.error = f"{rel}: step 1 (goto): {exc}"
        return entry
    if start is not None:
        entry.origin, entry.start, entry.signature = start
    entry.inputs = {k: s.required and s.default is None and not s.env for k, s in flow.inputs.items()}
    used = set(placeholders(json.dumps([step.model_dump(mode="json", by_alias=True) for step in flow.steps])))
    entry.fixed = {k: str(s.default) for k, s in flow.inputs.items()
                   if k not in used and s.default not in (None, "") and not s.secret}
    return entry


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def start_of(flow: Flow) -> tuple[str | None, str, Signature | None] | None:
    """(origin, start URL pattern, start signature) of a flow that begins with a goto."""
    first = flow.steps[0]
    if first.action != "goto":
        return None
    address = PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", first.args)
    origin = origin_of(address) if "://" in address else (origin_of(flow.base_url) if flow.base_url else None)
    page = next((s.page for s in flow.steps if s.page), None)
    sig = flow.pages[page].signature if page else None
    return origin, address, sig


class FlowStore:
    """A folder of flow files and its index. Lookups refresh the index cheaply: the folders'
    modification times say whether files came or went (every webmem write is a rename), and the few
    candidate files of a lookup are re-checked each time."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.meta = self.root / flowfile.LOCAL_DIR
        self.index_path = self.meta / "index.json"
        self._entries: dict[str, Entry] = {}
        self._by_key: dict[str, list[Entry]] = {}
        self._seen_mtime: dict[str, int] | None = None
        self._folders: set[str] = set()

    # ---- files ----------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the store folder and its metadata folder (kept out of git: counters churn)."""
        try:
            flowfile.local_dir(self.root)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the flow store: {exc}") from None

    def scan(self) -> tuple[list[tuple[Path, str]], set[str]]:
        """The candidate flow files (path, path relative to the store) and the folders they are in;
        hidden folders (like .webmem) and NAME.data.yaml files are left out."""
        files: list[tuple[Path, str]] = []
        folders: set[str] = {"."}
        if not self.root.is_dir():
            return files, folders
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            folders.add(Path(folder).relative_to(self.root).as_posix())
            for name in sorted(names):
                if not name.startswith(".") and flowfile.is_flow_name(name):
                    path = Path(folder) / name
                    files.append((path, path.relative_to(self.root).as_posix()))
        return files, folders

    def path_of(self, rel: str) -> Path:
        return self.root / rel

    def add(self, flow: Flow, *, replace: str | None = None) -> str:
        """Store `flow` in a new file named after it (NAME.yaml, NAME-2.yaml, ...), or over the file
        `replace`; the flow's name becomes its file's. Returns the path relative to the store."""
        self.ensure()
        with flowfile.locked(self.meta / "new-flow"):  # two writers never pick the same free name
            if replace is not None:
                path = self.path_of(replace)
            else:
                base = slug(flow.name)[:48].strip("-") or "flow"
                path, n = self.root / f"{base}.yaml", 1
                while path.exists():
                    n += 1
                    path = self.root / f"{base}-{n}.yaml"
            flowfile.save_flow(flow.model_copy(update={"name": path.stem}), path)
        return path.relative_to(self.root).as_posix()

    # ---- the index ------------------------------------------------------------------------------

    def _dir_mtimes(self) -> dict[str, int]:
        """The modification times of the store's folders: a flow added, removed or renamed (every webmem
        write is a rename) changes its folder's."""
        found: dict[str, int] = {}
        for folder in self._folders or {"."}:
            with contextlib.suppress(OSError):
                found[folder] = (self.root / folder).stat().st_mtime_ns
        return found

    def _stale(self) -> bool:
        return self._seen_mtime is None or self._dir_mtimes() != self._seen_mtime

    def _load_index(self) -> dict[str, Entry]:
        try:
            index = Index.model_validate_json(self.index_path.read_bytes())
        except (OSError, ValidationError, ValueError):
            return {}  # missing or unreadable: rebuilt from the files
        if index.version != INDEX_VERSION:
            return {}
        return {e.path: e for e in index.entries}

    def refresh(self) -> list[Entry]:
        """Bring the index up to date with the files; returns the flow files (broken ones included)."""
        started = time.time_ns()
        files, self._folders = self.scan()
        mtime = self._dir_mtimes()
        known = self._entries or self._load_index()
        entries: dict[str, Entry] = {}
        changed = not self.index_path.exists()
        for path, rel in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            old = known.get(rel)
            if old is not None and (old.mtime_ns, old.size) == (stat.st_mtime_ns, stat.st_size):
                entries[rel] = old
            else:
                entries[rel] = describe(path, rel, stat)
                changed = True
        changed = changed or set(entries) != set(known)
        self._set(entries, mtime)
        if any(m >= started for m in mtime.values()):
            self._seen_mtime = None  # a folder changed while it was read: look again next time
        if changed and self.root.is_dir():
            self._write_index()
        return [e for e in entries.values() if not e.other]

    def _set(self, entries: dict[str, Entry], mtime: dict[str, int]) -> None:
        self._entries = entries
        self._by_key = {}
        for e in entries.values():
            if e.error is None and not e.other:
                self._by_key.setdefault(e.key, []).append(e)
        self._seen_mtime = mtime

    def _write_index(self) -> None:
        data = Index(entries=sorted(self._entries.values(), key=lambda e: e.path)).model_dump_json()
        with contextlib.suppress(OSError, StoreError):  # a cache: the files stay the truth
            self.ensure()
            flowfile.write_atomic(self.index_path, data)

    def entries(self) -> list[Entry]:
        """The flow files (broken ones included, with their error)."""
        if self._stale():
            self.refresh()
        return [e for e in self._entries.values() if not e.other]

    def candidates(self, key: str, url: str) -> list[Entry]:
        """Flows for this task identity whose start URL pattern fits `url` (same origin)."""
        if self._stale():
            self.refresh()
        found = self._by_key.get(key, [])
        if any(self._changed(e) for e in found):  # edited in place: the folder's mtime did not move
            self.refresh()
            found = self._by_key.get(key, [])
        return [e for e in found if e.start and self._fits_url(e, url)]

    def _changed(self, e: Entry) -> bool:
        try:
            stat = self.path_of(e.path).stat()
        except OSError:
            return True
        return (stat.st_mtime_ns, stat.st_size) != (e.mtime_ns, e.size)

    @staticmethod
    def _fits_url(e: Entry, url: str) -> bool:
        if e.origin and origin_of(url) != e.origin:
            return False
        assert e.start is not None
        return matches(e.start, url, e.origin)

