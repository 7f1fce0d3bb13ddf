"""The batch row reader and row checks: no browser needed."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from webmem.batch.check import check_row
from webmem.batch.rows import Row, read_rows
from webmem.errors import DataFileError, FlowFormatError, InputError
from webmem.flow.flowfile import load_flow

from .batch_helpers import ROOT, contact_rows, run_batch, write_csv

FLOW = load_flow(ROOT / "flows" / "add-contact.yaml", round_trip=False).flow


def test_csv_with_bom_semicolons_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("\ufeffid;name;email\nr1;\"Smith;\nJohn\";j@example.com\nr2;Ann;a@example.com\n", encoding="utf-8")
    rows = list(read_rows(path))
    assert [r.key for r in rows] == ["r1", "r2"]
    assert rows[0].values == {"name": "Smith;\nJohn", "email": "j@example.com"}


def test_tab_delimited_and_empty_cells_left_out(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rows.tsv", [{"name": "A", "email": "a@x.io", "role": ""}], delimiter="\t")
    assert list(read_rows(path)) == [Row(1, "row1", {"name": "A", "email": "a@x.io"})]


def test_json_lines_json_list_and_xlsx_read_alike(tmp_path: Path) -> None:
    from openpyxl import Workbook

    data = contact_rows(3)
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in data) + "\n\n", encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(data), encoding="utf-8")
    wb = Workbook()
    ws = wb.active
    ws.append(list(data[0]))
    for r in data:
        ws.append(list(r.values()))
    wb.save(tmp_path / "r.xlsx")
    got = [[(r.key, r.values) for r in read_rows(tmp_path / f"r.{ext}")] for ext in ("jsonl", "json", "xlsx")]
    assert got[0] == got[1] == got[2]
    assert got[0][0] == ("p1", {"name": "Person p1", "email": "p1@example.com", "role": "editor"})


@pytest.mark.parametrize("name,text,message", [
    ("empty.csv", "", "the file is empty"),
    ("header.csv", "name,email\n", "no rows"),
    ("empty.json", "   ", "the file is empty"),
    ("bad.jsonl", '{"name": "a"}\n{oops\n', "line 2: not JSON"),
    ("ragged.csv", "name,email\na,b,c\n", "row 1: more cells"),
])
def test_bad_files_are_named_with_the_problem(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        list(read_rows(path))
    assert name in str(exc.value) and message in str(exc.value)


def test_a_50_mb_file_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    line = "Person {i},person{i}@example.com,editor," + "x" * 400 + "\n"
    with path.open("w", encoding="utf-8") as f:
        f.write("name,email,role,notes\n")
        i = 0
        while f.tell() < 50 * 1024 * 1024:
            f.writelines(line.format(i=i + k) for k in range(1000))
            i += 1000
    tracemalloc.start()
    try:
        n = sum(1 for _ in read_rows(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == i
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while reading a 50 MB file"


def test_row_checks_name_the_field() -> None:
    ok = check_row(FLOW, Row(1, "a", {"name": "A", "email": "a@x.io"}), {}, {})
    assert ok == {"name": "A", "email": "a@x.io", "role": "viewer"}
    with pytest.raises(InputError, match="missing required input.*email"):
        check_row(FLOW, Row(2, "b", {"name": "B"}), {}, {})
    with pytest.raises(InputError, match="unknown input.*phone"):
        check_row(FLOW, Row(3, "c", {"name": "C", "email": "c@x.io", "phone": "1"}), {}, {})
    with pytest.raises(InputError, match="'role'.*one of admin, editor, viewer"):
        check_row(FLOW, Row(4, "d", {"name": "D", "email": "d@x.io", "role": "boss"}), {}, {})
    mapped = check_row(FLOW, Row(5, "e", {"Full name": "E", "email": "e@x.io"}), {"Full name": "name"}, {})
    assert mapped["name"] == "E"


def test_secret_columns_are_refused() -> None:
    flow = FLOW.model_copy(deep=True)
    flow.inputs["email"].secret = True
    flow.inputs["email"].env = "CONTACT_EMAIL"
    with pytest.raises(InputError, match=r"secret: give it in \$CONTACT_EMAIL"):
        check_row(flow, Row(1, "a", {"name": "A", "email": "hidden@x.io"}), {}, {})
    assert check_row(flow, Row(1, "a", {"name": "A"}), {}, {"CONTACT_EMAIL": "hidden@x.io"}) == {
        "name": "A", "role": "viewer"}  # never journaled: read from the environment at run time


def test_cli_bad_input_exits_2_before_any_browser(tmp_path: Path) -> None:
    flow = ROOT / "flows" / "add-contact.yaml"
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    r = run_batch(tmp_path, str(flow), "empty.csv", timeout=60)
    assert r.returncode == 2 and "empty.csv: the file is empty" in r.stderr
    write_csv(tmp_path / "cols.csv", [{"nom": "A", "courriel": "a@x.io"}])
    r = run_batch(tmp_path, str(flow), "cols.csv", timeout=60)
    assert r.returncode == 2
    assert "no row fits the flow's inputs" in r.stderr and "courriel, nom" in r.stderr and "--map" in r.stderr
    write_csv(tmp_path / "half.csv", [{"name": "A", "email": "a@x.io"}, {"name": "B", "email": ""}])
    r = run_batch(tmp_path, str(flow), "half.csv", "--fail-fast", timeout=60)
    assert r.returncode == 2 and "row 2 (row2): missing required input(s): email" in r.stderr
    r = run_batch(tmp_path, str(flow), "missing.csv", timeout=60)
    assert r.returncode == 2 and "missing.csv: no such file" in r.stderr


def test_commit_marks_and_verify_blocks_load_and_round_trip(tmp_path: Path) -> None:
    from webmem.batch.enter import verify_flow
    from webmem.flow.commit import commit_index
    from webmem.flow.flowfile import dump_flow

    from .batch_helpers import contact_flow

    path = contact_flow(tmp_path)
    flow = load_flow(path, round_trip=False).flow
    assert commit_index(flow) == len(flow.steps) - 1  # unmarked: the last click (Save contact)
    verify = verify_flow(flow)
    assert verify is not None and [s.action for s in verify.steps] == ["goto", "expect"]
    text = path.read_text(encoding="utf-8").replace("  - click:\n", "  - commit: true\n    click:\n", 1)
    path.write_text(text, encoding="utf-8")
    marked = load_flow(path, round_trip=False).flow
    assert commit_index(marked) == 1 and marked.steps[1].action == "click" and marked.steps[1].commit
    again = dump_flow(marked)
    assert "- commit: true\n    click:" in again
    (tmp_path / "again.yaml").write_text(again, encoding="utf-8")
    assert load_flow(tmp_path / "again.yaml", round_trip=False).flow == marked
    # a verify step is checked as the flow's steps are: an undeclared placeholder is named when the file loads
    (tmp_path / "typo.yaml").write_text(text.replace("text: '{{ email }}'", "text: '{{ e_mail }}'"), encoding="utf-8")
    with pytest.raises(FlowFormatError, match=r"verify step 2 \(expect\): placeholder \{\{ e_mail \}\} is not"):
        load_flow(tmp_path / "typo.yaml", round_trip=False)


def test_rate_forms() -> None:
    from webmem.batch.run import parse_rate

    assert parse_rate("30/min") == 30 and parse_rate("2/s") == 120 and parse_rate("600/h") == 10
    assert parse_rate("45") == 45 and parse_rate(None) is None
    for bad in ("fast", "0/min", "3/week"):
        with pytest.raises(InputError, match="--rate"):
            parse_rate(bad)


def test_duplicate_ids_are_bad_rows_and_a_resume_rereads_the_file(tmp_path: Path) -> None:
    from webmem.batch.run import BatchOptions, prepare

    rows = contact_rows(3)
    rows[2]["id"] = "p1"
    write_csv(tmp_path / "rows.csv", rows)
    opts = BatchOptions(flow=ROOT / "flows" / "add-contact.yaml", rows=tmp_path / "rows.csv")
    journal, bad, total = prepare(opts)
    try:
        assert total == 1 and bad[0].n == 3 and "duplicate id 'p1' (row 1 has it)" in bad[0].error
        assert journal.counts()["pending"] == 2
    finally:
        journal.close()
    with pytest.raises(InputError, match="already journaled; pass --resume"):
        prepare(opts)
    opts.resume = True
    journal, bad, total = prepare(opts)  # the same file again: nothing added twice
    try:
        assert journal.counts()["pending"] == 2
    finally:
        journal.close()


def test_status_of_a_missing_journal(tmp_path: Path) -> None:
    r = run_batch(tmp_path, "--status", "nope.sqlite", timeout=60)
    assert r.returncode == 2 and "nope.sqlite: no such journal" in r.stderr
    assert not (tmp_path / "nope.sqlite").exists()


# ---- issue 22: hostile data files are one clear error naming the file and line/row, in bounded time and memory ----

def _bomb_xlsx(path: Path) -> None:
    """A real workbook plus a part that unpacks to 300 MiB of zeros (a few hundred KiB packed)."""
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["name", "email"])
    wb.active.append(["A", "a@x.io"])
    wb.save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("xl/media/pad.bin", "w", force_zip64=True) as w:
        chunk = b"\0" * (1024 * 1024)
        for _ in range(300):
            w.write(chunk)


def test_hostile_data_files_are_refused_quickly_and_named(tmp_path: Path) -> None:
    import time

    cases: list[tuple[str, bytes, str]] = [
        ("bad.jsonl", b'{"name": "a"}\n{"name": "\xff\xfe"}\n', "line 2: not UTF-8"),
        ("nest.jsonl", b'{"name": "a"}\n{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "line 2: nests more"),
        ("deep.jsonl", b'{"name": ' + b"[" * 100 + b"]" * 100 + b"}\n", "row 1: column 'name' nests more"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "row 1: nests more than"),
        ("map.json", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests more than"),
        ("cell.jsonl", b'{"name": "' + b"x" * 1_500_000 + b'"}\n', "row 1: column 'name' holds 1500000 characters"),
        ("line.jsonl", b'{"name": "a", "notes": "' + b"x" * 5_000_000 + b'"}\n', "line 1: longer than"),
        ("row.json", b'[{"a": "' + b"x" * 900_000 + b'", "b": "' + b"x" * 900_000 + b'", "c": "' + b"x" * 900_000
         + b'", "d": "' + b"x" * 900_000 + b'", "e": "' + b"x" * 900_000 + b'"}]', "row 1: the row holds more"),
    ]
    started = time.monotonic()
    for name, data, message in cases:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataFileError) as exc:
            list(read_rows(tmp_path / name))
        assert name in str(exc.value) and message in str(exc.value), str(exc.value)[:300]
    _bomb_xlsx(tmp_path / "bomb.xlsx")
    assert (tmp_path / "bomb.xlsx").stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=r"bomb.xlsx: the workbook unpacks to 300 MiB"):
            list(read_rows(tmp_path / "bomb.xlsx"))
        assert tracemalloc.get_traced_memory()[1] < 20 * 1024 * 1024
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 20
    r = run_batch(tmp_path, str(ROOT / "flows" / "add-contact.yaml"), "bad.jsonl", timeout=60)
    assert r.returncode == 2 and "bad.jsonl: line 2: not UTF-8" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_outcomes_csv_cells_never_run_as_formulas(tmp_path: Path) -> None:
    """Issue 22: a key, an error or an input from a data file or a page that starts like a formula is written as
    text (a leading single quote, OWASP), in every CSV webmem writes."""
    import csv

    from webmem.batch.journal import open_journal
    from webmem.batch.run import write_outcomes

    hostile = ['=HYPERLINK("http://evil.test","click")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|'/C calc'!A0",
               "+1+1", "-2+3", "\t=1+1", "\r=1+1"]
    journal = open_journal(tmp_path / "j.sqlite", "r")
    try:
        journal.start_run("f.yaml", "rows.csv")
        journal.add_rows([(i, key, None, key) for i, key in enumerate(hostile, 1)]
                         + [(len(hostile) + 1, "plain", None, "no such input 'x'")])
        write_outcomes(journal, tmp_path / "out.csv")
    finally:
        journal.close()
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row, key in zip(rows, hostile, strict=False):
        assert row["id"] == "'" + key and row["error"] == "'" + key
    assert rows[-1]["id"] == "plain" and rows[-1]["error"] == "no such input 'x'"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_json_true_inf_and_nan_are_no_text(tmp_path: Path) -> None:
    """Issue 22: JSON `true`, `1e400` and `NaN` for a string input were entered as "True", "inf", "nan". They
    are refused naming the row and field; a plain finite number is still taken as its digits (a zip code)."""
    path = tmp_path / "rows.jsonl"
    path.write_text('{"name": true, "email": "a@x.io"}\n{"name": 1e400, "email": "b@x.io"}\n'
                    '{"name": NaN, "email": "c@x.io"}\n{"name": "D", "email": "d@x.io", "role": false}\n'
                    '{"name": 42, "email": "e@x.io"}\n', encoding="utf-8")
    rows = list(read_rows(path))
    for row, needle in zip(rows, ["'name': expected a string, got JSON true", "'name': expected text, got inf",
                                  "'name': expected text, got nan", "'role': expected an enum, got JSON false"],
                           strict=False):
        with pytest.raises(InputError, match=needle):
            check_row(FLOW, row, {}, {})
    assert check_row(FLOW, rows[4], {}, {})["name"] == "42"
    r = run_batch(tmp_path, str(ROOT / "flows" / "add-contact.yaml"), "rows.jsonl", "--fail-fast", timeout=60)
    assert r.returncode == 2 and "row 1 (row1): input 'name': expected a string, got JSON true" in r.stderr, r.stderr
