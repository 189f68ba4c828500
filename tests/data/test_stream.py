"""Tests of chunked encoding: every chunk size gives the table of one whole chunk,
errors and warnings read the same, Parquet input and the progress bar."""

from __future__ import annotations

import builtins
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loom.data import BitTable, cut_points
from loom.data import summary as summary_module
from loom.exceptions import (
    ConstantFeatureWarning,
    CsvFormatError,
    DataError,
    DataFileNotFoundError,
    InvalidParameterError,
    MissingDependencyError,
    UnseenValueWarning,
)
from tests.conftest import dataset_index
from tests.data.invariants import assert_table_layout

CHUNK_SIZES = [1, 63, 64, 65]


def write_csv(directory: Path, text: str, name: str = "data.csv") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def assert_same_table(chunked: BitTable, whole: BitTable) -> None:
    assert chunked.schema == whole.schema
    assert chunked.n_rows == whole.n_rows
    assert np.array_equal(chunked.bits, whole.bits)
    assert np.array_equal(chunked.valid, whole.valid)
    assert chunked.ranges.keys() == whole.ranges.keys()
    for name, bounds in whole.ranges.items():
        assert np.array_equal(chunked.ranges[name], bounds), name
    assert chunked.fingerprint == whole.fingerprint
    assert_table_layout(chunked)


