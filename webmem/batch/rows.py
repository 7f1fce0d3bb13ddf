"""One row reader for data files: CSV (any delimiter, BOM, quoted newlines), JSON Lines, a JSON list,
Excel .xlsx, and YAML. Rows are streamed, so a large file is never held in memory whole (YAML and a
JSON mapping of id -> row, the pytest plugin's small forms, are the exceptions).

A list input (an invoice's lines) comes in a JSON or JSON Lines row as a list of items, or from a second
file of child rows (`with_children`): each child row names its parent row's id in one column, its other
columns are the item's fields, in file order."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webmem.errors import DataFileError
from webmem.extras import require

SNIFF_BYTES = 64 * 1024
# caps on what one data file may make webmem hold: a row is a form's worth of values, not a memory bomb
MAX_DEPTH = 16  # nesting of a value (a list input's items are 2-3 deep); json.loads recurses, deeper is an attack
MAX_CELL_CHARS = 1_000_000  # one cell (a note, a description)
MAX_ROW_CHARS = 4_000_000  # one row, all its values as JSON (what the journal keeps of it)
MAX_LINE_BYTES = MAX_ROW_CHARS + 1024  # one JSON Lines line
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024  # an .xlsx is a zip: the sum of its parts as openpyxl would read them
DELIMITERS = ",;\t|"
JSONL_SUFFIXES = (".jsonl", ".ndjson")
ID_KEY = "id"


@dataclass
class Row:
    n: int  # 1-based row number among the data rows (the header is not a row)
    key: str  # the `id` column, else row<n>
    values: dict[str, Any]  # column -> value; empty cells are left out (the input's default applies)


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of a data file, one at a time."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(".xlsx"):
        raw = _xlsx(path)
    elif name.endswith(JSONL_SUFFIXES):
        raw = _jsonl(path)
    elif name.endswith(".json"):
        raw = _json(path)
    elif name.endswith((".yaml", ".yml")):
        raw = _yaml(path)
    else:
        raw = _csv(path)
    empty = True
    for n, item in enumerate(raw, 1):
        empty = False
        if not isinstance(item, dict):
            raise DataFileError(f"{path}: row {n}: expected a mapping of column -> value, got {type(item).__name__}")
        _check_size(path, n, item)
        values = {str(k).strip(): _cell(v) for k, v in item.items() if k is not None and str(k).strip()}
        values = {k: v for k, v in values.items() if v is not None and v != ""}
        key = str(values.pop(ID_KEY, "") or "").strip() or f"row{n}"
        yield Row(n, key, values)
    if empty:
        raise DataFileError(f"{path}: no rows")


def with_children(rows: Iterator[Row], children: Mapping[str, Path], parent_key: str,
                  parent_keys: Collection[str] = ()) -> Iterator[Row]:
    """The rows, each with its child rows as list inputs: `children` maps a list input to a data file whose
    column `parent_key` holds the parent row's id (its `id` column). A child row whose parent is not among
    `parent_keys` (when given) is an error before any row is entered; a parent with none gets no value."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, path in children.items():
        group = groups[name] = {}
        for child in read_rows(path):
            values = dict(child.values)
            if child.key != f"row{child.n}":  # a child's own `id` column is one of its fields
                values[ID_KEY] = child.key
            parent = str(values.pop(parent_key, "") or "").strip()
            if not parent:
                raise DataFileError(f"{path}: row {child.n}: no {parent_key!r} (the parent row's id)")
            group.setdefault(parent, []).append(values)
        orphans = sorted(set(group) - set(parent_keys)) if parent_keys else []
        if orphans:
            raise DataFileError(f"{path}: rows for {parent_key} {', '.join(map(repr, orphans[:5]))} name no row "
                                "of the parent file (by its id column)")
    for row in rows:
        for name, group in groups.items():
            if row.key in group:
                if name in row.values:
                    raise DataFileError(f"row {row.n} ({row.key}): {name!r} is given both in the row and as child "
                                        "rows")
                row.values[name] = group[row.key]
        yield row


def _depth(value: Any, limit: int) -> int:
    """How deep `value` nests, counting no further than past `limit` (so a deep value costs no more)."""
    if limit < 0 or not isinstance(value, dict | list):
        return 0
    inner = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in inner), default=0)


def _check_size(path: Path, n: int, item: dict[Any, Any]) -> None:
    """A row within the caps: each cell, the whole row, and how deep its values nest."""
    total = 0
    for column, value in item.items():
        if _depth(value, MAX_DEPTH) > MAX_DEPTH:
            raise DataFileError(f"{path}: row {n}: column {str(column)[:40]!r} nests more than {MAX_DEPTH} levels")
        size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
        if isinstance(value, str) and size > MAX_CELL_CHARS:
            raise DataFileError(f"{path}: row {n}: column {str(column)[:40]!r} holds {size} characters "
                                f"(at most {MAX_CELL_CHARS})")
        total += size + len(str(column))
        if total > MAX_ROW_CHARS:
            raise DataFileError(f"{path}: row {n}: the row holds more than {MAX_ROW_CHARS} characters")


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # Excel keeps 42 as 42.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    try:
        # utf-8-sig drops a byte-order mark; newline="" lets the csv module keep quoted newlines
        with path.open(encoding="utf-8-sig", newline="") as f:
            sample = f.read(SNIFF_BYTES)
            if not sample.strip():
                raise DataFileError(f"{path}: the file is empty (expected a header line and rows)")
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
            except csv.Error:
                dialect = csv.excel_tab if path.name.lower().endswith(".tsv") else csv.excel
            f.seek(0)
            reader = csv.DictReader(f, dialect=dialect)
            if not reader.fieldnames:
                raise DataFileError(f"{path}: no header line")
            for row in reader:
                if None in row:
                    raise DataFileError(f"{path}: row {reader.line_num - 1}: more cells than the header has columns")
                yield row
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataFileError(f"{path}: cannot parse CSV: {exc}") from None


