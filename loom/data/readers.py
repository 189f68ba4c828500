"""CSV reading with errors that name the file, line and column.

pandas' C parser reads the cells; this module checks what it lets through silently (rows
with too few cells, duplicate or empty column names) and translates its errors. The
quote-aware field count assumes the default dialect: double quotes, doubled to escape.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from loom.exceptions import CsvFormatError, DataError, DataFileNotFoundError

__all__ = ["CsvFile", "read_csv"]

_BLOCK_BYTES = 1 << 24
# The cell-count scan makes several int64 arrays as long as its block, so its blocks
# are small: on a 482 MiB file a 16 MiB block peaked at 884 MB (55 bytes per byte)
# and a 1 MiB block at 70 MB.
_SCAN_BLOCK_BYTES = 1 << 20


class CsvFile:
    """A CSV file opened for reading, with line lookup for error messages."""

    def __init__(self, path: str | os.PathLike[str], *, delimiter: str, encoding: str):
        self.path = Path(os.fspath(path))
        self.delimiter = delimiter
        self.encoding = encoding
        self.source = f"file {str(self.path)!r}"
        _check_dialect(delimiter, encoding)
        if not self.path.exists():
            msg = f"data file not found: {str(self.path)!r} (from {os.getcwd()!r})."
            raise DataFileNotFoundError(msg)
        if self.path.is_dir():
            msg = f"{self.source} is a directory; pass the path of a CSV file."
            raise DataError(msg)

    def read_header(self) -> list[str]:
        """Return the column names, checked for empty and duplicate names."""
        try:
            first = next(self._records(), None)
        except UnicodeDecodeError as err:
            raise self._decode_error() from err
        if first is None:
            msg = f"{self.source} is empty; a CSV file needs a header row of column names."
            raise CsvFormatError(msg)
        line, header = first  # blank lines may come before the header
        first_seen: dict[str, int] = {}
        for number, name in enumerate(header, start=1):
            if not name.strip():
                msg = (
                    f"{self.source}, line {line}: column {number} has an empty name; "
                    "give every column a name in the header row."
                )
                raise CsvFormatError(msg)
            if name in first_seen:
                msg = (
                    f"{self.source}, line {line}: columns {first_seen[name]} and "
                    f"{number} are both named {name!r}; rename one so that every name "
                    "is unique."
                )
                raise CsvFormatError(msg)
            first_seen[name] = number
        return header

    def read_frame(self, header: list[str]) -> pd.DataFrame:
        """Read every cell as text; raise for rows whose cell count is not the header's."""
        try:
            frame = pd.read_csv(
                self.path,
                sep=self.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding=self.encoding,
                skip_blank_lines=True,
                engine="c",
            )
        except UnicodeDecodeError as err:
            raise self._decode_error() from err
        except pd.errors.ParserError as err:
            raise self._shape_error(len(header), str(err)) from err
        self.check_records(len(header))
        frame.columns = header
        return frame

    def read_chunks(self, header: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
        """Read the rows after the header as frames of at most `chunk_rows` rows of
        text cells; a file without rows gives one empty frame.

        Call `check_records` after the last chunk: pandas fills a row with too few
        cells silently.
        """
        empty = True
        try:
            reader = pd.read_csv(
                self.path,
                sep=self.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding=self.encoding,
                skip_blank_lines=True,
                engine="c",
                chunksize=chunk_rows,
            )
            with reader:
                for chunk in reader:
                    chunk.columns = header
                    empty = False
                    yield chunk
        except UnicodeDecodeError as err:
            raise self._decode_error() from err
        except pd.errors.ParserError as err:
            raise self._shape_error(len(header), str(err)) from err
        if empty:
            yield pd.DataFrame({name: pd.Series([], dtype=object) for name in header})

    def check_records(self, n_fields: int) -> None:
        """Raise `CsvFormatError` for the first record whose cell count is not
        `n_fields`."""
        if _counts_look_wrong(self.path, n_fields, self.delimiter, self.encoding):
            self._raise_bad_record(n_fields)

    def locate(self, row: int) -> str:
        """Return where data row `row` (0-based, header excluded) starts: ``line N``.

        Reads the file up to that row, so that a large file needs no table of lines.
        """
        for number, (line, _) in enumerate(self._records()):
            if number == row + 1:  # record 0 is the header
                return f"line {line}"
        return f"data row {row + 1}"

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        # A byte-order mark is not part of the first name.
        encoding = "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else None
        with open(self.path, encoding=encoding or self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            start = 1
            for record in reader:
                if record:
                    yield start, record
                start = reader.line_num + 1

    def _raise_bad_record(self, n_fields: int) -> None:
        for line, record in self._records():
            if len(record) != n_fields:
                msg = (
                    f"{self.source}, line {line}: the row has {len(record)} cell(s) but "
                    f"the header has {n_fields}; fix the row, or quote cells that "
                    f"contain {self.delimiter!r}."
                )
                raise CsvFormatError(msg)

    def _shape_error(self, n_fields: int, detail: str) -> CsvFormatError:
        self._raise_bad_record(n_fields)
        msg = f"{self.source} could not be parsed as CSV: {detail.strip()}"
        return CsvFormatError(msg)

    def _decode_error(self) -> DataError:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        offset = 0
        newlines = 0
        line_start = 0
        with open(self.path, "rb") as handle:
            while block := handle.read(_BLOCK_BYTES):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as err:
                    bad = offset + err.start
                    head = block[: err.start]
                    lines = newlines + head.count(b"\n")
                    last = head.rfind(b"\n")
                    start = offset + last + 1 if last >= 0 else line_start
                    value = block[err.start : err.start + 1]
                    msg = (
                        f"{self.source} is not valid {self.encoding}: byte 0x{value.hex()}"
                        f" at line {lines + 1}, column {bad - start + 1} cannot be "
                        "decoded. Pass the file's encoding, e.g. encoding='latin-1' or "
                        "encoding='cp1252' (loom discover --encoding latin-1)."
                    )
                    return DataError(msg)
                newlines += block.count(b"\n")
                last = block.rfind(b"\n")
                if last >= 0:
                    line_start = offset + last + 1
                offset += len(block)
        msg = f"{self.source} is not valid {self.encoding}; pass the file's encoding."
        return DataError(msg)


def read_csv(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8"
) -> tuple[pd.DataFrame, CsvFile]:
    """Read a CSV file into a frame of text cells, checking its shape.

    Returns
    -------
    frame : DataFrame
        One column per header name, every cell a str (missing cells are ``""``).
    file : CsvFile
        The opened file, for line numbers in later error messages.
    """
    file = CsvFile(path, delimiter=delimiter, encoding=encoding)
    header = file.read_header()
    return file.read_frame(header), file


def _check_dialect(delimiter: str, encoding: str) -> None:
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        msg = f"delimiter must be one character other than a quote or newline, got {delimiter!r}."
        raise DataError(msg)
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = f"unknown encoding {encoding!r}; pass a codec name such as 'utf-8' or 'latin-1'."
        raise DataError(msg) from None


def _counts_look_wrong(path: Path, n_fields: int, delimiter: str, encoding: str) -> bool:
    """Whether some non-blank record may have a cell count other than `n_fields`.

    A fast vectorized scan: a delimiter or newline counts when an even number of
    quotes precede it. A quote inside an unquoted cell can make it report a record
    that is fine; the caller confirms with the csv module.
    """
    special = '\n,"'.replace(",", delimiter)
    if special.encode(encoding, errors="replace") != special.encode("ascii"):
        return True  # not an ASCII-compatible encoding: always confirm
    quote, separator, newline, carriage = ord('"'), ord(delimiter), ord("\n"), ord("\r")
    parity = 0
    fields = 1
    length = 0
    with open(path, "rb") as handle:
        while block := handle.read(_SCAN_BLOCK_BYTES):
            data = np.frombuffer(block, dtype=np.uint8)
            is_quote = data == quote
            quotes_before = np.cumsum(is_quote, dtype=np.int64) - is_quote + parity
            outside = (quotes_before & 1) == 0
            parity = int(quotes_before[-1] + is_quote[-1]) & 1
            is_separator = (data == separator) & outside
            ends = np.flatnonzero((data == newline) & outside)
            separators = np.concatenate([[0], np.cumsum(is_separator, dtype=np.int64)])
            counted = (data != carriage).astype(np.int64)
            lengths = np.concatenate([[0], np.cumsum(counted)])
            bounds = np.concatenate([[0], ends + 1])
            per_record = separators[ends] - separators[bounds[:-1]]
            record_lengths = lengths[ends] - lengths[bounds[:-1]]
            if len(ends):
                per_record[0] += fields - 1
                record_lengths[0] += length
                blank = record_lengths == 0
                if np.any(~blank & (per_record + 1 != n_fields)):
                    return True
                fields, length = 1, 0
            tail = int(bounds[-1])
            fields += int(separators[-1] - separators[tail])
            length += int(lengths[-1] - lengths[tail])
    return length > 0 and fields != n_fields
