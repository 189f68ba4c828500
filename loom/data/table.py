"""`BitTable`: a table encoded as packed bit columns, with validity masks per feature.

Every constructor checks shapes, dtypes and that padding bits are zero, so no operation
can hand out a table that breaks the layout. Arrays are read-only once in a table.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from loom.constraints.ast import Constraint
from loom.data.bits import (
    concat_bits,
    last_word_mask,
    n_words,
    row_mask,
    slice_bits,
    unpack_bits,
)
from loom.data.encode import (
    DEFAULT_MISSING_VALUES,
    EncodedColumns,
    EncodingOptions,
    encode_frame,
)
from loom.data.schema import Kind, Schema
from loom.data.stream import csv_source, encode_chunks, parquet_source
from loom.exceptions import DataError, InvalidParameterError, TargetError

__all__ = ["BitTable"]

TABLE_FORMAT = 1


class BitTable:
    """A table encoded as bit columns, one bit per row.

    Bit layout: each bit column is a C-contiguous run of ``uint64`` words; row ``r``
    is bit ``r % 64`` (least significant bit first) of word ``r // 64``. The
    ``64 * n_words - n_rows`` padding bits of the last word are always zero, in
    `bits` and in `valid`.

    A bit is set in column ``c`` exactly when the row's value makes the column's
    literal true; a missing value sets no bit of its feature. `valid` marks, per
    feature, the rows whose value is known, so a negated literal is
    ``valid & ~bits``.

    Parameters
    ----------
    schema : Schema
        Names and literals of the columns.
    bits : ndarray of shape (n_columns, n_words), dtype=uint64
    valid : ndarray of shape (n_features, n_words), dtype=uint64
    n_rows : int
    ranges : mapping of str to ndarray of shape (n_bins, 2), dtype=float64, optional
        For each numeric feature, the smallest and largest value of the rows between
        each pair of neighbouring thresholds (``n_bins = len(thresholds) + 1``); lets
        a comparison at a value that is not a threshold be evaluated exactly. Missing
        ranges are taken as unknown (``-inf, inf``).
    copy : bool, default=True
        Copy writeable input arrays, so that later changes to them cannot reach the
        table. With False the table takes the arrays over and makes them read-only.

    Attributes
    ----------
    schema : Schema
    n_rows : int
    bits : ndarray of shape (n_columns, n_words), dtype=uint64, read-only
    valid : ndarray of shape (n_features, n_words), dtype=uint64, read-only
    ranges : dict of str to ndarray of shape (n_bins, 2), dtype=float64, read-only

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"smoker": [True, False, True, None],
    ...                       "color": ["red", "blue", "red", "blue"]})
    >>> table = BitTable.from_frame(frame)
    >>> table.columns
    ('smoker', 'color = blue', 'color = red')
    >>> table.n_rows, table.bits.shape
    (4, (3, 1))
    """

    __slots__ = ("bits", "n_rows", "ranges", "schema", "valid")

    def __init__(
        self,
        schema: Schema,
        bits: NDArray[np.uint64],
        valid: NDArray[np.uint64],
        n_rows: int,
        ranges: Mapping[str, NDArray[np.float64]] | None = None,
        *,
        copy: bool = True,
    ) -> None:
        if not isinstance(schema, Schema):
            msg = f"schema must be a Schema, got {type(schema).__name__}."
            raise InvalidParameterError(msg)
        if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 0:
            msg = f"n_rows must be an int >= 0, got {n_rows!r}."
            raise InvalidParameterError(msg)
        self.schema = schema
        self.n_rows = int(n_rows)
        self.bits = _checked_words(bits, self.n_rows, schema.n_columns, "bits", copy=copy)
        self.valid = _checked_words(
            valid, self.n_rows, schema.n_features, "valid", copy=copy
        )
        self.ranges = _checked_ranges(schema, ranges)

    # -- constructors ------------------------------------------------------------

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        target: str | None = None,
        *,
        schema: Schema | None = None,
        kinds: Mapping[str, Kind] | None = None,
        n_thresholds: int = 32,
        thresholds: Mapping[str, Sequence[float]] | None = None,
        missing_values: Sequence[str] = DEFAULT_MISSING_VALUES,
        max_integer_categories: int = 20,
        delimiter: str = ",",
        encoding: str = "utf-8",
        memory_limit: int | None = None,
        chunk_rows: int | None = None,
        progress: bool = False,
    ) -> BitTable:
        """Read and encode a CSV file with a header row.

        The file is read twice, `chunk_rows` rows at a time: once to build the schema,
        once to encode into bit columns allocated for every row. A file far larger
        than memory therefore encodes within the memory of its bits plus a few
        chunks.

        Parameters
        ----------
        path : str or path-like
        target : str, optional
            Name of the target column. It is encoded like any categorical feature
            (one column per class) and must have at least two classes.
        schema : Schema, optional
            Encode with this schema (for example the training table's) instead of
            building one; `target` and the inference options are then ignored.
        kinds : mapping of str to {'boolean', 'categorical', 'numeric'}, optional
            Kinds for some columns. Others are inferred: ``true``/``false`` columns
            are boolean; a column of plain numbers is numeric when some value has a
            fraction or exponent or it has more than `max_integer_categories`
            distinct values; every other column, and the target, is categorical.
            Labels stay text: ``007`` and ``7`` are different classes unless the
            column is declared numeric.
        n_thresholds : int, default=32
            Most quantile thresholds per numeric feature. Every gap between two
            neighbouring distinct values gets a threshold when there are fewer.
        thresholds : mapping of str to sequence of float, optional
            Extra thresholds per numeric feature, e.g. ``{"age": [18, 65]}``.
        missing_values : sequence of str, default=("", "?")
            Cell texts that mean a missing value.
        max_integer_categories : int, default=20
        delimiter : str, default=","
        encoding : str, default="utf-8"
        memory_limit : int, optional
            Most bytes the encoding may take; default half of the available memory.
            A larger estimate raises `MemoryLimitError` before anything is allocated.
        chunk_rows : int, optional
            Rows converted at a time (default 65,536). The table does not depend on
            it. A numeric column with more than 65,536 distinct values takes its
            quantile thresholds from a seeded uniform sample of 65,536 of its values
            (see `loom.data.summary.NumberSketch`); every other column, and every
            file of at most 65,536 rows, encodes exactly as one whole frame would.
        progress : bool, default=False
            Show a progress bar (tqdm, on stderr) for each pass over the file.

        Raises
        ------
        DataFileNotFoundError, CsvFormatError, TargetError, DataError
            For a missing file, an empty file, a row with the wrong number of cells,
            duplicate or empty column names, an unknown or one-class target, text that
            the encoding cannot decode, or a cell that does not fit its column's kind.
        """
        chunks = csv_source(path, delimiter=delimiter, encoding=encoding)
        options = _options(
            kinds, n_thresholds, thresholds, missing_values, max_integer_categories,
            memory_limit,
        )
        encoded = encode_chunks(
            chunks, target=target, schema=schema, options=options,
            chunk_rows=chunk_rows, progress=progress, stacklevel=3,
        )
        return cls._from_encoded(encoded)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        target: str | None = None,
        *,
        schema: Schema | None = None,
        kinds: Mapping[str, Kind] | None = None,
        n_thresholds: int = 32,
        thresholds: Mapping[str, Sequence[float]] | None = None,
        missing_values: Sequence[str] = DEFAULT_MISSING_VALUES,
        max_integer_categories: int = 20,
        memory_limit: int | None = None,
        chunk_rows: int | None = None,
        progress: bool = False,
    ) -> BitTable:
        """Encode a pandas DataFrame.

        Columns of bool dtype are boolean, of numeric dtype numeric (the target:
        categorical), and text columns are inferred as in `from_csv`. NaN, None,
        ``pd.NA`` and the `missing_values` texts are missing. The frame is converted
        `chunk_rows` rows at a time, so the encoding needs little memory beyond the
        frame and the bits. The other parameters are those of `from_csv`.
        """
        if not isinstance(frame, pd.DataFrame):
            msg = f"from_frame needs a pandas DataFrame, got {type(frame).__name__}."
            raise InvalidParameterError(msg)
        frame = _with_string_names(frame)
        if target is not None and not isinstance(target, str):
            target = str(target)  # column names became strings above
        options = _options(
            kinds, n_thresholds, thresholds, missing_values, max_integer_categories,
            memory_limit,
        )
        index = frame.index

        def locate(row: int) -> str:
            return f"row {index[row]!r}"

        encoded = encode_frame(
            frame, target=target, schema=schema, options=options,
            locate=locate, source="the frame", chunk_rows=chunk_rows, progress=progress,
        )
        return cls._from_encoded(encoded)

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        target: str | None = None,
        *,
        schema: Schema | None = None,
        kinds: Mapping[str, Kind] | None = None,
        n_thresholds: int = 32,
        thresholds: Mapping[str, Sequence[float]] | None = None,
        missing_values: Sequence[str] = DEFAULT_MISSING_VALUES,
        max_integer_categories: int = 20,
        memory_limit: int | None = None,
        chunk_rows: int | None = None,
        progress: bool = False,
    ) -> BitTable:
        """Read and encode a Parquet file, `chunk_rows` rows at a time; needs pyarrow.

        Each column is read as pandas converts it (``pandas.read_parquet``), so the
        table equals ``from_frame(pandas.read_parquet(path))``: boolean columns are
        boolean, integer and float columns numeric (the target: categorical), string
        columns inferred as in `from_csv`. Errors name rows by their 0-based number.
        The other parameters are those of `from_csv`.

        Raises
        ------
        MissingDependencyError
            If pyarrow is not installed (``pip install "loom-rules[parquet]"``).
        DataFileNotFoundError, TargetError, DataError
            For a missing file, a file that is not Parquet, an unknown or one-class
            target, or a cell that does not fit its column's kind.

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> path = tempfile.mkdtemp() + "/rows.parquet"
        >>> pd.DataFrame({"a": [True, False], "y": ["p", "n"]}).to_parquet(path)
        >>> BitTable.from_parquet(path, "y").columns
        ('a', 'y = n', 'y = p')
        """
        chunks = parquet_source(path)
        options = _options(
            kinds, n_thresholds, thresholds, missing_values, max_integer_categories,
            memory_limit,
        )
        encoded = encode_chunks(
            chunks, target=target, schema=schema, options=options,
            chunk_rows=chunk_rows, progress=progress, stacklevel=3,
        )
        return cls._from_encoded(encoded)

    @classmethod
    def from_array(
        cls,
        X: ArrayLike,
        y: ArrayLike | None = None,
        *,
        feature_names: Sequence[str] | None = None,
        target: str | None = None,
        schema: Schema | None = None,
        kinds: Mapping[str, Kind] | None = None,
        n_thresholds: int = 32,
        thresholds: Mapping[str, Sequence[float]] | None = None,
        missing_values: Sequence[str] = DEFAULT_MISSING_VALUES,
        max_integer_categories: int = 20,
        memory_limit: int | None = None,
    ) -> BitTable:
        """Encode a 2-D NumPy array, with an optional target array.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Float or int arrays give numeric features, bool arrays boolean ones,
            object or string arrays are inferred as in `from_csv`.
        y : array_like of shape (n_samples,), optional
            Target labels, appended as the last column and named `target` (default
            ``"y"``).
        feature_names : sequence of str, optional
            Names of X's columns; default ``x0, x1, ...``.
        target : str, optional
            Name of the target: the name given to `y`, or one of `feature_names`.

        The other parameters are those of `from_csv`.
        """
        array = np.asarray(X)
        if array.ndim != 2:
            msg = (
                f"X must be a 2-D array of shape (n_samples, n_features), got shape "
                f"{array.shape}; reshape it, e.g. X.reshape(-1, 1) for one feature."
            )
            raise InvalidParameterError(msg)
        names = _array_names(feature_names, array.shape[1])
        frame = pd.DataFrame(
            {name: array[:, column] for column, name in enumerate(names)},
            index=pd.RangeIndex(array.shape[0]),
        )
        if y is not None:
            labels = np.asarray(y)
            if labels.shape != (array.shape[0],):
                msg = (
                    f"y must have shape ({array.shape[0]},) to match X, got "
                    f"{labels.shape}."
                )
                raise InvalidParameterError(msg)
            target = target or "y"
            if target in names:
                msg = f"target name {target!r} is also a feature name; pass another target."
                raise TargetError(msg)
            frame[target] = labels
        return cls.from_frame(
            frame, target, schema=schema, kinds=kinds, n_thresholds=n_thresholds,
            thresholds=thresholds, missing_values=missing_values,
            max_integer_categories=max_integer_categories, memory_limit=memory_limit,
        )

    @classmethod
    def _from_encoded(cls, encoded: EncodedColumns) -> BitTable:
        return cls(
            encoded.schema, encoded.bits, encoded.valid, encoded.n_rows, encoded.ranges,
            copy=False,
        )

    # -- properties --------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        """The literal text of each bit column, in column order."""
        return self.schema.columns

    @property
    def literals(self) -> tuple[Constraint, ...]:
        """The literal node of each bit column, in column order."""
        return self.schema.literals

    @property
    def target(self) -> str | None:
        """Name of the target feature, or None."""
        return self.schema.target

    @property
    def n_columns(self) -> int:
        """Number of bit columns."""
        return self.schema.n_columns

    @property
    def n_words(self) -> int:
        """Number of 64-bit words per column."""
        return n_words(self.n_rows)

    @property
    def nbytes(self) -> int:
        """Bytes held by the bit columns and validity masks."""
        return int(self.bits.nbytes + self.valid.nbytes)

    @staticmethod
    def estimate_nbytes(schema: Schema, n_rows: int) -> int:
        """Return the bytes a table of `n_rows` rows with `schema` will hold."""
        return schema.estimate_nbytes(n_rows)

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex digest of the schema and every bit: equal tables, equal digests."""
        digest = hashlib.sha256()
        digest.update(self.schema.to_json().encode())
        digest.update(self.n_rows.to_bytes(8, "little"))
        # Hash the words in place: tobytes() would copy every bit of the table.
        digest.update(np.ascontiguousarray(self.bits.astype("<u8", copy=False)).data)
        digest.update(np.ascontiguousarray(self.valid.astype("<u8", copy=False)).data)
        return digest.hexdigest()

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        return (
            f"BitTable(n_rows={self.n_rows}, n_features={self.schema.n_features}, "
            f"n_columns={self.n_columns}, target={self.target!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitTable):
            return NotImplemented
        return (
            self.schema == other.schema
            and self.n_rows == other.n_rows
            and np.array_equal(self.bits, other.bits)
            and np.array_equal(self.valid, other.valid)
            and self.ranges.keys() == other.ranges.keys()
            and all(np.array_equal(v, other.ranges[k]) for k, v in self.ranges.items())
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling goes through the constructor, so that the copy's arrays are
        # checked and read-only too (tables travel to Dask workers by pickle).
        return (_restore, (self.schema, self.bits, self.valid, self.n_rows, self.ranges))

    # -- access ------------------------------------------------------------------

    def rows(self) -> NDArray[np.uint64]:
        """Return a bit vector with every row set."""
        return row_mask(self.n_rows)

    def column(self, column: int | str | Constraint) -> NDArray[np.uint64]:
        """Return the words of one bit column, by number, literal text or node."""
        if not isinstance(column, int | np.integer):
            column = self.schema.column_of(column)
        if not 0 <= column < self.n_columns:
            msg = f"column number {column} is out of range 0..{self.n_columns - 1}."
            raise InvalidParameterError(msg)
        return self.bits[column]

    def feature_valid(self, name: str) -> NDArray[np.uint64]:
        """Return the rows where feature `name` has a known value."""
        return self.valid[self.schema.index(name)]

    def column_values(self, column: int | str | Constraint) -> NDArray[np.bool_]:
        """Return one bit column unpacked to booleans, shape (n_rows,)."""
        return unpack_bits(self.column(column), self.n_rows)

    # -- rows --------------------------------------------------------------------

    def slice_rows(self, start: int, stop: int) -> BitTable:
        """Return the rows ``start`` to ``stop - 1`` as a new table.

        Numeric ranges are kept from this table: they still bound the rows.
        """
        if not 0 <= start <= stop <= self.n_rows:
            msg = f"row range {start}:{stop} is outside 0:{self.n_rows}."
            raise InvalidParameterError(msg)
        return BitTable(
            self.schema,
            slice_bits(self.bits, start, stop),
            slice_bits(self.valid, start, stop),
            stop - start,
            self.ranges,
            copy=False,
        )

    def __getitem__(self, rows: slice) -> BitTable:
        if not isinstance(rows, slice):
            msg = f"a BitTable is indexed by a row slice, got {type(rows).__name__}."
            raise InvalidParameterError(msg)
        start, stop, step = rows.indices(self.n_rows)
        if step != 1:
            msg = f"row slices must have step 1, got {step}."
            raise InvalidParameterError(msg)
        return self.slice_rows(start, max(start, stop))

    def split(self, shard_rows: int) -> list[BitTable]:
        """Cut the table into shards of `shard_rows` rows (the last may be shorter)."""
        if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
            msg = f"shard_rows must be an int >= 1, got {shard_rows!r}."
            raise InvalidParameterError(msg)
        starts = range(0, max(self.n_rows, 1), shard_rows)
        return [self.slice_rows(s, min(s + shard_rows, self.n_rows)) for s in starts]

    @classmethod
    def concat(cls, tables: Sequence[BitTable]) -> BitTable:
        """Join tables with the same schema, rows in order.

        Numeric ranges are merged: each bin spans the bins of all parts.
        """
        if not tables:
            msg = "concat needs at least one table."
            raise InvalidParameterError(msg)
        schema = tables[0].schema
        for position, table in enumerate(tables):
            if table.schema != schema:
                msg = (
                    f"table {position} has another schema than table 0; encode every "
                    "part with the same schema (schema=first.schema)."
                )
                raise DataError(msg)
        counts = [table.n_rows for table in tables]
        bits = concat_bits([table.bits for table in tables], counts)
        valid = concat_bits([table.valid for table in tables], counts)
        ranges = {}
        for name in tables[0].ranges:
            parts = np.stack([table.ranges[name] for table in tables])
            ranges[name] = np.stack([parts[:, :, 0].min(0), parts[:, :, 1].max(0)], 1)
        return cls(schema, bits, valid, sum(counts), ranges, copy=False)

    # -- files -------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table to an ``.npz`` file, replacing it only once fully written."""
        target = Path(os.fspath(path))
        names = [spec.name for spec in self.schema.features if spec.kind == "numeric"]
        ranges = (
            np.concatenate([self.ranges[name] for name in names])
            if names
            else np.zeros((0, 2))
        )
        arrays: dict[str, Any] = {
            "format": np.array(TABLE_FORMAT),
            "schema": np.frombuffer(self.schema.to_json().encode(), dtype=np.uint8),
            "n_rows": np.array(self.n_rows, dtype=np.int64),
            "bits": self.bits,
            "valid": self.valid,
            "ranges": ranges,
        }
        handle, temporary = tempfile.mkstemp(dir=target.parent or ".", suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, **arrays)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BitTable:
        """Read a table written by `save`.

        Raises
        ------
        DataFileNotFoundError, DataError
            If the file is missing, is not a saved table, or has a newer format.
        """
        from loom.exceptions import DataFileNotFoundError

        source = Path(os.fspath(path))
        if not source.exists():
            msg = f"table file not found: {str(source)!r}."
            raise DataFileNotFoundError(msg)
        try:
            # np.load gets an open handle: given a path, it leaks the file it opened
            # when the zip archive is corrupt (seen in NumPy 2.4.6).
            with open(source, "rb") as handle:
                stored = np.load(handle, allow_pickle=False)
                arrays = None
                if isinstance(stored, np.lib.npyio.NpzFile):
                    with stored:
                        arrays = {key: stored[key] for key in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            # NumPy's own message may advise allow_pickle, which is unsafe here.
            msg = (
                f"{str(source)!r} is not a saved BitTable: BitTable.save writes an "
                f".npz archive, and this file is not one ({type(err).__name__})."
            )
            raise DataError(msg) from err
        if arrays is None:
            msg = (
                f"{str(source)!r} is not a saved BitTable (.npz): it holds a single "
                "array (.npy)."
            )
            raise DataError(msg)
        expected = {"format", "schema", "n_rows", "bits", "valid", "ranges"}
        if not expected <= arrays.keys():
            msg = (
                f"{str(source)!r} is not a saved BitTable: it lacks "
                f"{sorted(expected - arrays.keys())}."
            )
            raise DataError(msg)
        version = int(arrays["format"])
        if version != TABLE_FORMAT:
            msg = (
                f"{str(source)!r} has table format {version}; this Loom reads format "
                f"{TABLE_FORMAT}. Save it again with a matching version."
            )
            raise DataError(msg)
        schema = Schema.from_json(arrays["schema"].tobytes().decode())
        ranges = {}
        offset = 0
        for spec in schema.features:
            if spec.kind == "numeric":
                size = len(spec.thresholds) + 1
                ranges[spec.name] = arrays["ranges"][offset : offset + size]
                offset += size
        return cls(
            schema, arrays["bits"], arrays["valid"], int(arrays["n_rows"]), ranges,
            copy=False,
        )


def _restore(
    schema: Schema,
    bits: NDArray[np.uint64],
    valid: NDArray[np.uint64],
    n_rows: int,
    ranges: Mapping[str, NDArray[np.float64]],
) -> BitTable:
    """Rebuild a pickled table, taking over the unpickled arrays without a copy."""
    return BitTable(schema, bits, valid, n_rows, ranges, copy=False)


def _checked_words(
    array: Any, n_rows: int, n_vectors: int, name: str, *, copy: bool
) -> NDArray[np.uint64]:
    shape = (n_vectors, n_words(n_rows))
    if not isinstance(array, np.ndarray) or array.dtype != np.uint64:
        found = getattr(array, "dtype", type(array).__name__)
        msg = f"{name} must be a uint64 ndarray, got {found}."
        raise InvalidParameterError(msg)
    if array.shape != shape:
        msg = f"{name} must have shape {shape} for {n_rows} rows, got {array.shape}."
        raise InvalidParameterError(msg)
    if array.size:
        stray = array[:, -1] & ~last_word_mask(n_rows)
        if stray.any():
            row = int(np.flatnonzero(stray)[0])
            msg = f"{name}[{row}] has padding bits set past row {n_rows - 1}."
            raise InvalidParameterError(msg)
    words = np.ascontiguousarray(array)
    if copy and words is array and words.flags.writeable:
        words = words.copy()
    words.flags.writeable = False
    return words


def _checked_ranges(
    schema: Schema, ranges: Mapping[str, NDArray[np.float64]] | None
) -> dict[str, NDArray[np.float64]]:
    checked = {}
    for spec in schema.features:
        if spec.kind != "numeric":
            continue
        shape = (len(spec.thresholds) + 1, 2)
        given = None if ranges is None else ranges.get(spec.name)
        if given is None:
            values = np.tile([-np.inf, np.inf], (shape[0], 1))
        else:
            values = np.array(given, dtype=np.float64)
            if values.shape != shape:
                msg = f"ranges[{spec.name!r}] must have shape {shape}, got {values.shape}."
                raise InvalidParameterError(msg)
        values.flags.writeable = False
        checked[spec.name] = values
    return checked


def _options(
    kinds: Mapping[str, Kind] | None,
    n_thresholds: int,
    thresholds: Mapping[str, Sequence[float]] | None,
    missing_values: Sequence[str],
    max_integer_categories: int,
    memory_limit: int | None,
) -> EncodingOptions:
    if isinstance(missing_values, str):
        msg = (
            f"missing_values must be a sequence of strings, got the string "
            f"{missing_values!r}; pass e.g. ({missing_values!r},)."
        )
        raise InvalidParameterError(msg)
    return EncodingOptions(
        kinds=dict(kinds or {}),
        n_thresholds=n_thresholds,
        thresholds=dict(thresholds or {}),
        missing_values=tuple(missing_values),
        max_integer_categories=max_integer_categories,
        memory_limit=memory_limit,
    )


def _with_string_names(frame: pd.DataFrame) -> pd.DataFrame:
    names = [str(name) for name in frame.columns]
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            msg = f"column {position} of the frame has an empty name; name every column."
            raise DataError(msg)
        if name in seen:
            msg = (
                f"columns {seen[name]} and {position} of the frame are both named "
                f"{name!r}; rename one so that every name is unique."
            )
            raise DataError(msg)
        seen[name] = position
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    return frame


def _array_names(feature_names: Sequence[str] | None, n_features: int) -> list[str]:
    if feature_names is None:
        return [f"x{index}" for index in range(n_features)]
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        msg = f"feature_names has {len(names)} names but X has {n_features} columns."
        raise InvalidParameterError(msg)
    return names
