"""NumPy reference of the scoring kernels: the specification every backend must match.

Each function takes the arrays the dispatchers in `loom.kernels` have already checked
(dtypes, shapes, C-contiguity, literal codes in range) and adds its counts for the
words ``start`` to ``stop - 1`` into the output arrays. Nothing here is fast: the
functions favour plain whole-vector expressions over speed.

Literal codes: ``2 * c`` is bit column ``c`` and ``2 * c + 1`` its negation; a code
``2 * (n_columns + j)`` is cardinality condition ``j`` and ``2 * (n_columns + j) + 1``
the rows where that condition is false; ``-1`` is padding. A negated column is true
where the feature's value is known and the column's bit is clear. A `mask` of None
stands for every row and a `target` of None for no target (its counts stay 0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ATLEAST",
    "ATMOST",
    "EXACTLY",
    "cardinality",
    "score_decision_lists",
    "score_rule_sets",
    "score_rules",
    "xnor_gemm",
    "xnor_threshold",
]

Words = NDArray[np.uint64]

ATLEAST, ATMOST, EXACTLY = 0, 1, 2
_ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _rows(n_rows: int, start: int, stop: int) -> Words:
    """Bits of the rows that exist in words ``start:stop``."""
    words = np.full(stop - start, _ALL, dtype=np.uint64)
    index = np.arange(start, stop)
    first_row = index * 64
    partial = (first_row < n_rows) & (first_row + 64 > n_rows)
    words[first_row >= n_rows] = 0
    if partial.any():
        words[partial] = np.uint64((1 << (n_rows % 64)) - 1)
    return words


def _popcount(words: Words) -> int:
    return int(np.bitwise_count(words).sum(dtype=np.int64))


def _literal_true(
    code: int,
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    start: int,
    stop: int,
) -> Words:
    column = code >> 1
    if code & 1:
        return valid[column_feature[column], start:stop] & ~bits[column, start:stop]
    return bits[column, start:stop].copy()


def _literal_false(
    code: int,
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    start: int,
    stop: int,
) -> Words:
    return _literal_true(code ^ 1, bits, valid, column_feature, start, stop)


def _bit_sliced_add(planes: list[Words], vector: Words) -> None:
    """Add one bit per row to the counters held as binary digits, low digit first."""
    carry = vector
    for position, plane in enumerate(planes):
        planes[position] = plane ^ carry
        carry = plane & carry
    planes.append(carry)


def _at_least(planes: list[Words], k: int, rows: Words) -> Words:
    """Rows whose counter is at least `k`, compared digit by digit from the top."""
    if k <= 0:
        return rows.copy()
    if k >= 1 << len(planes):
        return np.zeros_like(rows)
    greater = np.zeros_like(rows)
    equal = rows.copy()
    for position in reversed(range(len(planes))):
        if (k >> position) & 1:
            equal &= planes[position]
        else:
            greater |= equal & planes[position]
            equal &= ~planes[position]
    return greater | equal


def _condition(
    literals: NDArray[np.int32],
    kind: int,
    bound: int,
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    n_rows: int,
    start: int,
    stop: int,
) -> tuple[Words, Words]:
    """Rows where one cardinality condition is true and where it is false (Kleene)."""
    rows = _rows(n_rows, start, stop)
    n_true: list[Words] = []
    n_possible: list[Words] = []
    for code in literals:
        if code < 0:
            continue
        true = _literal_true(code, bits, valid, column_feature, start, stop)
        false = _literal_false(code, bits, valid, column_feature, start, stop)
        _bit_sliced_add(n_true, true)
        _bit_sliced_add(n_possible, rows & ~false)
    if kind == ATLEAST:
        return _at_least(n_true, bound, rows), rows & ~_at_least(
            n_possible, bound, rows
        )
    if kind == ATMOST:
        true = rows & ~_at_least(n_possible, bound + 1, rows)
        return true, _at_least(n_true, bound + 1, rows)
    true = _at_least(n_true, bound, rows) & ~_at_least(n_possible, bound + 1, rows)
    false = _at_least(n_true, bound + 1, rows) | (
        rows & ~_at_least(n_possible, bound, rows)
    )
    return true, false


def cardinality(
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    cond_literals: NDArray[np.int32],
    cond_kinds: NDArray[np.int8],
    cond_bounds: NDArray[np.int32],
    n_rows: int,
    start: int,
    stop: int,
    out_true: Words,
    out_false: Words,
) -> None:
    """Write the true and false rows of every condition for words ``start:stop``."""
    for j in range(cond_literals.shape[0]):
        true, false = _condition(
            cond_literals[j],
            int(cond_kinds[j]),
            int(cond_bounds[j]),
            bits,
            valid,
            column_feature,
            n_rows,
            start,
            stop,
        )
        out_true[j, start:stop] = true
        out_false[j, start:stop] = false


def _rule_vectors(
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    cond_literals: NDArray[np.int32],
    cond_kinds: NDArray[np.int8],
    cond_bounds: NDArray[np.int32],
    n_rows: int,
    rules: NDArray[np.int32],
    mask: Words | None,
    start: int,
    stop: int,
) -> list[Words]:
    """Return the rows where each rule is true (inside `mask`), for words ``start`` to
    ``stop - 1``."""
    n_columns = bits.shape[0]
    conditions = [
        _condition(
            cond_literals[j],
            int(cond_kinds[j]),
            int(cond_bounds[j]),
            bits,
            valid,
            column_feature,
            n_rows,
            start,
            stop,
        )
        for j in range(cond_literals.shape[0])
    ]
    vectors = []
    rows = _rows(n_rows, start, stop) if mask is None else mask[start:stop]
    for rule in rules:
        vector = rows.copy()
        for code in rule:
            if code < 0:
                continue
            if code >> 1 < n_columns:
                vector &= _literal_true(code, bits, valid, column_feature, start, stop)
            else:
                vector &= conditions[(code >> 1) - n_columns][code & 1]
        vectors.append(vector)
    return vectors


def score_rules(
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    cond_literals: NDArray[np.int32],
    cond_kinds: NDArray[np.int8],
    cond_bounds: NDArray[np.int32],
    n_rows: int,
    rules: NDArray[np.int32],
    target: Words | None,
    mask: Words | None,
    start: int,
    stop: int,
    out: NDArray[np.int64],
) -> None:
    """Add, per rule, the rows where it is true and of those the target rows."""
    vectors = _rule_vectors(
        bits,
        valid,
        column_feature,
        cond_literals,
        cond_kinds,
        cond_bounds,
        n_rows,
        rules,
        mask,
        start,
        stop,
    )
    for r, vector in enumerate(vectors):
        out[r, 0] += _popcount(vector)
        if target is not None:
            out[r, 1] += _popcount(vector & target[start:stop])


def score_rule_sets(
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    cond_literals: NDArray[np.int32],
    cond_kinds: NDArray[np.int8],
    cond_bounds: NDArray[np.int32],
    n_rows: int,
    rules: NDArray[np.int32],
    rule_sets: NDArray[np.int32],
    target: Words | None,
    mask: Words | None,
    start: int,
    stop: int,
    block_words: int,
    out_rules: NDArray[np.int64],
    out_sets: NDArray[np.int64],
) -> None:
    """Add the counts of every rule and of the union of the rules of every set.

    `block_words` sizes the compiled kernels' blocks; the reference works on the
    whole range at once.
    """
    vectors = _rule_vectors(
        bits,
        valid,
        column_feature,
        cond_literals,
        cond_kinds,
        cond_bounds,
        n_rows,
        rules,
        mask,
        start,
        stop,
    )
    window = np.zeros(stop - start, np.uint64) if target is None else target[start:stop]
    for r, vector in enumerate(vectors):
        out_rules[r, 0] += _popcount(vector)
        out_rules[r, 1] += _popcount(vector & window)
    for s, members in enumerate(rule_sets):
        union = np.zeros(stop - start, dtype=np.uint64)
        for r in members:
            if r >= 0:
                union |= vectors[r]
        out_sets[s, 0] += _popcount(union)
        out_sets[s, 1] += _popcount(union & window)


def score_decision_lists(
    bits: Words,
    valid: Words,
    column_feature: NDArray[np.int32],
    cond_literals: NDArray[np.int32],
    cond_kinds: NDArray[np.int8],
    cond_bounds: NDArray[np.int32],
    n_rows: int,
    rules: NDArray[np.int32],
    lists: NDArray[np.int32],
    classes: Words,
    mask: Words | None,
    start: int,
    stop: int,
    block_words: int,
    out: NDArray[np.int64],
) -> None:
    """Add, per list and position, the rows that rule is the first to match.

    ``out[s, m, 0]`` counts the rows the rule at position ``m`` of list ``s`` is the
    first to match and ``out[s, m, 1 + t]`` those of them in class row ``t``; position
    ``lists.shape[1]`` counts the rows no rule matches (the default). A padding entry
    (``-1``) matches nothing.
    """
    vectors = _rule_vectors(
        bits,
        valid,
        column_feature,
        cond_literals,
        cond_kinds,
        cond_bounds,
        n_rows,
        rules,
        mask,
        start,
        stop,
    )
    window = classes[:, start:stop]
    default = lists.shape[1]
    rows = _rows(n_rows, start, stop) if mask is None else mask[start:stop]
    for s, members in enumerate(lists):
        remaining = rows.copy()
        for position, r in enumerate(members):
            if r < 0:
                continue
            first = vectors[r] & remaining
            remaining &= ~first
            out[s, position, 0] += _popcount(first)
            for t in range(window.shape[0]):
                out[s, position, 1 + t] += _popcount(first & window[t])
        out[s, default, 0] += _popcount(remaining)
        for t in range(window.shape[0]):
            out[s, default, 1 + t] += _popcount(remaining & window[t])


def xnor_gemm(
    a: Words,
    b: Words,
    n_bits: int,
    row_start: int,
    row_stop: int,
    out: NDArray[np.int32],
) -> None:
    """Write ``n_bits - 2 * popcount(a[i] xor b[j])`` for rows ``row_start:row_stop``.

    `a` is (M, n_words) and `b` is (N, n_words), both packed along the shared dimension
    with zero padding bits, so the padding adds nothing to the popcount. With bits read
    as signs (1 is +1, 0 is -1) the result is the dot product of the two sign vectors.
    """
    for i in range(row_start, row_stop):
        differences = np.bitwise_count(a[i][None, :] ^ b).sum(axis=1, dtype=np.int64)
        out[i] = n_bits - 2 * differences


def xnor_threshold(
    a: Words,
    b: Words,
    n_bits: int,
    thresholds: NDArray[np.int64],
    row_start: int,
    row_stop: int,
    out: Words,
) -> None:
    """Write, for rows ``row_start:row_stop``, the bits ``xnor_gemm >= thresholds``
    packed along the columns of B: bit ``j % 64`` of word ``j // 64`` of output row
    ``i`` is set where ``n_bits - 2 * popcount(a[i] xor b[j]) >= thresholds[j]``, and
    the padding bits are zero."""
    from loom.data.bits import pack_bits

    for i in range(row_start, row_stop):
        differences = np.bitwise_count(a[i][None, :] ^ b).sum(axis=1, dtype=np.int64)
        out[i] = pack_bits(n_bits - 2 * differences >= thresholds)
