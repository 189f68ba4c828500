"""Dispatchers of the popcount kernels: checks, output allocation, threads.

Every public function checks its arrays (dtype, C-contiguity, shape, codes in range,
zero padding bits), allocates the outputs, and calls the chosen backend over ranges of
words. Large calls are split over threads by word range (each thread adds into its own
output, summed at the end), because the compiled kernels release the GIL; small calls
run on the calling thread.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from loom.constraints.ast import (
    CARDINALITY_KINDS,
    Cardinality,
    Compare,
    Constraint,
    Membership,
    Not,
)
from loom.data.bits import last_word_mask, n_words
from loom.data.schema import Schema
from loom.data.table import BitTable
from loom.exceptions import ConstraintError, InvalidParameterError
from loom.kernels.backends import load_backend
from loom.kernels.config import (
    BLOCK_WORDS,
    CACHE_BUDGET_BYTES,
    PARALLEL_MIN_WORK,
    thread_count,
)

__all__ = [
    "Conditions",
    "cardinality_rows",
    "encode_literal",
    "encode_rules",
    "pack_signs",
    "score_decision_lists",
    "score_rule_sets",
    "score_rules",
    "xnor_matmul",
    "xnor_threshold",
]

Words = NDArray[np.uint64]
CardinalityKind = Literal["atleast", "atmost", "exactly"]
_KIND_CODES = {kind: code for code, kind in enumerate(CARDINALITY_KINDS)}


# ---------------------------------------------------------------------------
# Literal codes


@dataclass(frozen=True)
class Conditions:
    """Cardinality conditions that rules can use as literals.

    Condition ``j`` is literal code ``2 * (n_columns + j)`` in a rule, and
    ``2 * (n_columns + j) + 1`` stands for the rows where it is false.

    Parameters
    ----------
    literals : ndarray of shape (n_conditions, max_literals), dtype=int32
        Column literal codes of each condition, padded with -1.
    kinds : ndarray of shape (n_conditions,), dtype=int8
        0 for ``atleast``, 1 for ``atmost``, 2 for ``exactly``.
    bounds : ndarray of shape (n_conditions,), dtype=int32
    """

    literals: NDArray[np.int32]
    kinds: NDArray[np.int8]
    bounds: NDArray[np.int32]

    @classmethod
    def build(
        cls, items: Sequence[tuple[CardinalityKind, Sequence[int], int]]
    ) -> Conditions:
        """Build conditions from ``(kind, literal codes, bound)`` triples.

        Bounds outside ``-1 .. n_literals + 1`` are clamped to that range, which keeps
        their meaning (no count reaches a larger bound, every count reaches a
        smaller one) and lets them fit the kernels' 32-bit bounds.

        Examples
        --------
        >>> Conditions.build([("exactly", [0, 2, 4], 2)]).literals
        array([[0, 2, 4]], dtype=int32)
        """
        width = max((len(codes) for _, codes, _ in items), default=0)
        literals = np.full((len(items), max(width, 1)), -1, dtype=np.int32)
        kinds = np.zeros(len(items), dtype=np.int8)
        bounds = np.zeros(len(items), dtype=np.int32)
        for j, (kind, codes, bound) in enumerate(items):
            if kind not in _KIND_CODES:
                msg = (
                    f"condition {j}: kind must be one of "
                    f"{', '.join(CARDINALITY_KINDS)}, got {kind!r}."
                )
                raise InvalidParameterError(msg)
            literals[j, : len(codes)] = codes
            kinds[j] = _KIND_CODES[kind]
            bounds[j] = min(max(int(bound), -1), len(codes) + 1)
        return cls(literals, kinds, bounds)

    def __len__(self) -> int:
        return int(self.kinds.shape[0])


NO_CONDITIONS = Conditions(
    np.full((0, 1), -1, dtype=np.int32), np.zeros(0, np.int8), np.zeros(0, np.int32)
)


def encode_literal(schema: Schema | BitTable, literal: Constraint | str) -> int:
    """Return the kernel code of a literal: ``2 * c`` for bit column ``c``,
    ``2 * c + 1`` for its negation.

    A negation is written ``not`` plus the column's literal, or as the complementary
    comparison: ``x > t`` for the column ``x <= t``, ``color != red`` for
    ``color = red``.

    Raises
    ------
    ConstraintError
        If no bit column stands for the literal or its negation.

    Examples
    --------
    >>> from loom.data import FeatureSpec, Schema
    >>> schema = Schema((FeatureSpec("age", "numeric", thresholds=(30.0, 50.0)),))
    >>> encode_literal(schema, "age <= 50"), encode_literal(schema, "age > 30")
    (2, 1)
    """
    if isinstance(schema, BitTable):
        schema = schema.schema
    from loom.constraints.parser import parse

    node = parse(literal)
    negated = False
    if isinstance(node, Not):
        negated, node = True, node.operand
    complements = {">": "<=", "!=": "="}
    if isinstance(node, Compare) and node.op in complements:
        negated, node = (
            not negated,
            Compare(node.feature, complements[node.op], node.value),
        )
    if isinstance(node, Membership) and len(node.values) == 1:
        node = Compare(node.feature, "=", node.values[0])
    try:
        column = schema.column_of(node)
    except KeyError:
        known = ", ".join(schema.columns[:12])
        more = ", ..." if schema.n_columns > 12 else ""
        msg = (
            f"no bit column stands for {str(parse(literal))!r}; a literal is a column "
            f"({known}{more}) or its negation."
        )
        raise ConstraintError(msg) from None
    return 2 * column + int(negated)


def encode_rules(
    schema: Schema | BitTable, rules: Sequence[Sequence[Constraint | str]]
) -> NDArray[np.int32]:
    """Return the literal codes of conjunctions, shape (n_rules, max_literals), padded
    with -1.

    Examples
    --------
    >>> from loom.data import FeatureSpec, Schema
    >>> schema = Schema((FeatureSpec("a", "boolean", values=("false", "true")),
    ...                  FeatureSpec("b", "boolean", values=("false", "true"))))
    >>> encode_rules(schema, [["a", "not b"], ["b"]])
    array([[ 0,  3],
           [ 2, -1]], dtype=int32)
    """
    width = max((len(rule) for rule in rules), default=0)
    codes = np.full((len(rules), max(width, 1)), -1, dtype=np.int32)
    for r, rule in enumerate(rules):
        for k, literal in enumerate(rule):
            codes[r, k] = encode_literal(schema, literal)
    return codes


def condition_of(schema: Schema | BitTable, node: Cardinality) -> tuple[Any, ...]:
    """Return the ``(kind, codes, bound)`` triple of a cardinality node of literals."""
    codes = [encode_literal(schema, operand) for operand in node.operands]
    return (node.kind, codes, node.bound)


# ---------------------------------------------------------------------------
# Checks


def _int32_matrix(array: ArrayLike, name: str) -> NDArray[np.int32]:
    if isinstance(array, np.ndarray):
        if array.dtype != np.int32:
            msg = (
                f"{name} must be an int32 array, got {array.dtype}; pass "
                f"{name}.astype(np.int32)."
            )
            raise InvalidParameterError(msg)
        matrix = array
    else:
        matrix = np.asarray(array, dtype=np.int64)
        if matrix.size and (matrix.min() < -(2**31) or matrix.max() >= 2**31):
            msg = f"{name} holds values outside the int32 range."
            raise InvalidParameterError(msg)
        matrix = matrix.astype(np.int32)
    if matrix.ndim != 2:
        msg = f"{name} must be 2-D (n, width), got shape {matrix.shape}."
        raise InvalidParameterError(msg)
    if not matrix.flags.c_contiguous:
        msg = f"{name} must be C-contiguous; pass np.ascontiguousarray({name})."
        raise InvalidParameterError(msg)
    return matrix


def _check_range(matrix: NDArray[np.int32], limit: int, name: str, what: str) -> None:
    """Raise unless every entry is -1 (padding) or in ``0 .. limit - 1``."""
    if not matrix.size or (matrix.min() >= -1 and matrix.max() < limit):
        return
    bad = (matrix < -1) | (matrix >= limit)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        msg = (
            f"{name}[{row}, {column}] = {int(matrix[row, column])} is not {what} "
            f"(0 to {limit - 1}) or -1 for padding."
        )
        raise InvalidParameterError(msg)


def _check_words(
    array: Any, n_rows: int, name: str, ndim: int = 1, *, padding: bool = True
) -> Words:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint64:
        found = getattr(array, "dtype", type(array).__name__)
        msg = f"{name} must be a uint64 ndarray of packed rows, got {found}."
        raise InvalidParameterError(msg)
    if array.ndim != ndim or array.shape[-1] != n_words(n_rows):
        msg = (
            f"{name} must have {n_words(n_rows)} words per row for {n_rows} rows "
            f"({ndim}-D), got shape {array.shape}."
        )
        raise InvalidParameterError(msg)
    if not array.flags.c_contiguous:
        msg = f"{name} must be C-contiguous; pass np.ascontiguousarray({name})."
        raise InvalidParameterError(msg)
    if padding and array.size and np.any(array[..., -1] & ~last_word_mask(n_rows)):
        msg = f"{name} has padding bits set past row {n_rows - 1}; clear them."
        raise InvalidParameterError(msg)
    return array


def _table(table: object) -> BitTable:
    if not isinstance(table, BitTable):
        msg = f"table must be a BitTable, got {type(table).__name__}."
        raise InvalidParameterError(msg)
    return table


def _target_words(table: BitTable, target: int | Words | None) -> Words | None:
    if target is None:
        return None
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        if not 0 <= target < table.n_columns:
            msg = (
                f"target column {int(target)} is out of range 0..{table.n_columns - 1}."
            )
            raise InvalidParameterError(msg)
        return table.bits[int(target)]
    return _check_words(target, table.n_rows, "target")


def _mask_words(table: BitTable, mask: Words | None) -> Words | None:
    if mask is None:
        return None
    return _check_words(mask, table.n_rows, "mask")


def _conditions(table: BitTable, conditions: Conditions | None) -> Conditions:
    if conditions is None:
        return NO_CONDITIONS
    if not isinstance(conditions, Conditions):
        msg = f"conditions must be a Conditions, got {type(conditions).__name__}."
        raise InvalidParameterError(msg)
    _check_range(
        conditions.literals,
        2 * table.n_columns,
        "conditions.literals",
        "a column literal code",
    )
    if not np.isin(conditions.kinds, (0, 1, 2)).all():
        msg = "conditions.kinds must hold 0 (atleast), 1 (atmost) or 2 (exactly)."
        raise InvalidParameterError(msg)
    return conditions


def _column_feature(table: BitTable) -> NDArray[np.int32]:
    return table.schema.column_feature32


# ---------------------------------------------------------------------------
# Threads


_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(thread_name_prefix="loom-kernel")
        atexit.register(_pool.shutdown)
    return _pool


def _ranges(
    total: int, work: int, align: int, module: ModuleType
) -> list[tuple[int, int]]:
    """Split ``0 .. total - 1`` into one range per thread, aligned to `align`."""
    if work < PARALLEL_MIN_WORK or total < 2 * align:
        return [(0, total)]
    threads = 1 if module.__name__.endswith("reference") else thread_count()
    if threads == 1:
        return [(0, total)]
    threads = min(threads, total // align)
    step = -(-total // threads)
    step = -(-step // align) * align
    return [(start, min(start + step, total)) for start in range(0, total, step)]


def _run(
    ranges: list[tuple[int, int]],
    call: Callable[[int, int, tuple[NDArray[Any], ...]], None],
    outputs: tuple[NDArray[Any], ...],
) -> None:
    """Run `call` over each range, adding into `outputs` (one private copy per extra
    thread)."""
    if len(ranges) == 1:
        call(*ranges[0], outputs)
        return
    private = [tuple(np.zeros_like(out) for out in outputs) for _ in ranges[1:]]
    futures = [
        _executor().submit(call, start, stop, copies)
        for (start, stop), copies in zip(ranges[1:], private, strict=True)
    ]
    call(*ranges[0], outputs)
    for future, copies in zip(futures, private, strict=True):
        future.result()
        for out, copy in zip(outputs, copies, strict=True):
            out += copy


# ---------------------------------------------------------------------------
# Public kernels


def score_rules(
    table: BitTable,
    rules: ArrayLike,
    target: int | Words | None = None,
    mask: Words | None = None,
    backend: str | None = None,
    *,
    conditions: Conditions | None = None,
) -> NDArray[np.int64]:
    """Count, for every conjunction of literals, the rows where it is true.

    A literal on a missing value is not true, and a negated literal is true only where
    the value is known, so the counts follow three-valued logic.

    Parameters
    ----------
    table : BitTable
    rules : array_like of shape (n_rules, max_literals), dtype=int32
        Literal codes: ``2 * c`` for bit column ``c`` (``table.columns[c]``),
        ``2 * c + 1`` for its negation, -1 for padding; with `conditions`,
        ``2 * (n_columns + j)`` for condition ``j`` (``+ 1``: where it is false). A
        rule of padding only is true on every row of the mask.
    target : int or ndarray of shape (n_words,), dtype=uint64, optional
        A bit column number, or packed target rows.
    mask : ndarray of shape (n_words,), dtype=uint64, optional
        Count only these rows (default: all).
    backend : {'c', 'numba', 'numpy'}, optional
        See `loom.kernels.backend`.
    conditions : Conditions, optional
        Cardinality conditions the rules use as literals.

    Returns
    -------
    ndarray of shape (n_rules, 2), dtype=int64
        Column 0: rows where the rule is true; column 1: of those, rows where the
        target is set (0 without a target).

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> table = BitTable.from_frame(pd.DataFrame({
    ...     "a": [True, True, False, None], "y": ["p", "n", "p", "p"]}), target="y")
    >>> table.columns
    ('a', 'y = n', 'y = p')
    >>> score_rules(table, np.array([[0], [1]], dtype=np.int32), target=2)
    array([[2, 1],
           [1, 1]])
    """
    table = _table(table)
    module = load_backend(backend)
    matrix = _int32_matrix(rules, "rules")
    cond = _conditions(table, conditions)
    _check_range(matrix, 2 * (table.n_columns + len(cond)), "rules", "a literal code")
    target_words = _target_words(table, target)
    mask_words = _mask_words(table, mask)
    column_feature = _column_feature(table)
    out = np.zeros((matrix.shape[0], 2), dtype=np.int64)

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        module.score_rules(
            table.bits,
            table.valid,
            column_feature,
            cond.literals,
            cond.kinds,
            cond.bounds,
            table.n_rows,
            matrix,
            target_words,
            mask_words,
            start,
            stop,
            outputs[0],
        )

    work = matrix.size * table.n_words
    _run(_ranges(table.n_words, work, BLOCK_WORDS, module), call, (out,))
    return out


def _set_block_words(n_rules: int) -> int:
    """Words per block for rule-set scoring, so that the rules' block vectors fit the
    cache budget (a multiple of 8 between 8 and `BLOCK_WORDS`)."""
    words = CACHE_BUDGET_BYTES // (8 * max(n_rules, 1))
    return int(min(BLOCK_WORDS, max(8, words - words % 8)))


def score_rule_sets(
    table: BitTable,
    rules: ArrayLike,
    rule_sets: ArrayLike,
    target: int | Words | None = None,
    mask: Words | None = None,
    backend: str | None = None,
    *,
    conditions: Conditions | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Count the rows of every rule and of the union of the rules of every rule set.

    A rule set read as a classifier predicts the target where any of its rules is
    true, so its counts are its predicted positives and its true positives.

    Parameters
    ----------
    table, rules, target, mask, backend, conditions
        As in `score_rules`.
    rule_sets : array_like of shape (n_sets, max_rules), dtype=int32
        Indices into `rules`, padded with -1.

    Returns
    -------
    rule_counts : ndarray of shape (n_rules, 2), dtype=int64
        As `score_rules` returns.
    set_counts : ndarray of shape (n_sets, 2), dtype=int64
        Rows covered by the set's rules, and of those the target rows.
    """
    table = _table(table)
    module = load_backend(backend)
    matrix = _int32_matrix(rules, "rules")
    sets = _int32_matrix(rule_sets, "rule_sets")
    cond = _conditions(table, conditions)
    _check_range(matrix, 2 * (table.n_columns + len(cond)), "rules", "a literal code")
    _check_range(sets, matrix.shape[0], "rule_sets", "a rule index")
    target_words = _target_words(table, target)
    mask_words = _mask_words(table, mask)
    column_feature = _column_feature(table)
    block = _set_block_words(matrix.shape[0])
    rule_counts = np.zeros((matrix.shape[0], 2), dtype=np.int64)
    set_counts = np.zeros((sets.shape[0], 2), dtype=np.int64)

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        module.score_rule_sets(
            table.bits,
            table.valid,
            column_feature,
            cond.literals,
            cond.kinds,
            cond.bounds,
            table.n_rows,
            matrix,
            sets,
            target_words,
            mask_words,
            start,
            stop,
            block,
            outputs[0],
            outputs[1],
        )

    work = (matrix.size + sets.size) * table.n_words
    _run(_ranges(table.n_words, work, block, module), call, (rule_counts, set_counts))
    return rule_counts, set_counts


