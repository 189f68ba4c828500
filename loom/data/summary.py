"""Per-column summaries gathered chunk by chunk: the evidence a schema is built from.

A `ColumnSummary` takes in every chunk of one input column once. It keeps, in bounded
memory, what deciding the column's kind and domain needs: whether its texts all look
boolean or numeric, its distinct labels, and a `NumberSketch` of its numbers. The one
unbounded part is the label set of a categorical column, which the schema lists in full.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.data.encode import (
    FRACTION_TEXT,
    NUMBER_TEXT,
    Cells,
    CellForm,
    EncodingOptions,
    RowLocator,
    cut_points,
    label_order,
    label_text,
    quantile_cuts,
    to_bool,
    to_numbers,
    uniques,
)
from loom.data.schema import FeatureSpec, Kind
from loom.exceptions import DataError

__all__ = ["EXACT_DISTINCT_LIMIT", "SAMPLE_SIZE", "ColumnSummary", "NumberSketch"]

# A numeric column keeps its distinct values and their counts while it has at most
# this many. Past that, its thresholds come from a sample of SAMPLE_SIZE values.
EXACT_DISTINCT_LIMIT = 65_536
SAMPLE_SIZE = 65_536

_BOOLEAN_TEXT = frozenset({"true", "false"})


class NumberSketch:
    """The numbers of one column, summarized for choosing quantile thresholds.

    While the column has at most `exact_limit` distinct values, the sketch keeps each
    distinct value with its count, and `cut_points` returns exactly what
    `loom.data.cut_points` returns for all of the column's values. Past that limit it
    keeps a uniform random sample without replacement of `sample_size` values: the
    values of the rows with the smallest keys, where a row's key is a 64-bit hash of
    its row number and `salt`. The sample therefore depends only on the data and the
    salt, not on how the rows are cut into chunks. The thresholds are then the quantile
    cuts of the sample; with 65,536 sampled values the rank of a cut is within about
    0.4% of the rank it aims at (two standard errors of a sample quantile).

    Parameters
    ----------
    salt : int
        Mixed into the row keys, so that columns draw different samples.
    exact_limit, sample_size : int, optional
        Default `EXACT_DISTINCT_LIMIT` and `SAMPLE_SIZE`.

    Examples
    --------
    >>> sketch = NumberSketch(0)
    >>> sketch.add(np.array([1.0, 2.0, 2.0]), np.arange(3))
    >>> sketch.add(np.array([4.0]), np.array([3]))
    >>> sketch.cut_points(8)
    (1.5, 3.0)
    """

    def __init__(
        self, salt: int, exact_limit: int | None = None, sample_size: int | None = None
    ) -> None:
        self.salt = int(salt)
        self.exact_limit = EXACT_DISTINCT_LIMIT if exact_limit is None else exact_limit
        self.sample_size = SAMPLE_SIZE if sample_size is None else sample_size
        self.distinct: NDArray[np.float64] | None = np.zeros(0)
        self.counts: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.sample_keys: NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self.sample: NDArray[np.float64] = np.zeros(0)

    @property
    def exact(self) -> bool:
        """Whether the sketch still keeps every distinct value."""
        return self.distinct is not None

    def add(self, values: NDArray[np.float64], rows: NDArray[np.int64]) -> None:
        """Add finite `values`, found at row numbers `rows` of the whole column."""
        if self.distinct is not None:
            found, counts = np.unique(values, return_counts=True)
            merged, positions = np.unique(
                np.concatenate([self.distinct, found]), return_inverse=True
            )
            totals = np.zeros(len(merged), dtype=np.int64)
            np.add.at(totals, positions, np.concatenate([self.counts, counts]))
            if len(merged) > self.exact_limit:
                self.distinct = None
                self.counts = np.zeros(0, dtype=np.int64)
            else:
                self.distinct, self.counts = merged, totals
        keys = np.concatenate([self.sample_keys, row_keys(rows, self.salt)])
        sample = np.concatenate([self.sample, values])
        if len(keys) > self.sample_size:
            kept = np.argpartition(keys, self.sample_size - 1)[: self.sample_size]
            keys, sample = keys[kept], sample[kept]
        self.sample_keys, self.sample = keys, sample

    def cut_points(self, n_thresholds: int, extra: tuple[float, ...] = ()) -> tuple[float, ...]:
        """Return the thresholds, as `loom.data.cut_points` chooses them."""
        if self.distinct is not None:
            return quantile_cuts(self.distinct, self.counts, n_thresholds, extra)
        return cut_points(self.sample, n_thresholds, extra)


def row_keys(rows: NDArray[np.int64], salt: int) -> NDArray[np.uint64]:
    """Return a 64-bit hash of each row number (SplitMix64's output function).

    Examples
    --------
    >>> row_keys(np.arange(3), 0).dtype
    dtype('uint64')
    """
    offset = np.uint64((salt * 0x9E3779B97F4A7C15) % 2**64)
    mixed = np.asarray(rows, dtype=np.uint64).reshape(-1) + offset
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return mixed ^ (mixed >> np.uint64(31))


class ColumnSummary:
    """What one input column's chunks showed, for building its `FeatureSpec`.

    Parameters
    ----------
    name : str
    position : int
        The column's position in the input; salts its number sample.
    form : CellForm
        How the column's cells are read.
    kind : {'boolean', 'categorical', 'numeric'} or None
        The declared kind; None infers it as `BitTable.from_csv` describes.
    is_target : bool
    options : EncodingOptions

    Notes
    -----
    A text column whose kind is inferred keeps its distinct texts, so that it can
    become categorical, until they pass the exact limit while all of them are
    numbers. It then keeps only its numbers. If a later text is not a number, the
    column is categorical after all, and `needs_labels` tells the encoder to gather
    its labels in another pass.
    """

    def __init__(
        self, name: str, position: int, form: CellForm, kind: Kind | None,
        is_target: bool, options: EncodingOptions,
    ) -> None:
        self.name = name
        self.form = form
        self.is_target = is_target
        self.options = options
        if kind is None and form in ("bool", "bool-objects"):
            kind = "boolean"
        elif kind is None and form == "number":
            kind = "categorical" if is_target else "numeric"
        self.kind = kind
        self.n_rows = 0
        self.n_present = 0
        self.any_missing = False
        self.seen_truth: set[bool] = set()
        self.labels: dict[str, None] | None = None
        if kind in (None, "categorical"):
            self.labels = {}
        self.labels_dropped = False
        self.all_boolean = True
        self.all_number = not is_target
        self.has_fraction = False
        self.numbers: NumberSketch | None = None
        if kind == "numeric" or (kind is None and not is_target):
            self.numbers = NumberSketch(position)
        self.error: DataError | None = None
        # Past this many distinct texts, all numbers, a column is numeric for sure
        # unless a later text is not a number.
        self.limit = max(EXACT_DISTINCT_LIMIT, options.max_integer_categories + 1)

    # -- the pass over the chunks ----------------------------------------------------

    def add(self, cells: Cells, start: int, locate: RowLocator, source: str) -> None:
        """Take in the cells of rows ``start`` to ``start + len(cells) - 1``.

        A cell that does not fit a declared kind is recorded in `error`, and later
        chunks of that column are skipped. Once every column has been read, the
        encoder raises the error of the first column that has one.
        """
        count = len(cells.present)
        self.n_rows += count
        if self.error is not None:
            return
        present = cells.present
        self.n_present += int(present.sum())
        self.any_missing = self.any_missing or not bool(present.all())

        def at(row: int) -> str:
            return locate(start + row)

        try:
            if self.kind == "boolean":
                truth = to_bool(cells, self.name, at, source)[present]
                self.seen_truth.update(bool(value) for value in np.unique(truth))
            elif self.kind == "categorical":
                self._add_labels(label_set(cells))
            elif self.kind == "numeric":
                self._add_numbers(to_numbers(cells, self.name, at, source), present, start)
            else:
                self._add_texts(cells, start, at, source)
        except DataError as error:
            self.error = error

    def add_labels(self, cells: Cells) -> None:
        """Take in labels only: the extra pass of a column that `needs_labels`."""
        self._add_labels(label_set(cells))

    def _add_labels(self, labels: list[str]) -> None:
        assert self.labels is not None
        self.labels.update(dict.fromkeys(labels))

    def _add_numbers(
        self, numbers: NDArray[np.float64], present: NDArray[np.bool_], start: int
    ) -> None:
        assert self.numbers is not None
        finite = present & np.isfinite(numbers)
        self.numbers.add(numbers[finite], start + np.flatnonzero(finite))

    def _add_texts(self, cells: Cells, start: int, at: RowLocator, source: str) -> None:
        texts = uniques(cells.values[cells.present])
        if self.labels is not None:
            self._add_labels(texts)
        if self.all_boolean:
            self.all_boolean = all(text.lower() in _BOOLEAN_TEXT for text in texts)
        if self.all_number:
            self.all_number = all(NUMBER_TEXT.fullmatch(text) for text in texts)
            if self.all_number:
                self.has_fraction = self.has_fraction or any(
                    FRACTION_TEXT.search(text) for text in texts
                )
                numbers = to_numbers(cells, self.name, at, source)
                self._add_numbers(numbers, cells.present, start)
            else:
                self.numbers = None
        if self.labels is not None and len(self.labels) > self.limit and self.all_number:
            self.labels = None
            self.labels_dropped = True

    # -- the outcome ------------------------------------------------------------------

    def inferred_kind(self) -> Kind:
        """Return the kind: the declared one, or the one the cells imply."""
        if self.kind is not None:
            return self.kind
        if self.n_present and self.all_boolean:
            return "boolean"
        if self.is_target or not self.n_present or not self.all_number:
            return "categorical"
        n_distinct = len(self.labels) if self.labels is not None else self.limit + 1
        if self.has_fraction or n_distinct > self.options.max_integer_categories:
            return "numeric"
        return "categorical"

    @property
    def needs_labels(self) -> bool:
        """Whether the column is categorical but its labels were dropped."""
        return self.labels_dropped and self.inferred_kind() == "categorical"

    def restart_labels(self) -> None:
        """Start an empty label set for the extra pass."""
        self.labels = {}
        self.labels_dropped = False

    def spec(self) -> FeatureSpec:
        """Return the feature's spec; call after the last chunk."""
        kind = self.inferred_kind()
        allows_missing = self.any_missing
        if kind == "boolean":
            truth = self.seen_truth
            if self.kind is None:
                assert self.labels is not None
                truth = {label.lower() == "true" for label in self.labels}
            seen = tuple(text for text, flag in (("false", False), ("true", True))
                         if flag in truth)
            return FeatureSpec(self.name, kind, values=seen, allows_missing=allows_missing)
        if kind == "categorical":
            assert self.labels is not None
            ordered = tuple(sorted(self.labels, key=label_order))
            return FeatureSpec(self.name, kind, values=ordered, allows_missing=allows_missing)
        assert self.numbers is not None
        extra = tuple(float(cut) for cut in self.options.thresholds.get(self.name, ()))
        cuts = self.numbers.cut_points(self.options.n_thresholds, extra)
        return FeatureSpec(self.name, kind, thresholds=cuts, allows_missing=allows_missing)


def label_set(cells: Cells) -> list[Any]:
    """Return the distinct labels of the present cells, as `to_labels` spells them."""
    present = cells.values[cells.present]
    if cells.is_text:
        return uniques(present)
    if cells.values.dtype == bool:
        return ["true" if value else "false" for value in np.unique(present)]
    # Equal numbers share a label (0.0 and -0.0 both read "0"), so the distinct
    # numbers give every label.
    return list(dict.fromkeys(label_text(value) for value in np.unique(present)))
