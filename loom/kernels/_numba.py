"""Numba backend of the scoring kernels; same contract as `loom.kernels.reference`.

The kernels walk the words in blocks of `BLOCK_WORDS`: on each block they evaluate the
cardinality conditions, then every rule, so a column is read from memory once per batch
and then from cache. A rule's rows are built in a block-sized accumulator with one pass
per literal, and each pass is a loop over words from zero, which LLVM vectorizes.
Inputs are checked by the dispatchers, not here.
"""

from __future__ import annotations

import numpy as np
from numba import config, njit, types
from numba.extending import intrinsic

from loom.kernels.config import BLOCK_WORDS

__all__ = [
    "cardinality",
    "score_decision_lists",
    "score_rule_sets",
    "score_rules",
    "xnor_gemm",
    "xnor_threshold",
]

ATLEAST, ATMOST, EXACTLY = 0, 1, 2
ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
# Bit planes of a cardinality counter: enough for 2**MAX_PLANES - 1 literals.
MAX_PLANES = 32

if config.DISABLE_JIT:

    def popcount(word: np.uint64) -> np.uint64:
        return np.uint64(int(word).bit_count())

else:

    @intrinsic
    def popcount(typingctx, word):  # type: ignore[no-untyped-def]
        """Count the set bits of a uint64 with LLVM's ctpop (POPCNT where present)."""
        signature = types.uint64(types.uint64)

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            return builder.ctpop(args[0])

        return signature, codegen


@njit(cache=True, nogil=True)
def _row_word(n_rows, word):  # type: ignore[no-untyped-def]
    """Return the bits of word `word` that belong to rows."""
    first = word * 64
    if first + 64 <= n_rows:
        return ALL_ONES
    if first >= n_rows:
        return np.uint64(0)
    return np.uint64((1 << (n_rows - first)) - 1)


@njit(cache=True, nogil=True)
def _at_least(planes, n_planes, k, rows):  # type: ignore[no-untyped-def]
    """Return the rows of one word whose bit-sliced counter is at least `k`."""
    if k <= 0:
        return rows
    if n_planes < 63 and k >= (1 << n_planes):
        return np.uint64(0)
    greater = np.uint64(0)
    equal = rows
    for position in range(n_planes - 1, -1, -1):
        plane = planes[position]
        if (k >> position) & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane
    return greater | equal


@njit(cache=True, nogil=True)
def _conditions_block(  # type: ignore[no-untyped-def]
    bits,
    valid,
    column_feature,
    cond_literals,
    cond_kinds,
    cond_bounds,
    n_rows,
    block_start,
    block_stop,
    planes_true,
    planes_possible,
    out,
):
    """Write the true rows of condition j to ``out[2j]`` and its false rows to
    ``out[2j + 1]``, for the words of one block (counters are per word, bit-sliced)."""
    n_conditions, width = cond_literals.shape
    for j in range(n_conditions):
        kind = cond_kinds[j]
        bound = np.int64(cond_bounds[j])
        for word in range(block_start, block_stop):
            rows = _row_word(n_rows, word)
            n_planes = 0
            for code in cond_literals[j]:
                if code < 0:
                    continue
                column = code >> 1
                set_bits = bits[column, word]
                known = valid[column_feature[column], word]
                if code & 1:
                    true = known & ~set_bits
                    possible = rows & ~set_bits
                else:
                    true = set_bits
                    possible = rows & (set_bits | ~known)
                # Ripple-carry addition of one bit per row to both counters.
                carry_true = true
                carry_possible = possible
                for position in range(n_planes):
                    plane = planes_true[position]
                    planes_true[position] = plane ^ carry_true
                    carry_true &= plane
                    plane = planes_possible[position]
                    planes_possible[position] = plane ^ carry_possible
                    carry_possible &= plane
                if n_planes < MAX_PLANES:
                    planes_true[n_planes] = carry_true
                    planes_possible[n_planes] = carry_possible
                    n_planes += 1
            if kind == ATLEAST:
                true = _at_least(planes_true, n_planes, bound, rows)
                false = rows & ~_at_least(planes_possible, n_planes, bound, rows)
            elif kind == ATMOST:
                true = rows & ~_at_least(planes_possible, n_planes, bound + 1, rows)
                false = _at_least(planes_true, n_planes, bound + 1, rows)
            else:
                true = _at_least(planes_true, n_planes, bound, rows) & ~_at_least(
                    planes_possible, n_planes, bound + 1, rows
                )
                false = _at_least(planes_true, n_planes, bound + 1, rows) | (
                    rows & ~_at_least(planes_possible, n_planes, bound, rows)
                )
            out[2 * j, word - block_start] = true
            out[2 * j + 1, word - block_start] = false


