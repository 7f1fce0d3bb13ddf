"""Flow files as pytest tests: `pytest flows/` (or --webmem-flows DIR) makes a test of every YAML file
with a top-level `webmem:` key, one per row of a sibling NAME.data.yaml / .data.json / .data.csv.

Items are `pytest.Function`s whose test function asks for the `webmem` fixture, so pytest's own
fixture machinery gives them pytest-playwright's `page` (and its context, tracing, screenshots,
video, `--browser`, `--headed`, `base_url`) and any conftest overrides of those fixtures."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from webmem.errors import DataFileError, WebmemError
from webmem.flow.flowfile import DATA_SUFFIXES, is_flow_file, load_flow
from webmem.pytest.runner import FlowFailed, Webmem

__all__ = ["DataFileError", "FlowCollector", "FlowItem", "data_file_for", "is_flow_file", "load_rows"]


def data_file_for(flow_path: Path) -> Path | None:
    stem = flow_path.name.rsplit(".", 1)[0]
    found = [p for p in (flow_path.with_name(stem + s) for s in DATA_SUFFIXES) if p.is_file()]
    if len(found) > 1:
        raise DataFileError(f"{flow_path}: more than one data file: {', '.join(p.name for p in found)}")
    return found[0] if found else None


def load_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(id, inputs) per row. Ids come from an `id` column/key, else the row number (row1, row2, …);
    a mapping of id -> inputs is accepted too. Empty CSV cells are left out (the input's default
    applies)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read data file: {exc}") from None
    try:
        if path.name.endswith(".csv"):
            raw: Any = [{k.strip(): v for k, v in row.items() if k and v not in (None, "")}
                        for row in csv.DictReader(io.StringIO(text))]
        elif path.name.endswith(".json"):
            raw = json.loads(text)
        else:
            from ruamel.yaml import YAML

            raw = YAML(typ="safe", pure=True).load(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the file's problem, said in one line
        raise DataFileError(f"{path}: cannot parse data file: {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("rows"), list):
        raw = raw["rows"]
    if isinstance(raw, dict):
        raw = [{"id": str(k), **(v or {})} if isinstance(v, dict) else v for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise DataFileError(f"{path}: expected a list of rows (each a mapping of input -> value)")
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for n, row in enumerate(raw, 1):
        if not isinstance(row, dict):
            raise DataFileError(f"{path}: row {n}: expected a mapping of input -> value, got {type(row).__name__}")
        row = dict(row)
        row_id = str(row.pop("id", "") or "").strip() or f"row{n}"
        if row_id in seen:
            raise DataFileError(f"{path}: row {n}: duplicate id {row_id!r}")
        seen.add(row_id)
        rows.append((row_id, row))
    return rows


class FlowCollector(pytest.File):
    """A flow file: one test per data row (or one test on the flow's input defaults)."""

    def collect(self) -> Iterable[pytest.Item]:
        ff = load_flow(self.path)
        data = data_file_for(self.path)
        name = ff.flow.name or self.path.stem
        if data is None:
            yield FlowItem.for_flow(self, name, self.path, {}, None)
            return
        for row_id, inputs in load_rows(data):
            yield FlowItem.for_flow(self, f"{name}[{row_id}]", self.path, inputs, row_id)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, WebmemError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _test_function(path: Path, inputs: dict[str, Any]) -> Callable[..., None]:
    def webmem_flow(webmem: Webmem) -> None:
        webmem.run(path, inputs, check=True)  # a failed run raises FlowFailed, explained

    return webmem_flow


class FlowItem(pytest.Function):
    """One run of a flow file. A failure is reported as the run explained, not a traceback."""

    flow_path: Path
    inputs: dict[str, Any]
    row_id: str | None

    @classmethod
    def for_flow(cls, parent: FlowCollector, name: str, path: Path, inputs: dict[str, Any],
                 row_id: str | None) -> FlowItem:
        item = cls.from_parent(parent, name=name, callobj=_test_function(path, inputs))
        item.flow_path, item.inputs, item.row_id = path, inputs, row_id
        item.add_marker("webmem_flow")
        return item

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], *args: Any, **kw: Any) -> Any:
        if isinstance(excinfo.value, FlowFailed | WebmemError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, *args, **kw)
