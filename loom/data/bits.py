"""Packing, unpacking and row shifting of bit vectors stored as uint64 words.

Row ``r`` is bit ``r % 64`` (least significant first) of word ``r // 64``. Functions
take arrays whose last axis is words and return new arrays with the padding bits past
the last row set to zero. They do not check that the inputs' padding is zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "WORD_BITS",
    "concat_bits",
    "last_word_mask",
    "n_words",
    "or_rows_at",
    "pack_bits",
    "popcount",
    "row_mask",
    "slice_bits",
    "unpack_bits",
]

WORD_BITS = 64
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def n_words(n_rows: int) -> int:
    """Return the number of 64-bit words that hold `n_rows` bits."""
    return (n_rows + WORD_BITS - 1) // WORD_BITS


def last_word_mask(n_rows: int) -> np.uint64:
    """Return the mask of the bits of the last word that belong to rows."""
    tail = n_rows % WORD_BITS
    if tail == 0:
        return _ALL_ONES
    return np.uint64((1 << tail) - 1)


def row_mask(n_rows: int) -> NDArray[np.uint64]:
    """Return a bit vector with every row set and the padding bits clear.

    Examples
    --------
    >>> row_mask(3)
    array([7], dtype=uint64)
    """
    words = np.full(n_words(n_rows), _ALL_ONES, dtype=np.uint64)
    if words.size:
        words[-1] &= last_word_mask(n_rows)
    return words


def pack_bits(mask: ArrayLike) -> NDArray[np.uint64]:
    """Pack booleans along the last axis into uint64 words.

    Parameters
    ----------
    mask : array_like of bool, shape (..., n_rows)

    Returns
    -------
    ndarray of shape (..., n_words), dtype=uint64

    Examples
    --------
    >>> pack_bits([True, False, True])
    array([5], dtype=uint64)
    """
    array = np.asarray(mask, dtype=bool)
    n_rows = array.shape[-1]
    packed = np.packbits(array, axis=-1, bitorder="little")
    missing_bytes = n_words(n_rows) * 8 - packed.shape[-1]
    if missing_bytes:
        pad = [(0, 0)] * (packed.ndim - 1) + [(0, missing_bytes)]
        packed = np.pad(packed, pad)
    words = np.ascontiguousarray(packed).view("<u8")
    return words.astype(np.uint64, copy=False)


def unpack_bits(words: NDArray[np.uint64], n_rows: int) -> NDArray[np.bool_]:
    """Unpack uint64 words along the last axis into `n_rows` booleans.

    Examples
    --------
    >>> unpack_bits(np.array([5], dtype=np.uint64), 3)
    array([ True, False,  True])
    """
    as_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, count=n_rows, bitorder="little")
    return bits.astype(bool)


def popcount(words: NDArray[np.uint64]) -> int:
    """Return the number of set bits."""
    return int(np.bitwise_count(words).sum(dtype=np.int64))


def slice_bits(words: NDArray[np.uint64], start: int, stop: int) -> NDArray[np.uint64]:
    """Return the bits of rows ``start`` to ``stop - 1`` as a vector starting at row 0.

    Parameters
    ----------
    words : ndarray of shape (..., n_words), dtype=uint64
    start, stop : int
        Row range, ``0 <= start <= stop <= n_rows``.
    """
    count = stop - start
    out_words = n_words(count)
    first, shift = divmod(start, WORD_BITS)
    source = words[..., first : first + out_words + 1]
    if shift == 0:
        result = source[..., :out_words].copy()
    else:
        result = source[..., :out_words] >> np.uint64(shift)
        following = source[..., 1 : out_words + 1]
        result[..., : following.shape[-1]] |= following << np.uint64(WORD_BITS - shift)
    if out_words:
        result[..., -1] &= last_word_mask(count)
    return np.ascontiguousarray(result)


def concat_bits(
    parts: Sequence[NDArray[np.uint64]], row_counts: Sequence[int]
) -> NDArray[np.uint64]:
    """Join bit vectors end to end: the rows of each part follow those of the last.

    Parameters
    ----------
    parts : sequence of ndarray of shape (..., n_words_i), dtype=uint64
        Each with zero padding bits.
    row_counts : sequence of int
        The number of rows in each part.
    """
    total = sum(row_counts)
    leading = parts[0].shape[:-1]
    result = np.zeros((*leading, n_words(total)), dtype=np.uint64)
    offset = 0
    for part, count in zip(parts, row_counts, strict=True):
        or_rows_at(result, part, offset, count)
        offset += count
    return result


def or_rows_at(
    out: NDArray[np.uint64], part: NDArray[np.uint64], start: int, count: int
) -> None:
    """OR the first `count` rows of `part` into `out` from row `start` on, in place.

    Parameters
    ----------
    out : ndarray of shape (..., n_words), dtype=uint64
        Room for at least ``start + count`` rows. Rows where `part` lands should be
        zero, so that the OR writes them.
    part : ndarray of shape (..., n_words(count)), dtype=uint64
        With zero padding bits past row ``count - 1``.

    Examples
    --------
    >>> out = np.zeros(2, dtype=np.uint64)
    >>> or_rows_at(out, np.array([0b101], dtype=np.uint64), 63, 3)
    >>> unpack_bits(out, 66).nonzero()[0].tolist()
    [63, 65]
    """
    width = n_words(count)
    first, shift = divmod(start, WORD_BITS)
    if shift == 0:
        out[..., first : first + width] |= part[..., :width]
        return
    out[..., first : first + width] |= part[..., :width] << np.uint64(shift)
    # The carry past the end holds only padding bits of the part, which are 0.
    carry = part[..., :width] >> np.uint64(WORD_BITS - shift)
    end = min(first + 1 + width, out.shape[-1])
    out[..., first + 1 : end] |= carry[..., : end - first - 1]
