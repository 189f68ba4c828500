"""Layout checks that every test of a `BitTable` or a bit vector applies to its result."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from loom.data import BitTable

__all__ = ["assert_padding_zero", "assert_table_layout"]


def assert_padding_zero(words: NDArray[np.uint64], n_rows: int) -> None:
    """Assert that `words` has ceil(n_rows / 64) words per vector, padding bits zero.

    The check unpacks every bit of the last axis with NumPy alone, so it does not rely
    on the masks that `loom.data.bits` computes.
    """
    assert words.dtype == np.uint64, words.dtype
    expected_words = -(-n_rows // 64)
    assert words.shape[-1] == expected_words, (words.shape, n_rows)
    as_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    every_bit = np.unpackbits(as_bytes, axis=-1, bitorder="little")
    n_padding = every_bit.shape[-1] - n_rows
    if n_padding == 0 or every_bit.size == 0:
        return
    padding = every_bit[..., n_rows:].reshape(-1, n_padding)
    stray_rows = n_rows + np.flatnonzero(padding.any(axis=0))
    assert not padding.any(), f"padding bits set at rows {stray_rows.tolist()}"


def assert_table_layout(table: BitTable) -> None:
    """Assert the layout that every `BitTable` promises.

    Checks dtype, shape, C-contiguity and read-only flags of `bits` and `valid`, zero
    padding bits in both, and that no bit column has a bit set on a row where its
    feature is missing.
    """
    n_words = -(-table.n_rows // 64)
    for name, words, n_vectors in (
        ("bits", table.bits, table.schema.n_columns),
        ("valid", table.valid, table.schema.n_features),
    ):
        assert words.shape == (n_vectors, n_words), (name, words.shape)
        assert words.flags.c_contiguous, name
        assert not words.flags.writeable, name
        assert_padding_zero(words, table.n_rows)

    column_feature = table.schema.column_feature
    outside_valid = table.bits & ~table.valid[column_feature]
    assert not outside_valid.any(), "a bit is set on a row whose feature is missing"
