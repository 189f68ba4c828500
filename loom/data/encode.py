"""Encoding of cells into bit columns: cell conversion, per-kind encoding, thresholds.

`encode_frame` encodes an in-memory frame through the chunked encoder of
`loom.data.stream`. That encoder infers each column's kind and domain (or takes them
from a schema), turns every feature into packed bit columns plus a validity mask, and
records the range of values between each pair of numeric thresholds. This module
contains the steps that work on one chunk of rows. Column names must already be unique strings;
readers check that.
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loom.constraints.ast import format_number
from loom.data.bits import pack_bits
from loom.data.schema import KINDS, FeatureSpec, Kind, Schema
from loom.exceptions import (
    ConstantFeatureWarning,
    DataError,
    InvalidParameterError,
    MemoryLimitError,
    TargetError,
    UnseenValueWarning,
)

__all__ = [
    "CellForm",
    "EncodedColumns",
    "EncodingNotes",
    "EncodingOptions",
    "cell_form",
    "cut_points",
    "default_memory_limit",
    "encode_frame",
    "quantile_cuts",
]

logger = logging.getLogger(__name__)

DEFAULT_MISSING_VALUES = ("", "?")
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "0"})
# A text column is inferred numeric only when every value is a plain decimal number
# without leading zeros, so labels such as "007" stay labels.
NUMBER_TEXT = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
FRACTION_TEXT = re.compile(r"[.eE]")

# Where a row sits in the input, for error messages: "line 12" or "row 10".
RowLocator = Callable[[int], str]

# How the cells of an input column are read. It is fixed for the whole column, so that
# every chunk converts alike. Columns of bool and numeric dtypes are "bool" and
# "number". Object columns are "text" (strings), "bool-objects" (Python bools) or
# "labels" (other objects, read through `label_text`).
CellForm: TypeAlias = Literal["bool", "number", "text", "bool-objects", "labels"]
CELL_FORMS: tuple[CellForm, ...] = ("bool", "number", "text", "bool-objects", "labels")


@dataclass(frozen=True)
class EncodingOptions:
    """Settings of an encoding; see `BitTable.from_frame` for their meaning."""

    kinds: Mapping[str, Kind] = field(default_factory=dict)
    n_thresholds: int = 32
    thresholds: Mapping[str, Sequence[float]] = field(default_factory=dict)
    missing_values: tuple[str, ...] = DEFAULT_MISSING_VALUES
    max_integer_categories: int = 20
    memory_limit: int | None = None

    def __post_init__(self) -> None:
        for name, kind in self.kinds.items():
            if kind not in KINDS:
                msg = (
                    f"kinds[{name!r}] must be one of {', '.join(KINDS)}; got {kind!r}. "
                    "Pass e.g. kinds={'age': 'numeric'}."
                )
                raise InvalidParameterError(msg)
        _check_count(self.n_thresholds, "n_thresholds", minimum=0)
        _check_count(self.max_integer_categories, "max_integer_categories", minimum=0)
        for name, cuts in self.thresholds.items():
            values = [float(cut) for cut in cuts]
            if not all(math.isfinite(value) for value in values):
                msg = f"thresholds[{name!r}] must be finite numbers, got {list(cuts)!r}."
                raise InvalidParameterError(msg)
        if self.memory_limit is not None:
            _check_count(self.memory_limit, "memory_limit", minimum=1)


@dataclass
class EncodedColumns:
    """The encoded arrays of a table, before they become a `BitTable`."""

    schema: Schema
    n_rows: int
    bits: NDArray[np.uint64]
    valid: NDArray[np.uint64]
    ranges: dict[str, NDArray[np.float64]]


@dataclass
class Cells:
    """One input column split into present values and a presence mask."""

    values: NDArray[Any]
    present: NDArray[np.bool_]
    is_text: bool


def default_memory_limit() -> int:
    """Return half of the memory available now, in bytes (8 GiB if unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def encode_frame(
    frame: pd.DataFrame,
    *,
    target: str | None,
    schema: Schema | None,
    options: EncodingOptions,
    locate: RowLocator,
    source: str,
    chunk_rows: int | None = None,
    progress: bool = False,
) -> EncodedColumns:
    """Encode `frame`, following `schema` when given, else building one.

    Parameters
    ----------
    frame : DataFrame
        Columns with unique string names.
    target : str or None
        Name of the target column (ignored when `schema` is given: its target counts).
    schema : Schema or None
        Schema to follow; None builds one from the data.
    options : EncodingOptions
    locate : callable
        Maps a row position to its place in the input, for error messages.
    source : str
        What the data came from (a file name or "frame"), for error messages.
    chunk_rows : int, optional
        Rows converted at a time; see `loom.data.stream.encode_chunks`.
    progress : bool, default=False
        Show a progress bar on stderr.
    """
    from loom.data.stream import encode_chunks, frame_source

    chunks = frame_source(frame, options, locate=locate, source=source)
    return encode_chunks(
        chunks, target=target, schema=schema, options=options, chunk_rows=chunk_rows,
        progress=progress, stacklevel=4,
    )


def check_target(spec: FeatureSpec, source: str, n_rows: int) -> None:
    """Raise `TargetError` unless the target feature has at least two classes."""
    n_classes = len(spec.values) if spec.kind != "numeric" else len(spec.thresholds) + 1
    if n_classes >= 2:
        return
    if n_rows == 0:
        msg = (
            f"{source} has no data rows, so target {spec.name!r} has no classes; a "
            "classifier needs rows of at least two classes."
        )
        raise TargetError(msg)
    if not spec.values:
        found = "every value is missing"
    else:
        found = f"its only value is {spec.values[0]!r}"
    msg = (
        f"target {spec.name!r} has one class ({found}); a classifier needs at least "
        "two. Check the data or choose another target column."
    )
    raise TargetError(msg)


def warn_constant(specs: Sequence[FeatureSpec], target: str | None, source: str,
                  stacklevel: int) -> None:
    """Warn about features that take one value or none, the target excepted."""
    constant = [spec.name for spec in specs if spec.is_constant and spec.name != target]
    if constant:
        listed = ", ".join(repr(name) for name in constant)
        msg = (
            f"{len(constant)} feature(s) of {source} take a single value or none and "
            f"give no bit columns: {listed}."
        )
        warnings.warn(msg, ConstantFeatureWarning, stacklevel=stacklevel + 1)


def cut_points(
    values: NDArray[np.float64], n_thresholds: int, extra: Sequence[float] = ()
) -> tuple[float, ...]:
    """Choose numeric thresholds: at most `n_thresholds` quantile cuts plus `extra`.

    Each quantile cut lies between two neighbouring distinct values, at the number
    with the fewest significant digits near their midpoint, so that ``x <= t``
    separates the data exactly and prints short. When there are few distinct values,
    every gap gets a cut.

    Examples
    --------
    >>> cut_points(np.array([1.0, 2.0, 2.0, 4.0]), 8)
    (1.5, 3.0)
    >>> cut_points(np.arange(100.0), 3)
    (24.5, 49.5, 74.5)
    """
    distinct, counts = np.unique(values, return_counts=True)
    return quantile_cuts(distinct, counts, n_thresholds, extra)


def quantile_cuts(
    distinct: NDArray[np.float64],
    counts: NDArray[np.int64],
    n_thresholds: int,
    extra: Sequence[float] = (),
) -> tuple[float, ...]:
    """Return `cut_points` of the values whose sorted distinct values and counts are
    given.

    Examples
    --------
    >>> quantile_cuts(np.array([1.0, 2.0, 4.0]), np.array([1, 2, 1]), 8)
    (1.5, 3.0)
    """
    cuts: set[float] = {float(cut) for cut in extra}
    if len(distinct) >= 2 and n_thresholds > 0:
        if len(distinct) - 1 <= n_thresholds:
            lower = np.arange(len(distinct) - 1)
        else:
            cumulative = np.cumsum(counts)
            levels = np.arange(1, n_thresholds + 1) / (n_thresholds + 1) * cumulative[-1]
            lower = np.searchsorted(cumulative, levels, side="left")
            lower = np.unique(np.clip(lower, 0, len(distinct) - 2))
        for index in lower:
            cuts.add(_midpoint(float(distinct[index]), float(distinct[index + 1])))
    return tuple(sorted(cuts))


def _midpoint(low: float, high: float) -> float:
    """Return the number with the fewest significant digits near the midpoint.

    The result lies strictly between `low` and `high` when any float does, so the
    threshold reads short (11.615, not 11.614999999999998) and still separates.
    """
    middle = low / 2 + high / 2  # halving first cannot overflow
    if not low < middle < high:
        return low
    for digits in range(1, 18):
        rounded = float(f"{middle:.{digits}g}")
        if low < rounded < high:
            return rounded
    return middle


def label_order(label: str) -> tuple[int, float, str]:
    if NUMBER_TEXT.fullmatch(label):
        return (0, float(label), label)
    return (1, 0.0, label)


# ---------------------------------------------------------------------------
# Per-kind encoding


def encode_feature(
    spec: FeatureSpec,
    cells: Cells,
    out: NDArray[np.uint64],
    ranges: dict[str, NDArray[np.float64]],
    locate: RowLocator,
    source: str,
    notes: EncodingNotes,
) -> NDArray[np.bool_]:
    """Fill the feature's bit columns in `out`; return the rows with a known value.

    Values the schema does not know are counted in `notes`, which warns once for all
    chunks.
    """
    present = cells.present
    if spec.kind == "boolean":
        truth = to_bool(cells, spec.name, locate, source)
        if spec.is_constant:
            dropped = present & (truth != spec.constant)
            notes.add_dropped(spec, int(dropped.sum()))
            present = present & ~dropped
        else:
            out[0] = pack_bits(truth & present)
        return present
    if spec.kind == "categorical":
        labels = to_labels(cells)
        if spec.is_constant:
            other = labels != (spec.values[0] if spec.values else None)
            dropped = present & other
            notes.add_dropped(spec, int(dropped.sum()))
            return present & ~other
        codes = pd.Index(spec.values).get_indexer(labels)
        unseen = present & (codes < 0)
        if unseen.any():
            notes.add_unseen(spec, labels[unseen])
        for column in range(len(spec.values)):
            out[column] = pack_bits(present & (codes == column))
        return present
    numbers = to_numbers(cells, spec.name, locate, source)
    present = present & ~np.isnan(numbers)
    thresholds = np.asarray(spec.thresholds, dtype=np.float64)
    for column, threshold in enumerate(thresholds):
        out[column] = pack_bits(present & (numbers <= threshold))
    ranges[spec.name] = bin_ranges(numbers[present], thresholds)
    return present


class EncodingNotes:
    """Rows with values the schema does not know, gathered over every chunk of an
    encoding so that each feature gets one warning."""

    def __init__(self) -> None:
        self.dropped: dict[str, tuple[FeatureSpec, int]] = {}
        self.unseen: dict[str, tuple[FeatureSpec, int, list[Any]]] = {}

    def add_dropped(self, spec: FeatureSpec, count: int) -> None:
        """Count rows of a constant feature whose value is not its one value."""
        if count:
            _, before = self.dropped.get(spec.name, (spec, 0))
            self.dropped[spec.name] = (spec, before + count)

    def add_unseen(self, spec: FeatureSpec, labels: NDArray[Any]) -> None:
        """Count rows whose categorical label the schema does not list."""
        _, before, examples = self.unseen.get(spec.name, (spec, 0, []))
        for label in uniques(labels):
            if len(examples) >= 5:
                break
            if label not in examples:
                examples.append(label)
        self.unseen[spec.name] = (spec, before + len(labels), examples)

    def warn(self, schema: Schema, source: str, stacklevel: int) -> None:
        """Issue the warnings, in feature order."""
        for spec in schema.features:
            if spec.name in self.dropped:
                count = self.dropped[spec.name][1]
                value = spec.values[0] if spec.values else "all missing"
                msg = (
                    f"feature {spec.name!r} is constant in the schema ({value!r}), so "
                    f"it has no bit columns; {count} row(s) of {source} with another "
                    "value are treated as missing. Re-encode with a schema built from "
                    "data that has those values."
                )
                warnings.warn(msg, UnseenValueWarning, stacklevel=stacklevel + 1)
            if spec.name in self.unseen:
                _, count, labels = self.unseen[spec.name]
                examples = ", ".join(repr(label) for label in labels)
                msg = (
                    f"feature {spec.name!r}: {count} row(s) of {source} hold values "
                    f"the schema does not know ({examples}); they match no '=' literal "
                    f"of {spec.name!r}."
                )
                warnings.warn(msg, UnseenValueWarning, stacklevel=stacklevel + 1)


def bin_ranges(
    numbers: NDArray[np.float64], thresholds: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the smallest and largest value between each pair of thresholds.

    Bin ``k`` holds the values in ``(thresholds[k-1], thresholds[k]]``; there are
    ``len(thresholds) + 1`` bins. An empty bin is ``(inf, -inf)``.

    Returns
    -------
    ndarray of shape (n_bins, 2), dtype=float64
    """
    n_bins = len(thresholds) + 1
    low = np.full(n_bins, np.inf)
    high = np.full(n_bins, -np.inf)
    bins = np.searchsorted(thresholds, numbers, side="left")
    np.minimum.at(low, bins, numbers)
    np.maximum.at(high, bins, numbers)
    return np.stack([low, high], axis=1)


# ---------------------------------------------------------------------------
# Cell conversion


def cell_form(series: pd.Series, options: EncodingOptions) -> CellForm:
    """Return how the cells of a whole column are read; see `CellForm`.

    Examples
    --------
    >>> options = EncodingOptions()
    >>> cell_form(pd.Series([1, 2]), options), cell_form(pd.Series(["a", "?"]), options)
    ('number', 'text')
    >>> cell_form(pd.Series([True, None], dtype=object), options)
    'bool-objects'
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        # Only the categories that occur count, as in the column's values.
        used = np.unique(series.cat.codes.to_numpy())
        series = pd.Series(dtype.categories[used[used >= 0]], dtype=object)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.StringDtype):
        return "text"  # every value is a str or missing
    values = series.to_numpy(dtype=object)
    return _object_form(values, _present_objects(values, options))


def _object_form(values: NDArray[Any], present: NDArray[np.bool_]) -> CellForm:
    kinds = pd.api.types.infer_dtype(values[present], skipna=False)
    if kinds in ("string", "empty"):
        return "text"
    if kinds == "boolean":
        return "bool-objects"
    return "labels"


def _present_objects(values: NDArray[Any], options: EncodingOptions) -> NDArray[np.bool_]:
    present = ~pd.isna(values)
    if options.missing_values:
        # np.isin fails on pd.NA, which has no truth value, so this uses pandas' isin.
        marked = pd.Series(values, dtype=object).isin(options.missing_values)
        present &= ~marked.to_numpy(dtype=bool)
    return present


def split_cells(
    series: pd.Series, options: EncodingOptions, form: CellForm | None = None
) -> Cells:
    """Split a column into cell values and a presence mask, read as `form` (default:
    the form of `series` itself)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if form is None and pd.api.types.is_bool_dtype(dtype):
        form = "bool"
    elif form is None and pd.api.types.is_numeric_dtype(dtype):
        form = "number"
    if form == "bool" and pd.api.types.is_bool_dtype(dtype):
        present = ~series.isna().to_numpy()
        values = series.fillna(False).to_numpy(dtype=bool)
        return Cells(values, present, is_text=False)
    if form == "number":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return Cells(values, ~np.isnan(values), is_text=False)
    values = series.to_numpy(dtype=object)
    present = _present_objects(values, options)
    if form is None:
        form = _object_form(values, present)
    if form == "text":
        return Cells(values, present, is_text=True)
    if form in ("bool", "bool-objects"):
        # A bool column with missing values arrives as objects (Arrow batches).
        return Cells(np.where(present, values, False).astype(bool), present, False)
    return Cells(_labels_of_objects(values, present), present, is_text=True)


def _labels_of_objects(values: NDArray[Any], present: NDArray[np.bool_]) -> NDArray[Any]:
    labels = np.empty(len(values), dtype=object)
    labels[:] = ""
    for row in np.flatnonzero(present):
        labels[row] = label_text(values[row])
    return labels


def label_text(value: object) -> str:
    """Return the label a raw cell value gets as a categorical value.

    Examples
    --------
    >>> label_text(3), label_text(2.0), label_text(True), label_text("007")
    ('3', '2', 'true', '007')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return format_number(float(value) + 0.0)  # -0.0 and 0.0 share the label "0"
    return str(value)


def to_labels(cells: Cells) -> NDArray[Any]:
    if cells.is_text:
        return cells.values
    if cells.values.dtype == bool:
        return np.where(cells.values, "true", "false").astype(object)
    labels = np.empty(len(cells.values), dtype=object)
    for row in np.flatnonzero(cells.present):
        labels[row] = label_text(cells.values[row])
    return labels


def to_bool(
    cells: Cells, name: str, locate: RowLocator, source: str
) -> NDArray[np.bool_]:
    if cells.values.dtype == bool:
        return cells.values
    if not cells.is_text:
        numbers = cells.values
        bad = cells.present & ~np.isin(numbers, (0.0, 1.0))
        _raise_first(bad, cells.values, name, locate, source, "is not a boolean (0 or 1)")
        return cells.present & (numbers == 1.0)
    lowered = pd.Series(cells.values).str.lower().to_numpy(dtype=object)
    is_true = np.isin(lowered, list(_TRUE_TEXT))
    is_false = np.isin(lowered, list(_FALSE_TEXT))
    bad = cells.present & ~is_true & ~is_false
    _raise_first(
        bad, cells.values, name, locate, source,
        "is not a boolean (true/false, yes/no, t/f, y/n or 1/0)",
    )
    return cells.present & is_true


def to_numbers(
    cells: Cells, name: str, locate: RowLocator, source: str
) -> NDArray[np.float64]:
    if not cells.is_text:
        return np.where(cells.present, cells.values.astype(np.float64), np.nan)
    text = np.where(cells.present, cells.values, "nan")
    numbers = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = cells.present & np.isnan(numbers)
    bad &= ~pd.Series(text).str.strip().str.lower().isin(["nan"]).to_numpy()
    advice = (
        "is not a number; fix it, mark it missing, or declare the column "
        f"categorical with kinds={{{name!r}: 'categorical'}}"
    )
    _raise_first(bad, cells.values, name, locate, source, advice)
    return np.where(cells.present, numbers, np.nan)


def _raise_first(
    bad: NDArray[np.bool_],
    values: NDArray[Any],
    name: str,
    locate: RowLocator,
    source: str,
    problem: str,
) -> None:
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    value = values[row]
    if isinstance(value, np.generic):
        value = value.item()  # 2.0 reads better than np.float64(2.0)
    msg = f"{source}, {locate(row)}, column {name!r}: {value!r} {problem}."
    raise DataError(msg)


def uniques(values: NDArray[Any]) -> list[Any]:
    return list(pd.unique(pd.Series(values, dtype=object)))


# ---------------------------------------------------------------------------
# Checks


def check_columns(names: list[str], schema: Schema, source: str) -> None:
    missing = [n for n in schema.feature_names if n not in names and n != schema.target]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        msg = f"{source} lacks column(s) {listed} of the schema it is encoded with."
        raise DataError(msg)
    extra = [name for name in names if name not in schema]
    if extra:
        listed = ", ".join(repr(name) for name in extra)
        msg = (
            f"{source} has column(s) {listed} that the schema does not have; drop "
            "them or encode without a schema."
        )
        raise DataError(msg)


def check_memory(schema: Schema, n_rows: int, options: EncodingOptions) -> None:
    estimate = schema.estimate_nbytes(n_rows)
    limit = options.memory_limit
    origin = "the memory_limit given"
    if limit is None:
        limit = default_memory_limit()
        origin = "half of the memory available"
    if estimate > limit:
        msg = (
            f"encoding {n_rows} rows into {schema.n_columns} bit columns needs about "
            f"{_bytes_text(estimate)}, more than {origin} ({_bytes_text(limit)}). "
            "Pass a larger memory_limit, fewer thresholds (n_thresholds), or fewer rows."
        )
        raise MemoryLimitError(msg)
    logger.debug("encoding %s rows needs about %s bytes", n_rows, estimate)


def _bytes_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _check_count(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        msg = f"{name} must be an int >= {minimum}, got {value!r}."
        raise InvalidParameterError(msg)
