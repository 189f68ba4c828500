"""Encoding of data that arrives in row chunks: CSV files, frames and Parquet files.

`encode_chunks` reads its source twice. The first pass summarizes every column in
bounded memory (`loom.data.summary`) and builds the schema. The second converts one
chunk at a time and writes its bits into bit columns allocated once for every row, so
the peak memory is that of the bits plus a few chunks of cells. A source is a
`ChunkSource`, which must return the same rows on every pass.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loom.data.bits import n_words, or_rows_at, pack_bits
from loom.data.encode import (
    CellForm,
    EncodedColumns,
    EncodingNotes,
    EncodingOptions,
    RowLocator,
    cell_form,
    check_columns,
    check_memory,
    check_target,
    encode_feature,
    split_cells,
    warn_constant,
)
from loom.data.readers import CsvFile
from loom.data.schema import Schema
from loom.data.summary import ColumnSummary
from loom.exceptions import (
    DataError,
    DataFileNotFoundError,
    InvalidParameterError,
    MissingDependencyError,
    TargetError,
)

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ChunkSource",
    "csv_source",
    "encode_chunks",
    "frame_source",
    "parquet_source",
]

logger = logging.getLogger(__name__)

# Rows converted at a time. A pass holds one chunk of cells and converts one column of
# it at a time, so a load needs the memory of its bits plus that of a chunk.
DEFAULT_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class ChunkSource:
    """Rows that can be read in chunks, more than once, in the same order.

    Parameters
    ----------
    names : list of str
        Column names, unique.
    forms : mapping of str to CellForm
        How each column's cells are read, fixed for every chunk.
    read : callable
        ``read(chunk_rows)`` starts a pass: an iterator of DataFrames of at most
        `chunk_rows` rows each, with the columns of `names`. A source without rows
        yields one empty frame.
    source : str
        What the data is, for messages: ``file 'data.csv'``, ``the frame``.
    locate : callable
        Maps a row number to its place in the input, for messages.
    n_rows : int, optional
        The number of rows when known before reading.
    check : callable, optional
        Run after the first full pass, before any error about cells is raised (the
        CSV reader checks every record's cell count there).
    """

    names: list[str]
    forms: Mapping[str, CellForm]
    read: Callable[[int], Iterator[pd.DataFrame]]
    source: str
    locate: RowLocator
    n_rows: int | None = None
    check: Callable[[], None] | None = None


def encode_chunks(
    chunks: ChunkSource,
    *,
    target: str | None,
    schema: Schema | None,
    options: EncodingOptions,
    chunk_rows: int | None = None,
    progress: bool = False,
    stacklevel: int = 3,
) -> EncodedColumns:
    """Encode a chunked source, following `schema` when given, else building one.

    Parameters
    ----------
    chunks : ChunkSource
    target : str or None
        Name of the target column (ignored when `schema` is given).
    schema : Schema or None
    options : EncodingOptions
    chunk_rows : int, optional
        Rows per chunk, default `DEFAULT_CHUNK_ROWS`. The result does not depend on
        it: data encodes the same in one chunk or in many.
    progress : bool, default=False
        Show a progress bar (tqdm, on stderr) for each pass.
    stacklevel : int, default=3
        The stack level, counted from this function, that warnings point to.

    Raises
    ------
    DataError
        As `BitTable.from_csv` describes; an error about a cell names the first
        column with a bad cell and that column's first bad row, whatever the chunks.
    """
    rows = _chunk_rows(chunk_rows)
    if schema is None:
        _check_names(chunks, target, options)
        summaries, n_rows = _summarize(chunks, target, options, rows, progress)
        schema = _build_schema(chunks, summaries, target, options, rows, progress)
        if target is not None:
            check_target(schema.feature(target), chunks.source, n_rows)
        warn_constant(schema.features, target, chunks.source, stacklevel)
    else:
        check_columns(chunks.names, schema, chunks.source)
        n_rows = chunks.n_rows if chunks.n_rows is not None else _count(chunks, rows, progress)
    check_memory(schema, n_rows, options)
    return _encode(chunks, schema, n_rows, options, rows, progress, stacklevel)


def _chunk_rows(chunk_rows: int | None) -> int:
    if chunk_rows is None:
        return DEFAULT_CHUNK_ROWS
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer) or (
        chunk_rows < 1
    ):
        msg = f"chunk_rows must be an int >= 1 or None, got {chunk_rows!r}."
        raise InvalidParameterError(msg)
    return int(chunk_rows)


def _check_names(chunks: ChunkSource, target: str | None, options: EncodingOptions) -> None:
    names = chunks.names
    if target is not None and target not in names:
        listed = ", ".join(repr(name) for name in names)
        msg = (
            f"target column {target!r} is not in {chunks.source}; the columns are "
            f"{listed}."
        )
        raise TargetError(msg)
    unknown = sorted(set(options.kinds) - set(names))
    if unknown:
        msg = f"kinds names columns that {chunks.source} does not have: {unknown!r}."
        raise InvalidParameterError(msg)


def _progress(progress: bool, total: int | None, description: str) -> Any:
    if not progress:
        return nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="rows", unit_scale=True, leave=False)


def _update(bar: Any, count: int) -> None:
    if bar is not None:
        bar.update(count)


# ---------------------------------------------------------------------------
# First pass: the schema


def _summarize(
    chunks: ChunkSource, target: str | None, options: EncodingOptions, rows: int,
    progress: bool,
) -> tuple[list[ColumnSummary], int]:
    summaries = [
        ColumnSummary(
            name, position, chunks.forms[name], options.kinds.get(name),
            name == target, options,
        )
        for position, name in enumerate(chunks.names)
    ]
    n_rows = 0
    bar: AbstractContextManager[Any] = _progress(progress, chunks.n_rows, "reading")
    with bar as shown:
        for chunk in chunks.read(rows):
            for summary in summaries:
                cells = split_cells(chunk[summary.name], options, summary.form)
                summary.add(cells, n_rows, chunks.locate, chunks.source)
            n_rows += len(chunk)
            _update(shown, len(chunk))
    if chunks.check is not None:
        chunks.check()
    for summary in summaries:
        if summary.error is not None:
            raise summary.error
    logger.debug("read %s rows of %s", n_rows, chunks.source)
    return summaries, n_rows


def _build_schema(
    chunks: ChunkSource, summaries: list[ColumnSummary], target: str | None,
    options: EncodingOptions, rows: int, progress: bool,
) -> Schema:
    relabel = [summary for summary in summaries if summary.needs_labels]
    if relabel:
        # Columns that looked numeric past the exact limit and then showed a text
        # that is no number: a pass of their own gathers their labels.
        logger.info(
            "reading %s again for the labels of %s", chunks.source,
            ", ".join(summary.name for summary in relabel),
        )
        for summary in relabel:
            summary.restart_labels()
        with _progress(progress, chunks.n_rows, "labels") as shown:
            for chunk in chunks.read(rows):
                for summary in relabel:
                    cells = split_cells(chunk[summary.name], options, summary.form)
                    summary.add_labels(cells)
                _update(shown, len(chunk))
    return Schema(tuple(summary.spec() for summary in summaries), target=target)


def _count(chunks: ChunkSource, rows: int, progress: bool) -> int:
    n_rows = 0
    with _progress(progress, None, "counting") as shown:
        for chunk in chunks.read(rows):
            n_rows += len(chunk)
            _update(shown, len(chunk))
    if chunks.check is not None:
        chunks.check()
    return n_rows


# ---------------------------------------------------------------------------
# Second pass: the bits


def _encode(
    chunks: ChunkSource, schema: Schema, n_rows: int, options: EncodingOptions,
    rows: int, progress: bool, stacklevel: int,
) -> EncodedColumns:
    bits = np.zeros((schema.n_columns, n_words(n_rows)), dtype=np.uint64)
    valid = np.zeros((schema.n_features, n_words(n_rows)), dtype=np.uint64)
    ranges: dict[str, NDArray[np.float64]] = {}
    notes = EncodingNotes()
    errors: dict[int, DataError] = {}
    start = 0
    with _progress(progress, n_rows, "encoding") as shown:
        for chunk in chunks.read(rows):
            count = len(chunk)
            if start + count > n_rows:
                _raise_changed(chunks, n_rows)
            chunk_bits = np.zeros((schema.n_columns, n_words(count)), dtype=np.uint64)
            chunk_valid = np.zeros((schema.n_features, n_words(count)), dtype=np.uint64)
            chunk_ranges: dict[str, NDArray[np.float64]] = {}
            for position, spec in enumerate(schema.features):
                if spec.name not in chunk.columns or position in errors:
                    continue  # a target absent from prediction data: every row missing
                cells = split_cells(chunk[spec.name], options, chunks.forms[spec.name])
                columns = schema.columns_of(spec.name)
                try:
                    present = encode_feature(
                        spec, cells, chunk_bits[columns.start : columns.stop],
                        chunk_ranges, _offset(chunks.locate, start), chunks.source, notes,
                    )
                except DataError as error:
                    errors[position] = error
                    continue
                chunk_valid[position] = pack_bits(present)
            or_rows_at(bits, chunk_bits, start, count)
            or_rows_at(valid, chunk_valid, start, count)
            _merge_ranges(ranges, chunk_ranges)
            start += count
            _update(shown, count)
    if start != n_rows:
        _raise_changed(chunks, n_rows)
    if errors:
        raise errors[min(errors)]
    notes.warn(schema, chunks.source, stacklevel + 1)
    return EncodedColumns(schema, n_rows, bits, valid, ranges)


def _offset(locate: RowLocator, start: int) -> RowLocator:
    def at(row: int) -> str:
        return locate(start + row)

    return at


def _merge_ranges(
    ranges: dict[str, NDArray[np.float64]], chunk: dict[str, NDArray[np.float64]]
) -> None:
    for name, part in chunk.items():
        whole = ranges.get(name)
        if whole is None:
            ranges[name] = part
        else:
            ranges[name] = np.stack(
                [np.minimum(whole[:, 0], part[:, 0]), np.maximum(whole[:, 1], part[:, 1])],
                axis=1,
            )


def _raise_changed(chunks: ChunkSource, n_rows: int) -> None:
    msg = (
        f"{chunks.source} changed while it was read: the first pass found {n_rows} "
        "rows and the second another number. Encode it again when it no longer changes."
    )
    raise DataError(msg)


# ---------------------------------------------------------------------------
# Sources


def frame_source(
    frame: pd.DataFrame, options: EncodingOptions, *, locate: RowLocator, source: str
) -> ChunkSource:
    """Return the rows of an in-memory frame with unique string column names.

    Each column's cell form is decided on the whole column first, so every chunk
    reads its cells alike.
    """
    names = [str(name) for name in frame.columns]
    forms = {name: cell_form(frame[name], options) for name in names}

    def read(chunk_rows: int) -> Iterator[pd.DataFrame]:
        if len(frame) == 0:
            yield frame
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]

    return ChunkSource(names, forms, read, source, locate, n_rows=len(frame))


def csv_source(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8"
) -> ChunkSource:
    """Return the rows of a CSV file with a header row, every cell read as text.

    The header is read and checked at once; the records' cell counts after the first
    pass, as `loom.data.readers.read_csv` checks them.
    """
    file = CsvFile(path, delimiter=delimiter, encoding=encoding)
    header = file.read_header()

    def read(chunk_rows: int) -> Iterator[pd.DataFrame]:
        return file.read_chunks(header, chunk_rows)

    def check() -> None:
        file.check_records(len(header))

    forms: dict[str, CellForm] = dict.fromkeys(header, "text")
    return ChunkSource(header, forms, read, file.source, file.locate, check=check)


def parquet_source(path: str | os.PathLike[str]) -> ChunkSource:
    """Return the rows of a Parquet file, read a batch at a time with pyarrow.

    Raises
    ------
    MissingDependencyError
        If pyarrow is not installed.
    DataFileNotFoundError, DataError
        If the file is missing or is not a Parquet file.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        msg = (
            "reading Parquet files needs pyarrow, which is not installed; install it "
            "with pip install 'loom-rules[parquet]'."
        )
        raise MissingDependencyError(msg) from err
    location = Path(os.fspath(path))
    source = f"file {str(location)!r}"
    if not location.exists():
        msg = f"data file not found: {str(location)!r} (from {os.getcwd()!r})."
        raise DataFileNotFoundError(msg)
    try:
        with pq.ParquetFile(location) as file:
            arrow_schema = file.schema_arrow
            n_rows = file.metadata.num_rows
    except (pa.ArrowException, OSError) as err:
        msg = f"{source} is not a Parquet file that pyarrow can read: {err}"
        raise DataError(msg) from err
    names = [str(name) for name in arrow_schema.names]
    _check_parquet_names(names, source)
    forms = {name: _arrow_form(arrow_schema.field(i).type, pa) for i, name in enumerate(names)}

    def read(chunk_rows: int) -> Iterator[pd.DataFrame]:
        empty = True
        # Without pre-buffering pyarrow reads a column chunk at a time rather than a
        # whole row group: on a 10-million-row file of 1-million-row groups that
        # kept the reader's memory at 0.2 GB instead of 0.5 GB (pyarrow 26).
        with pq.ParquetFile(location, pre_buffer=False, buffer_size=1 << 20) as file:
            for batch in file.iter_batches(batch_size=chunk_rows):
                if batch.num_rows:
                    empty = False
                    yield batch.to_pandas()
        if empty:
            yield arrow_schema.empty_table().to_pandas()

    def locate(row: int) -> str:
        return f"row {row}"

    return ChunkSource(names, forms, read, source, locate, n_rows=n_rows)


def _arrow_form(arrow_type: Any, pa: Any) -> CellForm:
    """Return the cell form that pandas' conversion of an Arrow column gives."""
    types = pa.types
    if types.is_boolean(arrow_type):
        return "bool"
    if types.is_integer(arrow_type) or types.is_floating(arrow_type):
        return "number"
    if types.is_dictionary(arrow_type):
        # pandas makes a categorical column, whose cells are its categories.
        value_form = _arrow_form(arrow_type.value_type, pa)
        return "text" if value_form == "text" else "labels"
    text = (types.is_string, types.is_large_string, types.is_null)
    if any(test(arrow_type) for test in text) or (
        hasattr(types, "is_string_view") and types.is_string_view(arrow_type)
    ):
        return "text"
    return "labels"


def _check_parquet_names(names: list[str], source: str) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            msg = f"column {position} of {source} has an empty name; name every column."
            raise DataError(msg)
        if name in seen:
            msg = (
                f"columns {seen[name]} and {position} of {source} are both named "
                f"{name!r}; rename one so that every name is unique."
            )
            raise DataError(msg)
        seen[name] = position