def score_decision_lists(
    table: BitTable,
    rules: ArrayLike,
    lists: ArrayLike,
    classes: Sequence[int] | Words,
    mask: Words | None = None,
    backend: str | None = None,
    *,
    conditions: Conditions | None = None,
) -> NDArray[np.int64]:
    """Count, for ordered lists of rules, the rows each rule is the first to match.

    Parameters
    ----------
    table, rules, mask, backend, conditions
        As in `score_rules`.
    lists : array_like of shape (n_lists, max_rules), dtype=int32
        Indices into `rules` in the order they are tried, padded with -1.
    classes : sequence of int, or ndarray of shape (n_classes, n_words), dtype=uint64
        Bit column numbers of the classes, or their packed rows.

    Returns
    -------
    ndarray of shape (n_lists, max_rules + 1, n_classes + 1), dtype=int64
        ``[s, m, 0]``: rows the rule at position ``m`` of list ``s`` is the first to
        match; ``[s, m, 1 + t]``: those of them in class ``t``. Position
        ``max_rules`` counts the rows no rule matches (the default's rows).
    """
    table = _table(table)
    module = load_backend(backend)
    matrix = _int32_matrix(rules, "rules")
    ordered = _int32_matrix(lists, "lists")
    cond = _conditions(table, conditions)
    _check_range(matrix, 2 * (table.n_columns + len(cond)), "rules", "a literal code")
    _check_range(ordered, matrix.shape[0], "lists", "a rule index")
    if isinstance(classes, np.ndarray) and classes.dtype == np.uint64:
        class_words = _check_words(classes, table.n_rows, "classes", ndim=2)
    else:
        numbers = [int(c) for c in classes]
        for number in numbers:
            if not 0 <= number < table.n_columns:
                msg = f"class column {number} is out of range 0..{table.n_columns - 1}."
                raise InvalidParameterError(msg)
        class_words = np.ascontiguousarray(table.bits[numbers]).reshape(
            len(numbers), table.n_words
        )
    mask_words = _mask_words(table, mask)
    column_feature = _column_feature(table)
    block = _set_block_words(matrix.shape[0])
    out = np.zeros(
        (ordered.shape[0], ordered.shape[1] + 1, class_words.shape[0] + 1),
        dtype=np.int64,
    )

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        module.score_decision_lists(
            table.bits,
            table.valid,
            column_feature,
            cond.literals,
            cond.kinds,
            cond.bounds,
            table.n_rows,
            matrix,
            ordered,
            class_words,
            mask_words,
            start,
            stop,
            block,
            outputs[0],
        )

    work = (matrix.size + ordered.size * (class_words.shape[0] + 1)) * table.n_words
    _run(_ranges(table.n_words, work, block, module), call, (out,))
    return out


