"""Popcount kernels: batched scoring of conjunctions, rule sets and decision lists,
cardinality conditions, and the XNOR-popcount product of the binary network, as
integers or compared with a threshold per column.

Three backends give identical results: C (``native/``, built at install time), Numba,
and the NumPy reference (`loom.kernels.reference`), which is the specification.
"""

from __future__ import annotations

from loom.kernels.backends import BACKENDS, available_backends, backend
from loom.kernels.scoring import (
    Conditions,
    cardinality_rows,
    encode_literal,
    encode_rules,
    pack_signs,
    score_decision_lists,
    score_rule_sets,
    score_rules,
    xnor_matmul,
    xnor_threshold,
)

__all__ = [
    "BACKENDS",
    "Conditions",
    "available_backends",
    "backend",
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
