"""Tests of CSV reading: every malformed file raises an error that names the file, the
line and what to fix, and well-formed files read back every cell as text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loom.data import BitTable
from loom.data.readers import read_csv
from loom.exceptions import (
    CsvFormatError,
    DataError,
    DataFileNotFoundError,
    TargetError,
)
from tests.data.invariants import assert_table_layout


def write_bytes(directory: Path, data: bytes, name: str = "data.csv") -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def write_csv(directory: Path, text: str, name: str = "data.csv") -> Path:
    return write_bytes(directory, text.encode("utf-8"), name)


# Rows before the bad one: plain rows, a quoted cell with embedded newlines, blank
# lines, CRLF endings. Each case gives the text up to the bad row and the bad row's line.
PREFIXES = [
    ("a,b,c\n1,2,3\n", 3),
    ("a,b,c\n", 2),
    ('a,b,c\n"x\ny\nz",2,3\n', 5),
    ('a,b,c\n"x\n\ny",2,3\n\n\n4,5,6\n', 8),
    ('a,b,c\n"comma, inside",2,"""quoted"""\n', 3),
    ("\n\na,b,c\n\n1,2,3\n\n", 7),
    ('a,b,c\r\n"x\r\ny",2,3\r\n\r\n', 5),
]
PREFIX_IDS = [
    "plain",
    "first-data-row",
    "quoted-newlines",
    "quoted-blank-line-then-blanks",
    "quoted-delimiter",
    "leading-blank-lines",
    "crlf",
]


# ---------------------------------------------------------------------------
# Missing, empty and unreadable files


def test_read_missing_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DataFileNotFoundError, match=r"data file not found: '.*absent\.csv'"):
        BitTable.from_csv(path)


def test_read_missing_file_is_builtin(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.csv"):
        read_csv(tmp_path / "absent.csv")


def test_read_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory; pass the path of a CSV file"):
        BitTable.from_csv(tmp_path)


@pytest.mark.parametrize(
    "data", [b"", b"\n", b"\n\n\r\n"], ids=["no-bytes", "newline", "blank-lines"]
)
def test_read_empty_file_rejected(tmp_path: Path, data: bytes) -> None:
    path = write_bytes(tmp_path, data)
    with pytest.raises(
        CsvFormatError, match=r"data\.csv' is empty; a CSV file needs a header row"
    ):
        BitTable.from_csv(path)


def test_read_header_only_has_no_rows(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, "a,b\n"))
    assert list(frame.columns) == ["a", "b"]
    assert len(frame) == 0


# ---------------------------------------------------------------------------
# Rows of the wrong length


@pytest.mark.parametrize(("prefix", "line"), PREFIXES, ids=PREFIX_IDS)
def test_read_row_too_many_cells(tmp_path: Path, prefix: str, line: int) -> None:
    newline = "\r\n" if "\r\n" in prefix else "\n"
    path = write_csv(tmp_path, prefix + "7,8,9,10" + newline + "1,2,3" + newline)
    with pytest.raises(
        CsvFormatError,
        match=rf"data\.csv', line {line}: the row has 4 cell\(s\) but the header has 3; "
        "fix the row, or quote cells that contain ','",
    ):
        BitTable.from_csv(path)


@pytest.mark.parametrize(("prefix", "line"), PREFIXES, ids=PREFIX_IDS)
def test_read_row_too_few_cells(tmp_path: Path, prefix: str, line: int) -> None:
    newline = "\r\n" if "\r\n" in prefix else "\n"
    path = write_csv(tmp_path, prefix + "7,8" + newline + "1,2,3" + newline)
    with pytest.raises(
        CsvFormatError,
        match=rf"data\.csv', line {line}: the row has 2 cell\(s\) but the header has 3",
    ):
        BitTable.from_csv(path)


@pytest.mark.parametrize(
    ("text", "line", "n_cells"),
    [
        ("a,b\n1,2\n3", 3, 1),
        ("a,b\n1,2\n3,4,5", 3, 3),
        ("a,b\n1,2\n3,4\n5,6,\n", 4, 3),
    ],
    ids=["short-last-row", "long-last-row", "trailing-delimiter"],
)
def test_read_bad_last_row_without_newline(
    tmp_path: Path, text: str, line: int, n_cells: int
) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(
        CsvFormatError, match=rf"line {line}: the row has {n_cells} cell\(s\)"
    ):
        read_csv(path)


def test_read_last_row_without_newline(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, "a,b\n1,2\n3,"))
    assert frame.to_numpy().tolist() == [["1", "2"], ["3", ""]]


def test_read_whitespace_line_is_a_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a,b\n1,2\n   \n3,4\n")
    with pytest.raises(CsvFormatError, match=r"line 3: the row has 1 cell\(s\)"):
        read_csv(path)


def test_read_quote_inside_unquoted_cell(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, 'a,b\n1,2\nx"y,3\n4,5\n'))
    assert frame["a"].tolist() == ["1", 'x"y', "4"]


def test_read_one_column_file(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, 'a\nx\n\n""\ny\n'))
    assert frame["a"].tolist() == ["x", "", "y"]


# ---------------------------------------------------------------------------
# Header names


@pytest.mark.parametrize(
    ("header", "first", "second", "name"),
    [
        ("a,b,a", 1, 3, "a"),
        ("x,y,y", 2, 3, "y"),
        ("a.1,a,a", 2, 3, "a"),
        ('"a b",c,a b', 1, 3, "a b"),
    ],
    ids=["first-and-last", "neighbours", "next-to-mangled-name", "quoted-name"],
)
def test_read_duplicate_names_rejected(
    tmp_path: Path, header: str, first: int, second: int, name: str
) -> None:
    path = write_csv(tmp_path, f"{header}\n1,2,3\n")
    with pytest.raises(
        CsvFormatError,
        match=rf"line 1: columns {first} and {second} are both named '{name}'; rename one",
    ):
        BitTable.from_csv(path)


def test_read_duplicate_names_after_blank_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "\n\nk,k\n1,2\n")
    with pytest.raises(CsvFormatError, match="line 3: columns 1 and 2 are both named 'k'"):
        read_csv(path)


@pytest.mark.parametrize(
    ("header", "number"),
    [("a,,b", 2), ("a,b,", 3), (",a", 1), ("a,  ,b", 2), ('a,"",b', 2)],
    ids=["middle", "trailing-delimiter", "first", "whitespace", "quoted-empty"],
)
def test_read_empty_name_rejected(tmp_path: Path, header: str, number: int) -> None:
    path = write_csv(tmp_path, f"{header}\n1,2,3\n")
    with pytest.raises(
        CsvFormatError,
        match=rf"line 1: column {number} has an empty name; give every column a name",
    ):
        BitTable.from_csv(path)


def test_read_byte_order_mark_dropped(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "\ufeffname,b\nx,1\ny,2\n".encode())
    frame, _ = read_csv(path)
    assert list(frame.columns) == ["name", "b"]


# ---------------------------------------------------------------------------
# Targets


def test_read_unknown_target_lists_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "age,smoker,class\n1,yes,a\n2,no,b\n")
    with pytest.raises(
        TargetError,
        match=r"target column 'label' is not in file '.*data\.csv'; the columns are "
        r"'age', 'smoker', 'class'",
    ):
        BitTable.from_csv(path, "label")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("x,y\na,p\nb,p\n", "its only value is 'p'"),
        ("x,y\na,\nb,?\n", "every value is missing"),
    ],
    ids=["one-value", "all-missing"],
)
def test_read_one_class_target_rejected(tmp_path: Path, text: str, found: str) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(
        TargetError, match=rf"target 'y' has one class \(.*{found}.*\); a classifier"
    ):
        BitTable.from_csv(path, "y")


def test_read_header_only_target_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x,y\n")
    with pytest.raises(TargetError, match=r"has no data rows, so target 'y' has no"):
        BitTable.from_csv(path, "y")


# ---------------------------------------------------------------------------
# Encodings and dialects


def test_read_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a,b\nx,1\ncafé,2\n".encode("latin-1"))
    with pytest.raises(
        DataError,
        match=r"data\.csv' is not valid utf-8: byte 0xe9 at line 3, column 4 cannot be "
        r"decoded\. Pass the file's encoding, e.g\. encoding='latin-1'",
    ):
        BitTable.from_csv(path)


def test_read_invalid_utf8_deep_in_file(tmp_path: Path) -> None:
    rows = "".join(f"x{i},{i}\n" for i in range(5000))
    path = write_bytes(tmp_path, b"a,b\n" + rows.encode() + "é,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"byte 0xe9 at line 5002, column 1"):
        BitTable.from_csv(path)


def test_read_declared_encoding_decodes(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a,b\nx,1\ncafé,2\n".encode("latin-1"))
    table = BitTable.from_csv(path, encoding="latin-1")
    assert table.schema.feature("a").values == ("café", "x")
    assert_table_layout(table)


def test_read_utf16_checks_rows(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a,b\n1,x\n\n2,y,z\n".encode("utf-16"))
    with pytest.raises(CsvFormatError, match=r"line 4: the row has 3 cell\(s\)"):
        read_csv(path, encoding="utf-16")


def test_read_other_delimiter(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, "a;b\n1,5;x\n2;y\n"), delimiter=";")
    assert frame.to_numpy().tolist() == [["1,5", "x"], ["2", "y"]]


def test_read_other_delimiter_checks_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a\tb\n1\t2\n3\n")
    with pytest.raises(
        CsvFormatError, match=r"line 3: .* or quote cells that contain '\\t'"
    ):
        read_csv(path, delimiter="\t")


@pytest.mark.parametrize("delimiter", [";;", "", '"', "\n"], ids=["two", "empty", "quote", "newline"])
def test_read_invalid_delimiter_rejected(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match="delimiter must be one character other than"):
        read_csv(path, delimiter=delimiter)


def test_read_unknown_encoding_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match="unknown encoding 'klingon'; pass a codec name"):
        read_csv(path, encoding="klingon")


# ---------------------------------------------------------------------------
# Cells and line numbers


def test_read_cells_stay_text(tmp_path: Path) -> None:
    frame, _ = read_csv(write_csv(tmp_path, 'a,b,c\n007,1.50,NA\n,?," x "\n'))
    assert frame.to_numpy().tolist() == [["007", "1.50", "NA"], ["", "?", " x "]]
    assert all(dtype == object or isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes)


def test_read_locate_counts_physical_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path, '\na,b\n"x\ny",1\n\np,2\n"q\n\nr",3\ns,4\n')
    frame, file = read_csv(path)
    assert len(frame) == 4
    assert [file.locate(row) for row in range(4)] == ["line 3", "line 6", "line 7", "line 10"]
    assert file.locate(4) == "data row 5"