def cardinality_rows(
    table: BitTable, conditions: Conditions, backend: str | None = None
) -> tuple[Words, Words]:
    """Return the rows where each cardinality condition is true and where it is false.

    A count is three-valued: ``atleast(k: ...)`` is true where at least k literals are
    true, false where fewer than k can be true (counting the unknown ones), and unknown
    elsewhere; ``atmost`` and ``exactly`` likewise.

    Returns
    -------
    true, false : ndarray of shape (n_conditions, n_words), dtype=uint64

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> from loom.data import unpack_bits
    >>> table = BitTable.from_frame(pd.DataFrame({
    ...     "a": [True, True, False], "b": [True, False, False]}))
    >>> conditions = Conditions.build([("exactly", [0, 2], 1)])
    >>> true, false = cardinality_rows(table, conditions)
    >>> unpack_bits(true[0], 3).tolist()
    [False, True, False]
    """
    table = _table(table)
    module = load_backend(backend)
    cond = _conditions(table, conditions)
    true = np.zeros((len(cond), table.n_words), dtype=np.uint64)
    false = np.zeros_like(true)
    column_feature = _column_feature(table)

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        module.cardinality(
            table.bits,
            table.valid,
            column_feature,
            cond.literals,
            cond.kinds,
            cond.bounds,
            table.n_rows,
            start,
            stop,
            outputs[0],
            outputs[1],
        )

    # Each thread writes its own words, so the shared outputs need no private copies.
    ranges = _ranges(
        table.n_words, cond.literals.size * table.n_words * 8, BLOCK_WORDS, module
    )
    futures = [_executor().submit(call, a, b, (true, false)) for a, b in ranges[1:]]
    call(*ranges[0], (true, false))
    for future in futures:
        future.result()
    return true, false


