"""Checking rows against a flow's inputs before any browser starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webmem.batch.rows import Row
from webmem.errors import InputError
from webmem.flow.format import Flow
from webmem.flow.inputs import parse_pairs, resolve_inputs


def parse_map(pairs: list[str]) -> dict[str, str]:
    """`--map column=input` pairs."""
    return parse_pairs(pairs, "--map", "column=input")


def check_row(flow: Flow, row: Row, mapping: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    """The row's values to store (secret inputs left out: they come from the environment at run time).
    Raises InputError naming the field."""
    given = {mapping.get(col, col): value for col, value in row.values.items()}
    for key in given:
        spec = flow.inputs.get(key)
        if spec is not None and spec.secret:
            where = f"${spec.env}" if spec.env else "the environment (declare `env:` on the input)"
            raise InputError(f"input {key!r} is secret: give it in {where}, not in the data file")
    values = resolve_inputs(flow, given, env)
    return {k: v for k, v in values.items() if not flow.inputs[k].secret}