def mixed_frame(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Text cells of every kind, with missing values scattered through."""
    colors = np.array(["red", "blue", "dark blue", "007", "7"], dtype=object)
    frame = pd.DataFrame(
        {
            "flag": rng.choice(["true", "false", "TRUE", ""], n_rows),
            "color": rng.choice(colors, n_rows),
            "age": [f"{value:.1f}" for value in rng.uniform(0, 90, n_rows)],
            "count": rng.integers(0, 5, n_rows).astype(str),
            "y": rng.choice(["p", "n"], n_rows),
        }
    )
    missing = rng.random((n_rows, 4)) < 0.1
    for position, name in enumerate(["flag", "color", "age", "count"]):
        frame.loc[missing[:, position], name] = rng.choice(["", "?"])
    return frame


# ---------------------------------------------------------------------------
# Chunk sizes give one table


@pytest.mark.parametrize("chunk_rows", CHUNK_SIZES, ids=str)
def test_csv_chunks_match_whole_file(
    tmp_path: Path, rng: np.random.Generator, chunk_rows: int
) -> None:
    path = write_csv(tmp_path, csv_text(mixed_frame(150, rng)))
    whole = BitTable.from_csv(path, "y")
    assert_same_table(BitTable.from_csv(path, "y", chunk_rows=chunk_rows), whole)


@pytest.mark.parametrize("chunk_rows", CHUNK_SIZES, ids=str)
def test_frame_chunks_match_whole_frame(
    rng: np.random.Generator, chunk_rows: int
) -> None:
    n_rows = 200
    frame = pd.DataFrame(
        {
            "b": pd.array(rng.choice([True, False, None], n_rows), dtype="boolean"),
            "objects": rng.choice(np.array([True, False, None], dtype=object), n_rows),
            "x": np.where(rng.random(n_rows) < 0.1, np.nan, rng.normal(size=n_rows)),
            "i": pd.array(rng.integers(0, 50, n_rows), dtype="Int64"),
            "c": pd.Categorical(rng.choice(["u", "v", "w"], n_rows)),
            "mixed": rng.choice(np.array([1, "a", 2.5, None], dtype=object), n_rows),
            "y": rng.integers(0, 3, n_rows),
        }
    )
    whole = BitTable.from_frame(frame, "y")
    assert_same_table(BitTable.from_frame(frame, "y", chunk_rows=chunk_rows), whole)


@pytest.mark.parametrize("n_rows", [0, 1, 63, 64, 65, 129], ids=str)
def test_frame_chunks_edge_row_counts(rng: np.random.Generator, n_rows: int) -> None:
    frame = pd.DataFrame(
        {"x": rng.normal(size=n_rows), "c": rng.choice(["a", "b", ""], n_rows)}
    )
    with warnings.catch_warnings():
        # Tables of 0 and 1 rows have only constant features.
        warnings.simplefilter("ignore", ConstantFeatureWarning)
        whole = BitTable.from_frame(frame)
        for chunk_rows in (1, 64):
            assert_same_table(BitTable.from_frame(frame, chunk_rows=chunk_rows), whole)


@pytest.mark.parametrize(
    "entry", dataset_index(), ids=[str(entry["file"]) for entry in dataset_index()]
)
def test_real_data_chunks_match(datasets_dir: Path, entry: dict[str, Any]) -> None:
    path = datasets_dir / str(entry["file"])
    target = str(entry["target"])
    whole = BitTable.from_csv(path, target)
    for chunk_rows in (63, 64):
        assert_same_table(BitTable.from_csv(path, target, chunk_rows=chunk_rows), whole)


def test_label_first_seen_late(tmp_path: Path) -> None:
    rows = ["c,y"] + ["a,p", "b,n"] * 50 + ["late,p"]
    path = write_csv(tmp_path, "\n".join(rows) + "\n")
    whole = BitTable.from_csv(path, "y")
    assert "c = late" in whole.columns
    for chunk_rows in (1, 64, 65):
        assert_same_table(BitTable.from_csv(path, "y", chunk_rows=chunk_rows), whole)


@pytest.mark.parametrize(
    "late",
    ["2.5", "21", "abc", "TRUE"],
    ids=["fraction", "past-integer-limit", "text", "boolean-text"],
)
def test_kind_decided_by_late_chunk(tmp_path: Path, late: str) -> None:
    # 20 distinct integers look categorical; the last row may change that.
    values = [str(value % 20) for value in range(100)] + [late]
    path = write_csv(tmp_path, "x\n" + "\n".join(values) + "\n")
    whole = BitTable.from_csv(path)
    for chunk_rows in (1, 64):
        assert_same_table(BitTable.from_csv(path, chunk_rows=chunk_rows), whole)


@pytest.mark.parametrize(
    ("late", "kind"),
    [("2.5", "numeric"), ("21", "numeric"), ("abc", "categorical")],
    ids=["fraction", "past-integer-limit", "text"],
)
def test_late_chunk_sets_kind(tmp_path: Path, late: str, kind: str) -> None:
    values = [str(value % 20) for value in range(100)] + [late]
    path = write_csv(tmp_path, "x\n" + "\n".join(values) + "\n")
    assert BitTable.from_csv(path, chunk_rows=64).schema.feature("x").kind == kind


def test_boolean_text_until_late_chunk(tmp_path: Path) -> None:
    values = ["true", "False"] * 100 + ["maybe"]
    path = write_csv(tmp_path, "flag\n" + "\n".join(values) + "\n")
    table = BitTable.from_csv(path, chunk_rows=64)
    assert table.schema.feature("flag").kind == "categorical"
    assert_same_table(table, BitTable.from_csv(path))


# ---------------------------------------------------------------------------
# Columns past the exact limit


def test_numbers_past_limit_then_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [str(value) for value in range(100)] + ["n/a-value"]
    path = write_csv(tmp_path, "x\n" + "\n".join(values) + "\n")
    whole = BitTable.from_csv(path)
    monkeypatch.setattr(summary_module, "EXACT_DISTINCT_LIMIT", 30)
    table = BitTable.from_csv(path, chunk_rows=16)
    assert table.schema.feature("x").kind == "categorical"
    assert len(table.schema.feature("x").values) == 101
    assert_same_table(table, whole)


def test_sampled_thresholds_ignore_chunks(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_module, "EXACT_DISTINCT_LIMIT", 50)
    monkeypatch.setattr(summary_module, "SAMPLE_SIZE", 40)
    frame = pd.DataFrame({"x": rng.normal(size=500), "z": rng.integers(0, 10, 500)})
    one = BitTable.from_frame(frame, n_thresholds=8)
    for chunk_rows in (1, 64, 77):
        assert_same_table(BitTable.from_frame(frame, n_thresholds=8, chunk_rows=chunk_rows), one)
    # The integer column has 10 distinct values, within the limit: exact cuts.
    assert one.schema.feature("z").thresholds == cut_points(frame["z"].to_numpy(float), 8)
    assert one.schema.feature("x").thresholds != cut_points(frame["x"].to_numpy(), 8)


def test_sampled_thresholds_near_quantiles(rng: np.random.Generator) -> None:
    n_rows = 150_000  # past the exact limit of 65,536 distinct values
    values = rng.lognormal(size=n_rows)
    table = BitTable.from_frame(pd.DataFrame({"x": values}), n_thresholds=9)
    thresholds = np.array(table.schema.feature("x").thresholds)
    assert len(thresholds) == 9
    ranks = np.searchsorted(np.sort(values), thresholds) / n_rows
    aims = np.arange(1, 10) / 10
    assert np.abs(ranks - aims).max() < 0.01


def test_sketch_exact_within_limit(rng: np.random.Generator) -> None:
    values = rng.integers(0, 300, 5000).astype(float)
    sketch = summary_module.NumberSketch(3)
    for start in range(0, 5000, 700):
        part = values[start : start + 700]
        sketch.add(part, np.arange(start, start + len(part)))
    assert sketch.exact
    assert sketch.cut_points(16, (1000.5,)) == cut_points(values, 16, (1000.5,))


# ---------------------------------------------------------------------------
# Errors and warnings read as for one chunk


@pytest.mark.parametrize("chunk_rows", [None, 1, 2, 5], ids=str)
def test_bad_cell_names_line(tmp_path: Path, chunk_rows: int | None) -> None:
    # A blank line and a quoted cell over two lines come before the bad cell.
    text = (
        'x,flag,note\n1,true,a\n\n"2",false,"two\nlines"\n3,true,b\n4,true,c\n'
        "ten,maybe,d\n5,true,e\n"
    )
    path = write_csv(tmp_path, text)
    with pytest.raises(
        DataError, match=r"data.csv', line 8, column 'x': 'ten' is not a number"
    ):
        BitTable.from_csv(
            path, kinds={"x": "numeric", "flag": "boolean"}, chunk_rows=chunk_rows
        )


@pytest.mark.parametrize("chunk_rows", [None, 1, 3], ids=str)
def test_first_bad_column_reported(tmp_path: Path, chunk_rows: int | None) -> None:
    # The boolean column's bad cell comes first in the file, the number column's
    # first in column order: the column order decides, as for one chunk.
    text = "x,flag\n1,maybe\n2,true\n3,true\nten,true\n"
    path = write_csv(tmp_path, text)
    with pytest.raises(DataError, match=r"line 5, column 'x': 'ten' is not a number"):
        BitTable.from_csv(
            path, kinds={"x": "numeric", "flag": "boolean"}, chunk_rows=chunk_rows
        )


@pytest.mark.parametrize("chunk_rows", [None, 1, 2], ids=str)
def test_schema_bad_cell_line(tmp_path: Path, chunk_rows: int | None) -> None:
    train = BitTable.from_csv(write_csv(tmp_path, "x,y\n1.5,a\n2.5,b\n"), "y")
    path = write_csv(tmp_path, "x,y\n1,a\n2,a\n\nthree,b\n", name="test.csv")
    with pytest.raises(DataError, match=r"test.csv', line 5, column 'x': 'three'"):
        BitTable.from_csv(path, schema=train.schema, chunk_rows=chunk_rows)


@pytest.mark.parametrize("chunk_rows", [None, 1, 2], ids=str)
def test_bad_record_line_in_chunks(tmp_path: Path, chunk_rows: int | None) -> None:
    path = write_csv(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n")
    with pytest.raises(CsvFormatError, match=r"line 4: the row has 2 cell\(s\)"):
        BitTable.from_csv(path, chunk_rows=chunk_rows)


def test_invalid_utf8_in_late_chunk(tmp_path: Path) -> None:
    rows = "".join(f"x{i},{i}\n" for i in range(500))
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n" + rows.encode() + "é,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"byte 0xe9 at line 502, column 1 cannot be"):
        BitTable.from_csv(path, chunk_rows=64)


@pytest.mark.parametrize("chunk_rows", [None, 1], ids=str)
def test_header_only_file_in_chunks(tmp_path: Path, chunk_rows: int | None) -> None:
    path = write_csv(tmp_path, "a,b\n")
    with pytest.warns(ConstantFeatureWarning, match="'a', 'b'"):
        table = BitTable.from_csv(path, chunk_rows=chunk_rows)
    assert table.n_rows == 0
    assert table.schema.feature_names == ("a", "b")


def test_unseen_values_warn_once(tmp_path: Path) -> None:
    train = BitTable.from_csv(write_csv(tmp_path, "c,y\na,p\nb,n\n"), "y")
    rows = ["c,y", "a,p", "z1,p", "b,n", "z2,n", "z1,n", "z3,p", "z4,p", "z5,p", "z6,p"]
    path = write_csv(tmp_path, "\n".join(rows) + "\n", name="test.csv")
    expected = (
        "feature 'c': 7 row(s) of file '{}' hold values the schema does not know "
        "('z1', 'z2', 'z3', 'z4', 'z5'); they match no '=' literal of 'c'."
    ).format(path)
    for chunk_rows in (None, 1, 2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            BitTable.from_csv(path, schema=train.schema, chunk_rows=chunk_rows)
        messages = [str(w.message) for w in caught if w.category is UnseenValueWarning]
        assert messages == [expected]
        assert caught[0].filename == __file__


@pytest.mark.parametrize("chunk_rows", [0, -1, 2.5, True, "64"], ids=repr)
def test_chunk_rows_rejected(tmp_path: Path, chunk_rows: object) -> None:
    path = write_csv(tmp_path, "x\n1\n2\n")
    with pytest.raises(InvalidParameterError, match="chunk_rows must be an int >= 1"):
        BitTable.from_csv(path, chunk_rows=chunk_rows)  # type: ignore[arg-type]


def test_progress_bar_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(300)))
    BitTable.from_csv(path, "y", chunk_rows=100, progress=True)
    captured = capsys.readouterr()
    assert "reading" in captured.err
    assert "encoding" in captured.err
    assert captured.out == ""


def test_no_progress_bar_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, "x,y\n1,a\n2,b\n")
    BitTable.from_csv(path, "y")
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------
# Parquet


def parquet_frame(rng: np.random.Generator, n_rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flag": pd.array(rng.choice([True, False, None], n_rows), dtype="boolean"),
            "dense": rng.random(n_rows) < 0.5,
            "count": pd.array(rng.integers(0, 40, n_rows), dtype="Int64"),
            "x": np.where(rng.random(n_rows) < 0.1, np.nan, rng.normal(size=n_rows)),
            "color": rng.choice(np.array(["red", "blue", "?", None], dtype=object), n_rows),
            "grade": pd.Categorical(rng.choice(["a", "b", "c"], n_rows)),
            "y": rng.choice(["p", "n"], n_rows),
        }
    )


@pytest.mark.parametrize("chunk_rows", [None, 1, 64, 65], ids=str)
def test_parquet_round_trip(
    tmp_path: Path, rng: np.random.Generator, chunk_rows: int | None
) -> None:
    frame = parquet_frame(rng, 150)
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, row_group_size=40)
    table = BitTable.from_parquet(path, "y", chunk_rows=chunk_rows)
    assert_same_table(table, BitTable.from_frame(pd.read_parquet(path), "y"))
    assert table.schema.feature("flag").kind == "boolean"
    assert table.schema.feature("x").kind == "numeric"
    assert table.schema.feature("color").values == ("blue", "red")
    assert table.schema.feature("grade").values == ("a", "b", "c")


def test_parquet_matches_csv(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = mixed_frame(120, rng)
    csv_path = write_csv(tmp_path, csv_text(frame))
    parquet_path = tmp_path / "rows.parquet"
    pd.read_csv(csv_path, dtype=str, keep_default_na=False).to_parquet(parquet_path)
    assert_same_table(
        BitTable.from_parquet(parquet_path, "y", chunk_rows=50),
        BitTable.from_csv(csv_path, "y"),
    )


def test_parquet_with_schema(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = parquet_frame(rng, 100)
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    train = BitTable.from_frame(frame.iloc[:50], "y")
    table = BitTable.from_parquet(path, schema=train.schema, chunk_rows=30)
    assert table.schema == train.schema
    assert_same_table(table, BitTable.from_frame(pd.read_parquet(path), schema=train.schema))


def test_parquet_bad_cell_names_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"flag": [0, 1, 1, 2, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"row 3, column 'flag': 2.0 is not a boolean"):
        BitTable.from_parquet(path, kinds={"flag": "boolean"}, chunk_rows=2)


def test_parquet_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match=r"data file not found: '.*absent"):
        BitTable.from_parquet(tmp_path / "absent.parquet")


def test_parquet_rejects_other_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x,y\n1,2\n", name="rows.parquet")
    with pytest.raises(DataError, match=r"rows.parquet' is not a Parquet file"):
        BitTable.from_parquet(path)


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def block_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", block_pyarrow)
    with pytest.raises(MissingDependencyError, match=r"loom-rules\[parquet\]"):
        BitTable.from_parquet(tmp_path / "rows.parquet")
