"""Tests of the packed bit vectors: layout, pack and unpack, slicing and joining.

Property tests draw boolean arrays of any length and compare with packing by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loom.data.bits import (
    concat_bits,
    last_word_mask,
    n_words,
    pack_bits,
    popcount,
    row_mask,
    slice_bits,
    unpack_bits,
)
from tests.data.invariants import assert_padding_zero

EDGE_LENGTHS = (0, 1, 63, 64, 65, 127, 128, 129)
LARGE_LENGTHS = (1000, 4095, 4096, 4097, 65_537)



@st.composite
def bool_arrays(
    draw: st.DrawFn, n_rows: st.SearchStrategy[int], n_vectors: int | None = None
) -> np.ndarray:
    """Draw a boolean array of shape (n_rows,) or (n_vectors, n_rows).

    Bits come from drawn bytes, which is much faster than drawing each boolean. The
    density is random: all clear, all set, sparse, dense or about half.
    """
    length = draw(n_rows)
    shape = (length,) if n_vectors is None else (n_vectors, length)
    size = int(np.prod(shape))
    density = draw(st.sampled_from(("clear", "set", "sparse", "dense", "half")))
    if density in ("clear", "set"):
        return np.full(shape, density == "set")
    n_bytes = -(-size // 8)
    layers = 1 if density == "half" else 3
    drawn = [
        np.frombuffer(draw(st.binary(min_size=n_bytes, max_size=n_bytes)), np.uint8)
        for _ in range(layers)
    ]
    combined = np.bitwise_and.reduce(drawn) if density == "sparse" else drawn[0]
    if density == "dense":
        combined = np.bitwise_or.reduce(drawn)
    bits = np.unpackbits(combined, count=size, bitorder="little").astype(bool)
    return bits.reshape(shape)


lengths = st.one_of(st.integers(0, 300), st.sampled_from(LARGE_LENGTHS))
masks = bool_arrays(lengths)
small_masks = bool_arrays(st.integers(0, 300))
mask_stacks = st.integers(0, 3).flatmap(
    lambda n_vectors: bool_arrays(st.integers(0, 300), n_vectors)
)


def pack_by_hand(mask: np.ndarray) -> np.ndarray:
    """Pack a 1-D mask with Python integers: row r is bit r % 64 of word r // 64."""
    words = [0] * (-(-len(mask) // 64))
    for row in np.flatnonzero(mask):
        words[row // 64] |= 1 << (row % 64)
    return np.array(words, dtype=np.uint64)


@st.composite
def masks_with_range(draw: st.DrawFn) -> tuple[np.ndarray, int, int]:
    mask = draw(masks)
    start = draw(st.integers(0, len(mask)))
    stop = draw(st.integers(start, len(mask)))
    return mask, start, stop


@st.composite
def masks_with_cuts(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    mask = draw(masks)
    cuts = draw(st.lists(st.integers(0, len(mask)), max_size=8))
    return mask, [0, *sorted(cuts), len(mask)]


# ---------------------------------------------------------------------------
# Word counts and masks


@pytest.mark.parametrize(
    ("n_rows", "expected"),
    [(0, 0), (1, 1), (63, 1), (64, 1), (65, 2), (128, 2), (129, 3)],
    ids=["0", "1", "63", "64", "65", "128", "129"],
)
def test_n_words_rounds_up(n_rows: int, expected: int) -> None:
    assert n_words(n_rows) == expected


@pytest.mark.parametrize(
    ("n_rows", "expected"),
    [(1, 1), (3, 7), (63, 2**63 - 1), (64, 2**64 - 1), (65, 1), (128, 2**64 - 1)],
    ids=["1", "3", "63", "64", "65", "128"],
)
def test_last_word_mask_covers_tail_rows(n_rows: int, expected: int) -> None:
    assert int(last_word_mask(n_rows)) == expected


@pytest.mark.parametrize("n_rows", EDGE_LENGTHS, ids=[str(n) for n in EDGE_LENGTHS])
def test_row_mask_sets_every_row(n_rows: int) -> None:
    words = row_mask(n_rows)
    assert_padding_zero(words, n_rows)
    assert unpack_bits(words, n_rows).all()
    assert popcount(words) == n_rows


# ---------------------------------------------------------------------------
# Pack and unpack


@settings(max_examples=1000)
@given(mask=small_masks)
def test_pack_bits_matches_hand_layout(mask: np.ndarray) -> None:
    packed = pack_bits(mask)
    assert packed.dtype == np.uint64
    np.testing.assert_array_equal(packed, pack_by_hand(mask))


@settings(max_examples=1000)
@given(mask=masks)
def test_pack_unpack_round_trips(mask: np.ndarray) -> None:
    packed = pack_bits(mask)
    assert_padding_zero(packed, len(mask))
    np.testing.assert_array_equal(unpack_bits(packed, len(mask)), mask)


@settings(max_examples=1000)
@given(stack=mask_stacks)
def test_pack_unpack_round_trips_stacked(stack: np.ndarray) -> None:
    packed = pack_bits(stack)
    n_rows = stack.shape[-1]
    assert packed.shape == (stack.shape[0], n_words(n_rows))
    assert_padding_zero(packed, n_rows)
    np.testing.assert_array_equal(unpack_bits(packed, n_rows), stack)


@settings(max_examples=1000)
@given(mask=masks)
def test_popcount_counts_set_rows(mask: np.ndarray) -> None:
    assert popcount(pack_bits(mask)) == int(mask.sum())


def test_pack_bits_accepts_lists() -> None:
    np.testing.assert_array_equal(pack_bits([True, False, True]), [5])


# ---------------------------------------------------------------------------
# Slicing


@settings(max_examples=1000)
@given(case=masks_with_range())
def test_slice_bits_equals_packed_slice(case: tuple[np.ndarray, int, int]) -> None:
    mask, start, stop = case
    sliced = slice_bits(pack_bits(mask), start, stop)
    assert_padding_zero(sliced, stop - start)
    np.testing.assert_array_equal(sliced, pack_bits(mask[start:stop]))


@settings(max_examples=1000)
@given(stack=mask_stacks, data=st.data())
def test_slice_bits_slices_every_vector(stack: np.ndarray, data: st.DataObject) -> None:
    n_rows = stack.shape[-1]
    start = data.draw(st.integers(0, n_rows))
    stop = data.draw(st.integers(start, n_rows))
    sliced = slice_bits(pack_bits(stack), start, stop)
    assert_padding_zero(sliced, stop - start)
    np.testing.assert_array_equal(sliced, pack_bits(stack[:, start:stop]))


def test_slice_bits_returns_new_array() -> None:
    words = pack_bits(np.ones(130, dtype=bool))
    sliced = slice_bits(words, 0, 128)
    sliced[0] = 0
    assert words[0] == 2**64 - 1


# ---------------------------------------------------------------------------
# Joining


@settings(max_examples=1000)
@given(case=masks_with_cuts())
def test_concat_bits_of_slices_equals_whole(case: tuple[np.ndarray, list[int]]) -> None:
    mask, bounds = case
    words = pack_bits(mask)
    pairs = list(zip(bounds, bounds[1:], strict=False))
    parts = [slice_bits(words, start, stop) for start, stop in pairs]
    counts = [stop - start for start, stop in pairs]
    joined = concat_bits(parts, counts)
    assert_padding_zero(joined, len(mask))
    np.testing.assert_array_equal(joined, words)


@settings(max_examples=1000)
@given(parts=st.lists(small_masks, min_size=1, max_size=6))
def test_concat_bits_equals_packed_concatenation(parts: list[np.ndarray]) -> None:
    joined = concat_bits([pack_bits(part) for part in parts], [len(p) for p in parts])
    whole = np.concatenate(parts)
    assert_padding_zero(joined, len(whole))
    np.testing.assert_array_equal(joined, pack_bits(whole))


@settings(max_examples=1000)
@given(
    parts=st.lists(bool_arrays(st.integers(0, 200), n_vectors=2), min_size=1, max_size=5)
)
def test_concat_bits_joins_every_vector(parts: list[np.ndarray]) -> None:
    counts = [part.shape[-1] for part in parts]
    joined = concat_bits([pack_bits(part) for part in parts], counts)
    whole = np.concatenate(parts, axis=-1)
    assert_padding_zero(joined, whole.shape[-1])
    np.testing.assert_array_equal(joined, pack_bits(whole))


@pytest.mark.parametrize("n_rows", EDGE_LENGTHS, ids=[str(n) for n in EDGE_LENGTHS])
def test_concat_bits_keeps_all_set_rows(n_rows: int) -> None:
    parts = [row_mask(n_rows), row_mask(1), row_mask(n_rows)]
    joined = concat_bits(parts, [n_rows, 1, n_rows])
    np.testing.assert_array_equal(joined, row_mask(2 * n_rows + 1))
