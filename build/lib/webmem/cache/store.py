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
import os
import re
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from webmem.cache.entry import Entry
from webmem.cache.index import BadRow, IndexDB, Stamp
from webmem.cache.quickread import quick_flow
from webmem.errors import FlowFormatError, StoreError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.inputs import PLACEHOLDER, learned_values
from webmem.flow.model import Signature, slug
from webmem.flow.urlpattern import matches, origin_of
from webmem.steps import STEPS

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


def describe(path: Path, rel: str, stat: os.stat_result) -> Entry:
    """Read one flow file into an index entry (a broken file becomes an entry with an error)."""
    entry = Entry(path=rel, mtime_ns=stat.st_mtime_ns, size=stat.st_size, ctime_ns=stat.st_ctime_ns, digest="")
    try:
        with path.open("rb") as fh:  # never more than a flow may hold (a device or FIFO never ends)
            data = fh.read(flowfile.MAX_FLOW_BYTES + 1)
    except OSError:
        data = b""  # the loader says why
    if not (flowfile.is_flow_name(path.name) and flowfile.is_flow_text(data.decode("utf-8", errors="replace"))):
        entry.other = True
        return entry
    flow = quick_flow(data) if data else None
    if flow is not None:
        entry.digest = hashlib.sha256(data).hexdigest()[:16]  # = text_digest of the text it decodes to
    else:  # not plain YAML, or broken: the loader reads it and names the problem
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
    entry.fixed = learned_values(flow)
    return entry


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def start_of(flow: Flow) -> tuple[str | None, str, Signature | None] | None:
    """(origin, start URL pattern, start signature) of a flow that begins with a goto."""
    first = flow.steps[0]
    if not STEPS[first.action].opens_address:
        return None
    address = PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", first.args)
    origin = origin_of(address) if "://" in address else (origin_of(flow.base_url) if flow.base_url else None)
    page = next((s.page for s in flow.steps if s.page), None)
    sig = flow.pages[page].signature if page else None
    return origin, address, sig