def pack_signs(values: ArrayLike) -> Words:
    """Pack the signs of a 2-D array along its last axis: bit 1 for ``x >= 0`` (so 0
    and -0.0 are +1), bit 0 for ``x < 0``.

    Returns
    -------
    ndarray of shape (n, n_words), dtype=uint64

    Examples
    --------
    >>> pack_signs([[1.5, -2.0, 0.0]])
    array([[5]], dtype=uint64)
    """
    from loom.data.bits import pack_bits

    array = np.asarray(values)
    if array.ndim != 2:
        msg = f"values must be 2-D, got shape {array.shape}."
        raise InvalidParameterError(msg)
    if np.isnan(array).any() if array.dtype.kind == "f" else False:
        msg = "values holds NaN, which has no sign; replace it first."
        raise InvalidParameterError(msg)
    return np.ascontiguousarray(pack_bits(array >= 0))


def xnor_matmul(
    a: Words, b: Words, n_bits: int, backend: str | None = None
) -> NDArray[np.int32]:
    """Multiply two sign matrices stored as packed bits, by XNOR and popcount.

    Entry ``[i, j]`` is ``n_bits - 2 * popcount(a[i] xor b[j])``: the dot product of
    row ``i`` of A and column ``j`` of B with bits read as +1 (set) and -1 (clear).

    Parameters
    ----------
    a : ndarray of shape (M, n_words), dtype=uint64
        Rows of A packed along the shared dimension, padding bits zero.
    b : ndarray of shape (N, n_words), dtype=uint64
        Columns of B (rows of B transposed), packed the same way.
    n_bits : int
        Length K of the shared dimension; ``n_words = ceil(K / 64)``.

    Returns
    -------
    ndarray of shape (M, N), dtype=int32

    Examples
    --------
    >>> a = pack_signs([[1, -1, 1]])
    >>> b = pack_signs([[1, 1, 1], [-1, 1, -1]])
    >>> xnor_matmul(a, b, 3)
    array([[ 1, -3]], dtype=int32)
    """
    if (
        isinstance(n_bits, bool)
        or not isinstance(n_bits, int | np.integer)
        or n_bits < 0
    ):
        msg = f"n_bits must be an int >= 0, got {n_bits!r}."
        raise InvalidParameterError(msg)
    n_bits = int(n_bits)
    module = load_backend(backend)
    # The C kernel checks the padding bits itself, at a fraction of the cost.
    native = module.__name__.endswith("_native")
    left = _check_words(a, n_bits, "a", ndim=2, padding=not native)
    right = _check_words(b, n_bits, "b", ndim=2, padding=not native)
    out = np.empty((left.shape[0], right.shape[0]), dtype=np.int32)

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        try:
            module.xnor_gemm(left, right, n_bits, start, stop, outputs[0])
        except ValueError as err:  # padding found by the C kernel
            raise InvalidParameterError(f"{err}.") from None

    work = 4 * left.shape[0] * right.size  # a word pair costs about four word operations
    ranges = _ranges(left.shape[0], work, 16, module)
    futures = [
        _executor().submit(call, start, stop, (out,)) for start, stop in ranges[1:]
    ]
    call(*ranges[0], (out,))
    for future in futures:
        future.result()
    return out