def _jsonl(path: Path) -> Iterator[Any]:
    with path.open("rb") as f:
        line_no = 0
        while raw := f.readline(MAX_LINE_BYTES + 1):  # a line is read with a cap: no 420 MB row
            line_no += 1
            if len(raw) > MAX_LINE_BYTES:
                raise DataFileError(f"{path}: line {line_no}: longer than {MAX_LINE_BYTES} bytes")
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataFileError(f"{path}: line {line_no}: not UTF-8 text ({exc.reason} at byte "
                                    f"{exc.start})") from None
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{path}: line {line_no}: not JSON: {exc.msg}") from None
            except RecursionError:
                raise DataFileError(f"{path}: line {line_no}: nests more than {MAX_DEPTH} levels") from None


def _json(path: Path) -> Iterator[Any]:
    ijson = require("ijson")

    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
        f.seek(0)
        if not head:
            raise DataFileError(f"{path}: the file is empty")
        if head[:1] == b"[":
            try:
                yield from _json_items(path, f)
            except ijson.JSONError as exc:
                raise DataFileError(f"{path}: cannot parse JSON: {exc}") from None
            return
        try:
            raw = json.loads(f.read(MAX_ROW_CHARS * 4).decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFileError(f"{path}: cannot parse JSON: {exc}") from None
        except RecursionError:
            raise DataFileError(f"{path}: nests more than {MAX_DEPTH} levels") from None
    yield from _mapping_rows(path, raw)


def _json_items(path: Path, f: Any) -> Iterator[Any]:
    """The items of a top-level JSON list, streamed (ijson's events), refusing an item that nests deeper than
    MAX_DEPTH before it is built (`[[[[...` 100,000 deep costs a moment, not minutes) or grows past a row's
    worth of text."""
    ijson = require("ijson")
    ObjectBuilder = require("ijson.common").ObjectBuilder  # noqa: N806 - a class

    depth, n, size, builder = 0, 0, 0, None
    # basic_parse: no prefixes ("item.item.item..." grows with every level: 100,000 levels took minutes)
    for event, value in ijson.basic_parse(f, use_float=True):  # use_float: numbers as int/float, not Decimal
        if event in ("start_map", "start_array"):
            depth += 1
            if depth == 1:  # the list of rows itself
                continue
            if depth > MAX_DEPTH + 1:  # +1: the list of rows
                raise DataFileError(f"{path}: row {n}: nests more than {MAX_DEPTH} levels")
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                continue
        if builder is None:
            n += 1
            if depth == 1:  # a row that is no mapping: read_rows names it
                yield value
                continue
            builder, size = ObjectBuilder(), 0
        if isinstance(value, str):
            size += len(value)
            if size > MAX_ROW_CHARS:
                raise DataFileError(f"{path}: row {n}: the row holds more than {MAX_ROW_CHARS} characters")
        builder.event(event, value)
        if depth == 1:  # the row's own end
            yield builder.value
            builder = None


def _yaml(path: Path) -> Iterator[Any]:
    from ruamel.yaml import YAML

    try:
        raw = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse error is the file's problem, said in one line
        raise DataFileError(f"{path}: cannot parse YAML: {exc}") from None
    yield from _mapping_rows(path, raw)


def _mapping_rows(path: Path, raw: Any) -> Iterator[Any]:
    """A list of rows, {rows: [...]}, or a mapping of id -> row."""
    if isinstance(raw, dict) and isinstance(raw.get("rows"), list):
        raw = raw["rows"]
    if isinstance(raw, dict):
        raw = [{ID_KEY: str(k), **(v or {})} if isinstance(v, dict) else v for k, v in raw.items()]
    if raw is None:
        return
    if not isinstance(raw, list):
        raise DataFileError(f"{path}: expected a list of rows (or a mapping of id -> row)")
    yield from raw


def _xlsx(path: Path) -> Iterator[dict[str, Any]]:
    import zipfile

    load_workbook = require("openpyxl").load_workbook

    try:  # a workbook is a zip: what its parts hold unpacked is known before openpyxl unpacks any (a zip bomb)
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFileError(f"{path}: cannot open workbook: {exc}") from None
    if unpacked > MAX_XLSX_UNCOMPRESSED:
        raise DataFileError(f"{path}: the workbook unpacks to {unpacked // (1024 * 1024)} MiB (at most "
                            f"{MAX_XLSX_UNCOMPRESSED // (1024 * 1024)} MiB)")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)  # read_only streams the sheet
    except Exception as exc:  # noqa: BLE001 - a broken workbook is the file's problem, said in one line
        raise DataFileError(f"{path}: cannot open workbook: {exc}") from None
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(h is not None for h in header):
            raise DataFileError(f"{path}: the first sheet has no header row")
        names = [str(h).strip() if h is not None else "" for h in header]
        for cells in rows:
            if all(c is None for c in cells):
                continue
            yield {k: v for k, v in zip(names, cells, strict=False) if k}
    finally:
        wb.close()