class FlowStore:
    """A folder of flow files and its index (`.webmem/index.sqlite`, see webmem.cache.index).

    A process brings the index up to date once (`sync`: the folders are walked and each file's (mtime,
    size, ctime) compared with what the index read; only new and changed files are read), then trusts the
    folders' modification times for files that came or went (every webmem write is a rename), and
    re-checks the few candidate files of each lookup (a file edited in place moves no folder's mtime)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.meta = self.root / flowfile.LOCAL_DIR
        self.index_path = self.meta / "index.sqlite"
        self._db: IndexDB | None = None
        self._stamps: dict[str, Stamp] | None = None  # the files as the last sync found them
        self._looked = False  # whether this process has read the index yet
        self._verified = False  # whether every file was checked against the index in this process
        self._by_key: dict[str, list[Entry]] = {}  # rows read from the index since
        self._broken: list[Entry] | None = None
        self._seen_mtime: dict[str, int] | None = None
        self._folders: set[str] = set()

    # ---- files ----------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the store folder and its metadata folder (kept out of git: counters churn)."""
        try:
            flowfile.local_dir(self.root)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the flow store: {exc}") from None

    def walk(self) -> tuple[dict[str, os.stat_result], set[str]]:
        """The candidate flow files (path relative to the store -> its stat) and the folders they are in;
        hidden folders (like .webmem) and NAME.data.yaml files are left out, links to folders not followed."""
        files: dict[str, os.stat_result] = {}
        folders: set[str] = {"."}
        todo = [(str(self.root), "")]
        while todo:
            folder, prefix = todo.pop()
            try:
                listing = os.scandir(folder)
            except OSError:
                continue
            with listing:
                for d in listing:
                    if d.name.startswith("."):
                        continue
                    try:
                        if d.is_dir(follow_symlinks=False):
                            folders.add(prefix + d.name)
                            todo.append((d.path, f"{prefix}{d.name}/"))
                        elif flowfile.is_flow_name(d.name) and d.is_file():
                            files[prefix + d.name] = d.stat()
                    except OSError:  # gone since the listing
                        continue
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

    def _index(self) -> IndexDB:
        if self._db is not None:
            return self._db
        if not self.root.is_dir():
            return IndexDB(None)  # nothing to index yet; made on disk once the store exists
        try:
            self.ensure()
        except StoreError:
            self._db = IndexDB(None)  # a store that cannot be written is indexed in memory
            return self._db
        with contextlib.suppress(OSError):
            (self.meta / "index.json").unlink()  # the index of earlier versions
        self._db = IndexDB(self.index_path)
        return self._db

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

    def sync(self) -> None:
        """Bring the index up to date with the files: read the new and changed ones, forget the removed."""
        started = time.time_ns()
        files, self._folders = self.walk()
        mtime = self._dir_mtimes()
        # else a folder changed while it was read (file times come from a coarse clock: a margin)
        clean = all(m < started - 50_000_000 for m in mtime.values())
        now = {rel: stamp_of(st) for rel, st in files.items()}
        db = self._index()
        try:
            self._update(db, files, now, mtime if clean else None)
        except sqlite3.OperationalError:  # waited too long for another writer, or the disk refused: in memory
            self._db = db = IndexDB(None)
            self._update(db, files, now, None)
        except sqlite3.DatabaseError:  # damaged where opening it did not look: made afresh
            db.close()
            IndexDB.remove(self.index_path)
            self._db = db = IndexDB(self.index_path)
            self._update(db, files, now, mtime if clean else None)
        if now != self._stamps:
            self._by_key, self._broken = {}, None
        self._stamps = now
        self._seen_mtime = mtime if clean else None  # (None: look again next time)
        self._looked = self._verified = True

    def _update(self, db: IndexDB, files: dict[str, os.stat_result], now: dict[str, Stamp],
                folders: dict[str, int] | None) -> None:
        if now == db.stamps():
            if db.folders() != (folders or {}):
                with db.writing():
                    db.set_folders(folders)
            return
        with db.writing():  # one process reads the files; the others wait, then find the rows there
            stored = db.stamps()
            db.put((describe(self.path_of(rel), rel, files[rel]) for rel in now if stored.get(rel) != now[rel]),
                   [rel for rel in stored if rel not in now])
            db.set_folders(folders)  # the rows match every file while the folders keep these mtimes

    def _fresh(self) -> None:
        """Before a lookup reads the index: a process's first look takes the index as it is when no
        folder changed since it was last checked against every file (no walk over 10,000 files; a file
        edited in place is caught as a candidate, and by `verify` before a miss); later looks re-read
        only when a folder changed."""
        if not self._looked:
            self._looked = True
            if self._trust_folders():
                return
        if self._stale():
            self.sync()

    def _trust_folders(self) -> bool:
        if not self.root.is_dir():
            return False
        try:
            folders = self._index().folders()
        except sqlite3.Error:
            return False
        self._folders = set(folders)
        if not folders or self._dir_mtimes() != folders:
            return False
        self._seen_mtime, self._stamps, self._by_key, self._broken = folders, None, {}, None
        return True

    def verify(self) -> bool:
        """Check every file against the index, once a process, if the first look trusted the folders;
        returns whether it did (a lookup about to miss then looks again)."""
        if self._verified:
            return False
        self.sync()
        return True

    def refresh(self) -> list[Entry]:
        """Bring the index up to date with the files; returns the flow files (broken ones included)."""
        self.sync()
        return self._all()

    def _read(self, read: Callable[[IndexDB], list[Entry]]) -> list[Entry]:
        """Rows of the index; a row that does not read (bad JSON, another shape) makes the index afresh from
        the files, once, instead of a traceback: it is only a cache."""
        db = self._index()
        try:
            return read(db)
        except BadRow:
            with db.writing():
                db.put([], list(db.stamps()))  # every row forgotten: the next sync reads every file again
                db.set_folders(None)
            self._by_key, self._broken = {}, None
            self.sync()
            return read(self._index())

    def _all(self) -> list[Entry]:
        return [e for e in self._read(IndexDB.all) if not e.other]

    def entries(self) -> list[Entry]:
        """The flow files (broken ones included, with their error)."""
        if not self._verified or self._stale():
            self.sync()
        return self._all()

    def broken(self) -> list[Entry]:
        """The flow files that are not valid flows, with their error."""
        self._fresh()
        if self._broken is None:
            self._broken = self._read(IndexDB.broken)
        return self._broken

    def candidates(self, key: str, url: str) -> list[Entry]:
        """Flows for this task identity whose start URL pattern fits `url` (same origin)."""
        self._fresh()
        found = self._with_key(key)
        if any(self._changed(e) for e in found):  # edited in place: the folder's mtime did not move
            self.sync()
            found = self._with_key(key)
        return [e for e in found if e.start and self._fits_url(e, url)]

    def _with_key(self, key: str) -> list[Entry]:
        if key not in self._by_key:
            self._by_key[key] = self._read(lambda db: db.with_key(key))
        return self._by_key[key]

    def _changed(self, e: Entry) -> bool:
        try:
            stat = self.path_of(e.path).stat()
        except OSError:
            return True
        return stamp_of(stat) != (e.mtime_ns, e.size, e.ctime_ns)

    @staticmethod
    def _fits_url(e: Entry, url: str) -> bool:
        if e.origin and origin_of(url) != e.origin:
            return False
        assert e.start is not None
        return matches(e.start, url, e.origin)


def stamp_of(stat: os.stat_result) -> Stamp:
    """What says a file may have changed: a write moves mtime and ctime (ctime even when a tool puts the
    old mtime back), a replacement by rename too."""
    return stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns
