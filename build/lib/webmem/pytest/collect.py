"""Flow files as pytest tests: `pytest flows/` (or --webmem-flows DIR) makes a test of every YAML file
with a top-level `webmem:` key, one per row of a sibling NAME.data.yaml / .data.json / .data.csv.

Items are `pytest.Function`s whose test function asks for the `webmem` fixture, so pytest's own
fixture machinery gives them pytest-playwright's `page` (and its context, tracing, screenshots,
video, `--browser`, `--headed`, `base_url`) and any conftest overrides of those fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from webmem.batch.rows import read_rows
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
    """(id, inputs) per row, read by batch's row reader. Ids come from an `id` column/key, else the row
    number (row1, row2, …); a mapping of id -> inputs is accepted too. Empty cells are left out (the
    input's default applies)."""
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for row in read_rows(path):
        if row.key in seen:
            raise DataFileError(f"{path}: row {row.n}: duplicate id {row.key!r}")
        seen.add(row.key)
        rows.append((row.key, row.values))
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
