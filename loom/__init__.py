"""Loom: discover readable logical constraints in data and reason over them."""

from __future__ import annotations

import logging
from typing import Any

from loom.constraints import Constraint, Statement, format_rules, parse, parse_rules
from loom.constraints.evaluate import Evaluation, evaluate
from loom.crystal import CrystalStore
from loom.data import BitTable, FeatureSpec, Schema
from loom.evolve import RuleSet, discover, discover_invariants
from loom.exceptions import (
    ConstraintError,
    ConstraintSyntaxError,
    DataError,
    LoomError,
    LoomWarning,
)
from loom.reason import (
    Budget,
    Classification,
    Completion,
    Consequence,
    Consequences,
    Consistency,
    Entailment,
    Explanation,
    KnowledgeBase,
    Status,
    Step,
)

__all__ = [
    "BinaryNetwork",
    "BitTable",
    "Budget",
    "Classification",
    "Completion",
    "Consequence",
    "Consequences",
    "Consistency",
    "Constraint",
    "ConstraintError",
    "ConstraintSyntaxError",
    "CrystalStore",
    "DataError",
    "Entailment",
    "Evaluation",
    "Explanation",
    "FeatureSpec",
    "KnowledgeBase",
    "LoomClassifier",
    "LoomError",
    "LoomWarning",
    "RuleSet",
    "Schema",
    "Statement",
    "Status",
    "Step",
    "discover",
    "discover_invariants",
    "evaluate",
    "format_rules",
    "parse",
    "parse_rules",
]

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    # LoomClassifier and BinaryNetwork import scikit-learn, which takes about a
    # second; only code that uses them pays for it.
    if name == "LoomClassifier":
        from loom.estimator import LoomClassifier

        return LoomClassifier
    if name == "BinaryNetwork":
        from loom.bnn import BinaryNetwork

        return BinaryNetwork
    msg = f"module 'loom' has no attribute {name!r}"
    raise AttributeError(msg)