def xnor_threshold(
    a: Words,
    b: Words,
    n_bits: int,
    thresholds: ArrayLike,
    backend: str | None = None,
) -> Words:
    """Compare the XNOR-popcount product with a threshold per column and pack the
    outcome: the forward pass of a layer of binary neurons, without the int32 matrix.

    Bit ``j`` of output row ``i`` is set where ``n_bits - 2 * popcount(a[i] xor b[j])
    >= thresholds[j]``, that is where `xnor_matmul` is at least the threshold.

    Parameters
    ----------
    a : ndarray of shape (M, n_words), dtype=uint64
        Rows of A packed along the shared dimension, padding bits zero.
    b : ndarray of shape (N, n_words), dtype=uint64
        Columns of B (rows of B transposed), packed the same way.
    n_bits : int
        Length K of the shared dimension; ``n_words = ceil(K / 64)``.
    thresholds : array_like of int, shape (N,)

    Returns
    -------
    ndarray of shape (M, ceil(N / 64)), dtype=uint64
        Row-packed outcomes, padding bits zero.

    Examples
    --------
    >>> a = pack_signs([[1, -1, 1], [-1, -1, -1]])
    >>> b = pack_signs([[1, 1, 1], [-1, 1, -1]])
    >>> xnor_matmul(a, b, 3)
    array([[ 1, -3],
           [-3,  1]], dtype=int32)
    >>> xnor_threshold(a, b, 3, [1, 0])
    array([[1],
           [2]], dtype=uint64)
    """
    if (
        isinstance(n_bits, bool)
        or not isinstance(n_bits, int | np.integer)
        or n_bits < 0
    ):
        msg = f"n_bits must be an int >= 0, got {n_bits!r}."
        raise InvalidParameterError(msg)
    n_bits = int(n_bits)
    module = load_backend(backend)
    left = _check_words(a, n_bits, "a", ndim=2)
    right = _check_words(b, n_bits, "b", ndim=2)
    cuts = np.asarray(thresholds)
    if cuts.dtype.kind not in "iu" or cuts.shape != (right.shape[0],):
        msg = (
            f"thresholds must be {right.shape[0]} integers, one per row of b, got "
            f"{cuts.dtype} of shape {cuts.shape}."
        )
        raise InvalidParameterError(msg)
    cuts = np.ascontiguousarray(cuts, dtype=np.int64)
    out = np.zeros((left.shape[0], n_words(right.shape[0])), dtype=np.uint64)

    def call(start: int, stop: int, outputs: tuple[NDArray[Any], ...]) -> None:
        module.xnor_threshold(left, right, n_bits, cuts, start, stop, outputs[0])

    # Each thread writes its own rows, so the shared output needs no private copies.
    work = left.shape[0] * right.size
    ranges = _ranges(left.shape[0], work, 16, module)
    futures = [
        _executor().submit(call, start, stop, (out,)) for start, stop in ranges[1:]
    ]
    call(*ranges[0], (out,))
    for future in futures:
        future.result()
    return out
