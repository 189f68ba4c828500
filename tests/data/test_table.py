"""Tests of `BitTable`: the layout every constructor and row operation keeps, row slicing,
splitting and joining, and saving to and loading from files.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loom.data import BitTable, FeatureSpec, Schema, pack_bits, unpack_bits
from loom.exceptions import (
    ConstantFeatureWarning,
    DataError,
    DataFileNotFoundError,
    InvalidParameterError,
    TargetError,
)
from tests.conftest import dataset_index
from tests.data.invariants import assert_table_layout

EDGE_ROWS = (0, 1, 63, 64, 65, 127, 128, 129)


def random_frame(rng: np.random.Generator, n_rows: int) -> pd.DataFrame:
    """Draw a frame with every kind of feature and missing values in each.

    The first two rows differ in every feature and are never missing, so only frames
    of fewer than 2 rows have constant features.
    """
    labels = np.array(["red", "blue", "dark blue", "007", "7"], dtype=object)
    color = rng.choice(labels, n_rows)
    flag = pd.array(rng.random(n_rows) < 0.5, dtype="boolean")
    age = np.round(rng.normal(40, 15, n_rows), 1)
    missing = rng.random((3, n_rows)) < 0.1
    missing[:, :2] = False
    color[missing[0]] = None
    flag[missing[1]] = pd.NA
    age[missing[2]] = np.nan
    head = min(n_rows, 2)
    color[:head] = ["red", "blue"][:head]
    flag[:head] = [True, False][:head]
    age[:head] = [20.0, 60.0][:head]
    return pd.DataFrame({"color": color, "flag": flag, "age": age})


def encode_frame(frame: pd.DataFrame, **options: object) -> BitTable:
    """Encode `frame`, expecting the constant-feature warning when a feature has
    fewer than two distinct values (frames under 2 rows, or joined copies of one row).
    """
    if frame.nunique(dropna=True).min() >= 2:
        return BitTable.from_frame(frame, **options)
    with pytest.warns(ConstantFeatureWarning, match="give no bit columns"):
        return BitTable.from_frame(frame, **options)


def random_table(rng: np.random.Generator, n_rows: int = 300) -> BitTable:
    return BitTable.from_frame(random_frame(rng, n_rows), n_thresholds=8)


def layout_schema() -> Schema:
    return Schema(
        (
            FeatureSpec("a", "boolean", values=("false", "true")),
            FeatureSpec("b", "categorical", values=("x", "y")),
            FeatureSpec("n", "numeric", thresholds=(0.0, 1.0)),
        )
    )


@st.composite
def raw_tables(draw: st.DrawFn) -> BitTable:
    """Draw a table straight from random words: 0 to 300 rows, any bit pattern."""
    n_rows = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    generator = np.random.default_rng(seed)
    schema = layout_schema()
    valid = pack_bits(generator.random((schema.n_features, n_rows)) < 0.8)
    bits = pack_bits(generator.random((schema.n_columns, n_rows)) < 0.5)
    bits &= valid[schema.column_feature]
    ranges = {"n": np.array([[-3.0, -0.5], [0.5, 1.0], [2.0, 9.0]])}
    return BitTable(schema, bits, valid, n_rows, ranges)


# ---------------------------------------------------------------------------
# Constructor checks


def test_table_rejects_padding_bit_in_bits() -> None:
    schema = layout_schema()
    bits = np.zeros((schema.n_columns, 2), dtype=np.uint64)
    valid = np.zeros((schema.n_features, 2), dtype=np.uint64)
    bits[2, 1] = np.uint64(1) << np.uint64(1)  # row 65 of a 65-row table
    with pytest.raises(
        InvalidParameterError, match=r"bits\[2\] has padding bits set past row 64"
    ):
        BitTable(schema, bits, valid, 65)


@pytest.mark.parametrize("n_rows", [1, 63, 65, 127], ids=str)
def test_table_rejects_padding_bit_in_valid(n_rows: int) -> None:
    schema = layout_schema()
    n_words = -(-n_rows // 64)
    bits = np.zeros((schema.n_columns, n_words), dtype=np.uint64)
    valid = np.zeros((schema.n_features, n_words), dtype=np.uint64)
    valid[1, -1] = np.uint64(1) << np.uint64(63)
    with pytest.raises(
        InvalidParameterError, match=rf"valid\[1\] has padding bits set past row {n_rows - 1}"
    ):
        BitTable(schema, bits, valid, n_rows)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((5, 1), dtype=np.int64),
        np.zeros((5, 1), dtype=np.uint32),
        np.zeros((5, 1), dtype=np.float64),
        np.zeros((5, 1), dtype=">u8"),
        [[0]] * 5,
    ],
    ids=["int64", "uint32", "float64", "big-endian", "list"],
)
def test_table_rejects_wrong_dtype(array: object) -> None:
    schema = layout_schema()
    valid = np.zeros((schema.n_features, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match="bits must be a uint64 ndarray, got"):
        BitTable(schema, array, valid, 10)


@pytest.mark.parametrize(
    ("shape", "n_rows"),
    [((5, 2), 64), ((5, 1), 65), ((4, 1), 10), ((6, 1), 10), ((5,), 10), ((5, 1), 0)],
    ids=["extra-word", "missing-word", "few-columns", "many-columns", "1-d", "no-rows"],
)
def test_table_rejects_wrong_shape(shape: tuple[int, ...], n_rows: int) -> None:
    schema = layout_schema()
    valid = np.zeros((schema.n_features, -(-n_rows // 64)), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match=r"bits must have shape \(5, \d\)"):
        BitTable(schema, np.zeros(shape, dtype=np.uint64), valid, n_rows)


def test_table_rejects_wrong_valid_shape() -> None:
    schema = layout_schema()
    bits = np.zeros((schema.n_columns, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match=r"valid must have shape \(3, 1\)"):
        BitTable(schema, bits, np.zeros((5, 1), dtype=np.uint64), 10)


@pytest.mark.parametrize("n_rows", [-1, True, 2.0], ids=["negative", "bool", "float"])
def test_table_rejects_invalid_row_count(n_rows: object) -> None:
    schema = layout_schema()
    words = np.zeros((5, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match="n_rows must be an int >= 0"):
        BitTable(schema, words, words[:3], n_rows)


def test_table_rejects_non_schema() -> None:
    with pytest.raises(InvalidParameterError, match="schema must be a Schema, got dict"):
        BitTable({}, np.zeros((0, 0), dtype=np.uint64), np.zeros((0, 0), dtype=np.uint64), 0)


def test_table_rejects_wrong_ranges_shape() -> None:
    schema = layout_schema()
    words = np.zeros((5, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match=r"ranges\['n'\] must have shape \(3, 2\)"):
        BitTable(schema, words, words[:3].copy(), 10, {"n": np.zeros((2, 2))})


def test_table_arrays_are_read_only(rng: np.random.Generator) -> None:
    table = random_table(rng)
    assert_table_layout(table)
    with pytest.raises(ValueError, match="read-only"):
        table.bits[0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        table.valid[0, 0] = 0
    with pytest.raises(ValueError, match="read-only"):
        table.ranges["age"][0, 0] = 0.0


def test_table_copies_writeable_input() -> None:
    schema = layout_schema()
    bits = np.zeros((schema.n_columns, 1), dtype=np.uint64)
    valid = np.ones((schema.n_features, 1), dtype=np.uint64)
    table = BitTable(schema, bits, valid, 1)
    bits[0, 0] = 1
    assert table.bits[0, 0] == 0
    assert bits.flags.writeable


def test_table_takes_over_without_copy() -> None:
    schema = layout_schema()
    bits = np.zeros((schema.n_columns, 1), dtype=np.uint64)
    valid = np.ones((schema.n_features, 1), dtype=np.uint64)
    table = BitTable(schema, bits, valid, 1, copy=False)
    assert table.bits is bits
    assert not bits.flags.writeable


def test_table_missing_ranges_are_unknown() -> None:
    schema = layout_schema()
    words = np.zeros((5, 1), dtype=np.uint64)
    table = BitTable(schema, words, words[:3].copy(), 10)
    np.testing.assert_array_equal(table.ranges["n"], [[-np.inf, np.inf]] * 3)


# ---------------------------------------------------------------------------
# Constructors from data keep the layout


@pytest.mark.parametrize("n_rows", EDGE_ROWS, ids=str)
def test_from_frame_keeps_layout(rng: np.random.Generator, n_rows: int) -> None:
    table = encode_frame(random_frame(rng, n_rows))
    assert table.n_rows == n_rows
    assert len(table) == n_rows
    assert_table_layout(table)


@pytest.mark.parametrize("n_rows", EDGE_ROWS, ids=str)
def test_from_csv_keeps_layout(tmp_path: Path, n_rows: int) -> None:
    lines = [f"{'xy'[row % 2]},{row % 5},{'?' if row % 7 == 0 else row / 3}" for row in range(n_rows)]
    path = tmp_path / "rows.csv"
    path.write_text("c,k,x\n" + "".join(line + "\n" for line in lines))
    if n_rows >= 5:
        table = BitTable.from_csv(path)
    else:
        with pytest.warns(ConstantFeatureWarning, match="give no bit columns"):
            table = BitTable.from_csv(path)
    assert table.n_rows == n_rows
    assert_table_layout(table)


@pytest.mark.parametrize("n_rows", EDGE_ROWS, ids=str)
def test_from_array_keeps_layout(rng: np.random.Generator, n_rows: int) -> None:
    X = rng.random((n_rows, 3)) < 0.5
    y = np.where(np.arange(n_rows) % 2 == 0, "even", "odd")
    if n_rows >= 2:
        table = BitTable.from_array(X, y)
        assert table.columns == ("x0", "x1", "x2", "y = even", "y = odd")
        assert_table_layout(table)
        np.testing.assert_array_equal(table.column_values("x1"), X[:, 1])
    else:
        with pytest.raises(TargetError, match="target 'y' has (one class|no classes)"):
            BitTable.from_array(X, y)


def test_from_array_names_features() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    table = BitTable.from_array(X, ["a", "b", "a"], feature_names=["left", "right"], target="t")
    assert table.schema.feature_names == ("left", "right", "t")
    assert table.target == "t"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"X": np.zeros(3)}, InvalidParameterError, r"X must be a 2-D array .* got shape \(3,\)"),
        ({"X": np.zeros((3, 1)), "y": np.zeros(2)}, InvalidParameterError, r"y must have shape \(3,\)"),
        (
            {"X": np.zeros((3, 1)), "feature_names": ["a", "b"]},
            InvalidParameterError,
            "feature_names has 2 names but X has 1 columns",
        ),
        (
            {"X": np.zeros((3, 1)), "y": np.zeros(3), "feature_names": ["y"]},
            TargetError,
            "target name 'y' is also a feature name",
        ),
    ],
    ids=["one-dimensional", "y-length", "names-length", "target-clash"],
)
def test_from_array_rejects_invalid(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        BitTable.from_array(**arguments)


def test_from_frame_rejects_non_frame() -> None:
    with pytest.raises(InvalidParameterError, match="needs a pandas DataFrame, got dict"):
        BitTable.from_frame({"a": [1, 2]})


def test_from_frame_rejects_duplicate_names() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match="columns 0 and 1 of the frame are both named 'a'"):
        BitTable.from_frame(frame)


def test_from_frame_rejects_clashing_names() -> None:
    frame = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=[1, "1"])
    with pytest.raises(DataError, match="both named '1'"):
        BitTable.from_frame(frame)


def test_from_frame_rejects_empty_name() -> None:
    frame = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["a", ""])
    with pytest.raises(DataError, match="column 1 of the frame has an empty name"):
        BitTable.from_frame(frame)


# ---------------------------------------------------------------------------
# Row slices


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 0), (0, 300), (0, 64), (1, 65), (63, 129), (64, 128), (100, 101), (299, 300), (300, 300)],
    ids=lambda value: str(value),
)
def test_slice_rows_keeps_layout(rng: np.random.Generator, start: int, stop: int) -> None:
    table = random_table(rng)
    part = table.slice_rows(start, stop)
    assert part.n_rows == stop - start
    assert part.schema == table.schema
    assert_table_layout(part)
    for column in range(table.n_columns):
        expected = table.column_values(column)[start:stop]
        np.testing.assert_array_equal(part.column_values(column), expected)
    full_valid = unpack_bits(table.valid, table.n_rows)[:, start:stop]
    np.testing.assert_array_equal(unpack_bits(part.valid, part.n_rows), full_valid)


@pytest.mark.parametrize(
    ("start", "stop"), [(-1, 5), (5, 4), (0, 301)], ids=["negative", "reversed", "past-end"]
)
def test_slice_rows_rejects_outside_range(
    rng: np.random.Generator, start: int, stop: int
) -> None:
    table = random_table(rng)
    with pytest.raises(InvalidParameterError, match=rf"row range {start}:{stop} is outside 0:300"):
        table.slice_rows(start, stop)


@pytest.mark.parametrize(
    "rows",
    [slice(None), slice(10, 70), slice(-65, None), slice(None, -1), slice(250, 1000), slice(80, 20), slice(-1000, 3)],
    ids=["all", "middle", "negative-start", "negative-stop", "past-end", "reversed", "before-start"],
)
def test_getitem_follows_slice_rules(rng: np.random.Generator, rows: slice) -> None:
    table = random_table(rng)
    part = table[rows]
    expected_rows = np.arange(table.n_rows)[rows]
    assert part.n_rows == len(expected_rows)
    assert_table_layout(part)
    for column in range(table.n_columns):
        expected = table.column_values(column)[expected_rows]
        np.testing.assert_array_equal(part.column_values(column), expected)


def test_getitem_rejects_step(rng: np.random.Generator) -> None:
    with pytest.raises(InvalidParameterError, match="row slices must have step 1, got 2"):
        random_table(rng)[::2]


def test_getitem_rejects_integer(rng: np.random.Generator) -> None:
    with pytest.raises(InvalidParameterError, match="indexed by a row slice, got int"):
        random_table(rng)[3]


# ---------------------------------------------------------------------------
# Split and concat


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=raw_tables(), shard_rows=st.integers(1, 320))
def test_split_concat_round_trips(table: BitTable, shard_rows: int) -> None:
    assert_table_layout(table)
    shards = table.split(shard_rows)
    assert [shard.n_rows for shard in shards[:-1]] == [shard_rows] * (len(shards) - 1)
    assert sum(shard.n_rows for shard in shards) == table.n_rows
    for shard in shards:
        assert_table_layout(shard)
    joined = BitTable.concat(shards)
    assert_table_layout(joined)
    assert joined == table
    assert joined.fingerprint == table.fingerprint


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 140), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_concat_joins_encoded_parts(sizes: list[int], seed: int) -> None:
    generator = np.random.default_rng(seed)
    frames = [random_frame(generator, size) for size in sizes]
    whole = pd.concat(frames, ignore_index=True)
    schema = encode_frame(whole, n_thresholds=6).schema
    parts = [BitTable.from_frame(frame, schema=schema) for frame in frames]
    joined = BitTable.concat(parts)
    expected = BitTable.from_frame(whole, schema=schema)
    assert_table_layout(joined)
    np.testing.assert_array_equal(joined.bits, expected.bits)
    np.testing.assert_array_equal(joined.valid, expected.valid)
    np.testing.assert_array_equal(joined.ranges["age"], expected.ranges["age"])


def test_split_empty_table_gives_one_shard() -> None:
    schema = layout_schema()
    empty = np.zeros((5, 0), dtype=np.uint64)
    table = BitTable(schema, empty, empty[:3], 0)
    shards = table.split(10)
    assert [shard.n_rows for shard in shards] == [0]
    assert BitTable.concat(shards) == table


@pytest.mark.parametrize("shard_rows", [0, -3, True, 2.5], ids=["zero", "negative", "bool", "float"])
def test_split_rejects_invalid_size(rng: np.random.Generator, shard_rows: object) -> None:
    with pytest.raises(InvalidParameterError, match="shard_rows must be an int >= 1"):
        random_table(rng).split(shard_rows)


def test_concat_rejects_other_schema(rng: np.random.Generator) -> None:
    first = random_table(rng, 100)
    second = BitTable.from_frame(random_frame(rng, 100), n_thresholds=3)
    with pytest.raises(DataError, match="table 1 has another schema than table 0"):
        BitTable.concat([first, second])


def test_concat_rejects_no_tables() -> None:
    with pytest.raises(InvalidParameterError, match="concat needs at least one table"):
        BitTable.concat([])


def test_concat_merges_ranges() -> None:
    schema = layout_schema()
    words = np.zeros((5, 1), dtype=np.uint64)
    left = BitTable(schema, words, words[:3].copy(), 3, {"n": np.array([[-1, -1], [np.inf, -np.inf], [2, 5]])})
    right = BitTable(schema, words, words[:3].copy(), 3, {"n": np.array([[-2, -0.5], [0.5, 0.5], [3, 4]])})
    joined = BitTable.concat([left, right])
    np.testing.assert_array_equal(joined.ranges["n"], [[-2, -0.5], [0.5, 0.5], [2, 5]])


# ---------------------------------------------------------------------------
# Identity


def test_fingerprint_changes_with_one_bit(rng: np.random.Generator) -> None:
    table = random_table(rng)
    bits = table.bits.copy()
    bits[0, 0] ^= np.uint64(1)  # row 0 is never missing
    changed = BitTable(table.schema, bits, table.valid, table.n_rows, table.ranges)
    assert changed != table
    assert changed.fingerprint != table.fingerprint


def test_table_is_not_hashable(rng: np.random.Generator) -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(random_table(rng))


def test_table_column_by_text_node_number(rng: np.random.Generator) -> None:
    table = random_table(rng)
    column = table.schema.column_of("color = red")
    np.testing.assert_array_equal(table.column("color = red"), table.bits[column])
    np.testing.assert_array_equal(table.column(table.literals[column]), table.bits[column])


def test_table_column_rejects_out_of_range(rng: np.random.Generator) -> None:
    table = random_table(rng)
    with pytest.raises(InvalidParameterError, match=rf"column number {table.n_columns} is out of range"):
        table.column(table.n_columns)


# ---------------------------------------------------------------------------
# Save and load


@pytest.mark.parametrize("n_rows", EDGE_ROWS, ids=str)
def test_save_load_round_trips(tmp_path: Path, rng: np.random.Generator, n_rows: int) -> None:
    table = encode_frame(random_frame(rng, n_rows), n_thresholds=5)
    path = tmp_path / "table.npz"
    table.save(path)
    loaded = BitTable.load(path)
    assert loaded == table
    assert loaded.fingerprint == table.fingerprint
    assert_table_layout(loaded)
    for name, ranges in table.ranges.items():
        np.testing.assert_array_equal(loaded.ranges[name], ranges)


def test_save_replaces_existing_file(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "table.npz"
    random_table(rng, 50).save(path)
    table = random_table(rng, 70)
    table.save(path)
    assert BitTable.load(path) == table


def test_save_failure_leaves_no_file(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = random_table(rng)
    path = tmp_path / "table.npz"
    old = random_table(rng, 10)
    old.save(path)
    before = path.read_bytes()

    def fail_midway(stream, **arrays: object) -> None:
        stream.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        table.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.npz"]


def test_save_failure_creates_no_file(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = random_table(rng)

    def interrupt(stream, **arrays: object) -> None:
        stream.write(b"PK")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupt)
    with pytest.raises(KeyboardInterrupt):
        table.save(tmp_path / "table.npz")
    assert list(tmp_path.iterdir()) == []


def test_load_missing_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match=r"table file not found: '.*absent\.npz'"):
        BitTable.load(tmp_path / "absent.npz")


def _write_text(path: Path) -> None:
    path.write_text("age,smoker\n1,yes\n")


def _write_empty(path: Path) -> None:
    path.write_bytes(b"")


def _write_npy(path: Path) -> None:
    with path.open("wb") as handle:
        np.save(handle, np.arange(4))


def _write_other_npz(path: Path) -> None:
    with path.open("wb") as handle:
        np.savez(handle, weights=np.arange(4))


def _write_truncated(path: Path) -> None:
    layout_table().save(path)
    path.write_bytes(path.read_bytes()[:200])


def _write_pickled(path: Path) -> None:
    arrays = _saved_arrays()
    arrays["bits"] = np.array([{"not": "bits"}], dtype=object)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def layout_table() -> BitTable:
    schema = layout_schema()
    bits = pack_bits(np.array([[1, 0, 1]] * 5, dtype=bool))
    valid = pack_bits(np.ones((3, 3), dtype=bool))
    return BitTable(schema, bits, valid, 3, {"n": np.array([[-1, -1], [0.5, 0.5], [4, 4]])})


def _saved_arrays() -> dict[str, np.ndarray]:
    table = layout_table()
    return {
        "format": np.array(1),
        "schema": np.frombuffer(table.schema.to_json().encode(), dtype=np.uint8),
        "n_rows": np.array(3, dtype=np.int64),
        "bits": table.bits,
        "valid": table.valid,
        "ranges": np.concatenate([table.ranges["n"]]),
    }


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_write_text, r"is not a saved BitTable: BitTable\.save writes an \.npz"),
        (_write_empty, r"is not a saved BitTable: BitTable\.save writes an \.npz"),
        (_write_npy, r"is not a saved BitTable \(\.npz\)"),
        (_write_other_npz, r"is not a saved BitTable: it lacks \['bits', 'format'"),
        (_write_truncated, r"is not a saved BitTable: BitTable\.save writes an \.npz"),
        (_write_pickled, r"is not a saved BitTable: BitTable\.save writes an \.npz"),
    ],
    ids=["csv-text", "empty", "npy-array", "other-npz", "truncated", "pickled-array"],
)
def test_load_rejects_non_table_file(tmp_path: Path, write, message: str) -> None:
    path = tmp_path / "file.npz"
    write(path)
    with pytest.raises(DataError, match=rf"'.*file\.npz' {message}"):
        BitTable.load(path)


def test_saved_arrays_match_save(tmp_path: Path) -> None:
    # Keeps _saved_arrays, which the format tests below edit, in step with save.
    path = tmp_path / "table.npz"
    layout_table().save(path)
    with np.load(path) as stored:
        saved = {key: stored[key] for key in stored.files}
    expected = _saved_arrays()
    assert saved.keys() == expected.keys()
    for key, array in expected.items():
        np.testing.assert_array_equal(saved[key], array)


@pytest.mark.parametrize("version", [0, 2], ids=["older", "newer"])
def test_load_rejects_other_table_format(tmp_path: Path, version: int) -> None:
    arrays = _saved_arrays()
    arrays["format"] = np.array(version)
    path = tmp_path / "table.npz"
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(
        DataError, match=rf"has table format {version}; this Loom reads format 1\. Save it again"
    ):
        BitTable.load(path)


def test_load_rejects_other_schema_format(tmp_path: Path) -> None:
    arrays = _saved_arrays()
    schema = json.loads(arrays["schema"].tobytes())
    schema["format"] = 2
    arrays["schema"] = np.frombuffer(json.dumps(schema).encode(), dtype=np.uint8)
    path = tmp_path / "table.npz"
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(DataError, match="schema format 2 is not supported"):
        BitTable.load(path)


def test_load_reads_zip_written_by_save(tmp_path: Path) -> None:
    path = tmp_path / "table.npz"
    layout_table().save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(f"{key}.npy" for key in _saved_arrays())


# ---------------------------------------------------------------------------
# Real data sets


@pytest.mark.parametrize(
    "entry", dataset_index(), ids=[str(entry["file"]) for entry in dataset_index()]
)
def test_real_data_table_operations(tmp_path: Path, datasets_dir: Path, entry: dict) -> None:
    path = datasets_dir / str(entry["file"])
    numeric = set(entry["numeric_features"])
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    kinds = {name: "numeric" if name in numeric else "categorical" for name in header}
    table = BitTable.from_csv(path, str(entry["target"]), kinds=kinds)
    assert_table_layout(table)

    for shard_rows in (1, 63, 64, 100, table.n_rows):
        shards = table.split(shard_rows)
        for shard in shards:
            assert_table_layout(shard)
        assert BitTable.concat(shards) == table

    middle = table[table.n_rows // 3 : -7]
    assert_table_layout(middle)

    saved = tmp_path / "table.npz"
    table.save(saved)
    loaded = BitTable.load(saved)
    assert_table_layout(loaded)
    assert loaded == table
    assert loaded.fingerprint == table.fingerprint