@njit(cache=True, nogil=True)
def _rule_block(  # type: ignore[no-untyped-def]
    rule,
    bits,
    valid,
    column_feature,
    conditions,
    mask,
    n_rows,
    block_start,
    n,
    accumulator,
):
    """Write the rows of one block where the rule is true (inside `mask`; a mask of
    None stands for every row)."""
    n_columns = bits.shape[0]
    if mask is None:
        for w in range(n):
            accumulator[w] = ALL_ONES
        last = (n_rows - 1) // 64 - block_start  # the word with padding bits
        if 0 <= last < n:
            accumulator[last] = _row_word(n_rows, block_start + last)
    else:
        source = mask[block_start : block_start + n]
        for w in range(n):
            accumulator[w] = source[w]
    for code in rule:
        if code < 0:
            continue
        column = code >> 1
        if column >= n_columns:
            condition = conditions[2 * (column - n_columns) + (code & 1)]
            for w in range(n):
                accumulator[w] &= condition[w]
        elif code & 1:
            set_bits = bits[column, block_start : block_start + n]
            known = valid[column_feature[column], block_start : block_start + n]
            for w in range(n):
                accumulator[w] &= known[w] & ~set_bits[w]
        else:
            set_bits = bits[column, block_start : block_start + n]
            for w in range(n):
                accumulator[w] &= set_bits[w]


@njit(cache=True, nogil=True)
def _count(accumulator, target, block_start, n):  # type: ignore[no-untyped-def]
    """Rows set in the accumulator, and of those the target rows (0 without one)."""
    total = np.uint64(0)
    hits = np.uint64(0)
    if target is None:
        for w in range(n):
            total += popcount(accumulator[w])
    else:
        window = target[block_start : block_start + n]
        for w in range(n):
            word = accumulator[w]
            total += popcount(word)
            hits += popcount(word & window[w])
    return np.int64(total), np.int64(hits)


@njit(cache=True, nogil=True)
def score_rules(  # type: ignore[no-untyped-def]
    bits,
    valid,
    column_feature,
    cond_literals,
    cond_kinds,
    cond_bounds,
    n_rows,
    rules,
    target,
    mask,
    start,
    stop,
    out,
):
    """Add, per rule, the rows where it is true and of those the target rows."""
    accumulator = np.empty(BLOCK_WORDS, dtype=np.uint64)
    conditions = np.empty((2 * cond_literals.shape[0], BLOCK_WORDS), dtype=np.uint64)
    planes_true = np.empty(MAX_PLANES, dtype=np.uint64)
    planes_possible = np.empty(MAX_PLANES, dtype=np.uint64)
    for block_start in range(start, stop, BLOCK_WORDS):
        block_stop = min(block_start + BLOCK_WORDS, stop)
        n = block_stop - block_start
        _conditions_block(
            bits,
            valid,
            column_feature,
            cond_literals,
            cond_kinds,
            cond_bounds,
            n_rows,
            block_start,
            block_stop,
            planes_true,
            planes_possible,
            conditions,
        )
        for r in range(rules.shape[0]):
            _rule_block(
                rules[r],
                bits,
                valid,
                column_feature,
                conditions,
                mask,
                n_rows,
                block_start,
                n,
                accumulator,
            )
            total, hits = _count(accumulator, target, block_start, n)
            out[r, 0] += total
            out[r, 1] += hits


@njit(cache=True, nogil=True)
def score_rule_sets(  # type: ignore[no-untyped-def]
    bits,
    valid,
    column_feature,
    cond_literals,
    cond_kinds,
    cond_bounds,
    n_rows,
    rules,
    rule_sets,
    target,
    mask,
    start,
    stop,
    block_words,
    out_rules,
    out_sets,
):
    """Add the counts of every rule and of the union of the rules of every set.

    Each block keeps the rows of every rule (``n_rules * block_words`` words), then ORs
    them per set, so no rule's full bit vector is ever built.
    """
    n_rules = rules.shape[0]
    vectors = np.empty((n_rules, block_words), dtype=np.uint64)
    union = np.empty(block_words, dtype=np.uint64)
    conditions = np.empty((2 * cond_literals.shape[0], block_words), dtype=np.uint64)
    planes_true = np.empty(MAX_PLANES, dtype=np.uint64)
    planes_possible = np.empty(MAX_PLANES, dtype=np.uint64)
    for block_start in range(start, stop, block_words):
        block_stop = min(block_start + block_words, stop)
        n = block_stop - block_start
        _conditions_block(
            bits,
            valid,
            column_feature,
            cond_literals,
            cond_kinds,
            cond_bounds,
            n_rows,
            block_start,
            block_stop,
            planes_true,
            planes_possible,
            conditions,
        )
        for r in range(n_rules):
            _rule_block(
                rules[r],
                bits,
                valid,
                column_feature,
                conditions,
                mask,
                n_rows,
                block_start,
                n,
                vectors[r],
            )
            total, hits = _count(vectors[r], target, block_start, n)
            out_rules[r, 0] += total
            out_rules[r, 1] += hits
        for s in range(rule_sets.shape[0]):
            for w in range(n):
                union[w] = 0
            for r in rule_sets[s]:
                if r < 0:
                    continue
                vector = vectors[r]
                for w in range(n):
                    union[w] |= vector[w]
            total, hits = _count(union, target, block_start, n)
            out_sets[s, 0] += total
            out_sets[s, 1] += hits


