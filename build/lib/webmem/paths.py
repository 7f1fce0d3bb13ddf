"""Where webmem writes files the user pointed it at: names taken from flows become safe file names, and
output options are checked before any browser starts (so a bad one is a clear error, not a traceback
after the run, and nothing is written outside the folder the user gave)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from webmem.errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str, default: str = "flow") -> str:
    """A flow's name as one file name: no separators, no `..`, no leading dot, bounded length.
    `../../x` → `x`, `/abs/path` → `abs-path`."""
    cleaned = _UNSAFE.sub("-", name)
    cleaned = re.sub(r"\.{2,}", "-", cleaned)  # `..` never survives, not even inside a name
    cleaned = cleaned.strip("-.")[:100].strip("-.")
    return cleaned or default


def inside(folder: Path, name: str, suffix: str = "") -> Path:
    """`folder/<safe name><suffix>`: a path that is certainly inside `folder`."""
    path = folder / f"{safe_name(name)}{suffix}"
    if not path.resolve().is_relative_to(folder.resolve()):  # a symlinked name cannot lead out either
        raise InputError(f"{path}: would be written outside {folder}")
    return path


def _first_non_folder(path: Path) -> Path | None:
    """The first existing ancestor of `path` that is not a folder (so nothing can be created below it)."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def out_dir(path: Path | None, option: str) -> None:
    """`--trace DIR`, `--artifacts DIR`: a folder, or creatable as one."""
    if path is None:
        return
    blocker = path if path.exists() and not path.is_dir() else _first_non_folder(path)
    if blocker is not None:
        raise InputError(f"{option} {path}: {blocker} exists and is not a folder")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (a hard link, a symlink or `./x` vs `x` too)."""
    try:
        return a.samefile(b)
    except OSError:  # one does not exist (yet): the same place by name, links resolved
        return a.resolve() == b.resolve()


def not_an_input(path: Path | None, option: str, inputs: Mapping[str, Path | str | None]) -> None:
    """An output that is none of the run's `inputs` (what it reads, by what names them): `--out rows.csv`
    must not silently replace the rows it reads, nor `--report flow.yaml` the flow."""
    if path is None:
        return
    for what, given in inputs.items():
        if given is not None and "://" not in str(given) and _same_file(path, Path(given)):
            raise InputError(f"{option} {path}: is {what}, which this run reads; give another file name")


def out_file(path: Path | None, option: str, inputs: Mapping[str, Path | str | None] | None = None) -> None:
    """`--report F`, `--out F`: a file that can be (over)written, and none of the run's `inputs` (what it reads:
    the flow, the data file, child rows, a sign-in flow... by what names them): `--out rows.csv` must not
    silently replace the rows it reads."""
    if path is None:
        return
    not_an_input(path, option, inputs or {})
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    blocker = _first_non_folder(path)
    if blocker is not None:
        raise InputError(f"{option} {path}: {blocker} exists and is not a folder")