@njit(cache=True, nogil=True)
def score_decision_lists(  # type: ignore[no-untyped-def]
    bits,
    valid,
    column_feature,
    cond_literals,
    cond_kinds,
    cond_bounds,
    n_rows,
    rules,
    lists,
    classes,
    mask,
    start,
    stop,
    block_words,
    out,
):
    """Add, per list and position, the rows that rule is the first to match, in all
    and per class row; the last position counts the rows no rule matches."""
    n_rules = rules.shape[0]
    n_classes = classes.shape[0]
    default = lists.shape[1]
    vectors = np.empty((n_rules, block_words), dtype=np.uint64)
    remaining = np.empty(block_words, dtype=np.uint64)
    first = np.empty(block_words, dtype=np.uint64)
    conditions = np.empty((2 * cond_literals.shape[0], block_words), dtype=np.uint64)
    planes_true = np.empty(MAX_PLANES, dtype=np.uint64)
    planes_possible = np.empty(MAX_PLANES, dtype=np.uint64)
    for block_start in range(start, stop, block_words):
        block_stop = min(block_start + block_words, stop)
        n = block_stop - block_start
        _conditions_block(
            bits,
            valid,
            column_feature,
            cond_literals,
            cond_kinds,
            cond_bounds,
            n_rows,
            block_start,
            block_stop,
            planes_true,
            planes_possible,
            conditions,
        )
        for r in range(n_rules):
            _rule_block(
                rules[r],
                bits,
                valid,
                column_feature,
                conditions,
                mask,
                n_rows,
                block_start,
                n,
                vectors[r],
            )
        for s in range(lists.shape[0]):
            if mask is None:
                for w in range(n):
                    remaining[w] = _row_word(n_rows, block_start + w)
            else:
                source = mask[block_start:block_stop]
                for w in range(n):
                    remaining[w] = source[w]
            for position in range(default + 1):
                if position < default:
                    r = lists[s, position]
                    if r < 0:
                        continue
                    vector = vectors[r]
                    for w in range(n):
                        first[w] = vector[w] & remaining[w]
                        remaining[w] &= ~vector[w]
                else:
                    for w in range(n):
                        first[w] = remaining[w]
                for t in range(n_classes + 1):
                    total = np.uint64(0)
                    if t == 0:
                        for w in range(n):
                            total += popcount(first[w])
                    else:
                        window = classes[t - 1, block_start:block_stop]
                        for w in range(n):
                            total += popcount(first[w] & window[w])
                    out[s, position, t] += np.int64(total)


@njit(cache=True, nogil=True)
def cardinality(  # type: ignore[no-untyped-def]
    bits,
    valid,
    column_feature,
    cond_literals,
    cond_kinds,
    cond_bounds,
    n_rows,
    start,
    stop,
    out_true,
    out_false,
):
    """Write the true and false rows of every condition for words ``start:stop``."""
    block = np.empty((2 * cond_literals.shape[0], BLOCK_WORDS), dtype=np.uint64)
    planes_true = np.empty(MAX_PLANES, dtype=np.uint64)
    planes_possible = np.empty(MAX_PLANES, dtype=np.uint64)
    for block_start in range(start, stop, BLOCK_WORDS):
        block_stop = min(block_start + BLOCK_WORDS, stop)
        _conditions_block(
            bits,
            valid,
            column_feature,
            cond_literals,
            cond_kinds,
            cond_bounds,
            n_rows,
            block_start,
            block_stop,
            planes_true,
            planes_possible,
            block,
        )
        for j in range(cond_literals.shape[0]):
            for w in range(block_stop - block_start):
                out_true[j, block_start + w] = block[2 * j, w]
                out_false[j, block_start + w] = block[2 * j + 1, w]


@njit(cache=True, nogil=True)
def xnor_gemm(a, b, n_bits, row_start, row_stop, out):  # type: ignore[no-untyped-def]
    """Write ``n_bits - 2 * popcount(a[i] xor b[j])`` for rows ``row_start`` to
    ``row_stop - 1``."""
    n_words = a.shape[1]
    for i in range(row_start, row_stop):
        row = a[i]
        for j in range(b.shape[0]):
            column = b[j]
            differences = np.uint64(0)
            for w in range(n_words):
                differences += popcount(row[w] ^ column[w])
            out[i, j] = np.int32(n_bits - 2 * np.int64(differences))


@njit(cache=True, nogil=True)
def xnor_threshold(a, b, n_bits, thresholds, row_start, row_stop, out):  # type: ignore[no-untyped-def]
    """Set bit ``j`` of output row ``i`` where ``n_bits - 2 * popcount(a[i] xor b[j])
    >= thresholds[j]``, for rows ``row_start`` to ``row_stop - 1``."""
    n_words = a.shape[1]
    for i in range(row_start, row_stop):
        row = a[i]
        for k in range(out.shape[1]):
            out[i, k] = np.uint64(0)
        for j in range(b.shape[0]):
            column = b[j]
            differences = np.uint64(0)
            for w in range(n_words):
                differences += popcount(row[w] ^ column[w])
            if n_bits - 2 * np.int64(differences) >= thresholds[j]:
                out[i, j >> 6] |= np.uint64(1) << np.uint64(j & 63)
