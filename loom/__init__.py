"""Loom: discover readable logical constraints in data and reason over them."""

from __future__ import annotations

import logging

from loom.constraints import Constraint, Statement, format_rules, parse, parse_rules
from loom.constraints.evaluate import Evaluation, evaluate
from loom.crystal import CrystalStore
from loom.data import BitTable, FeatureSpec, Schema
from loom.exceptions import (
    ConstraintError,
    ConstraintSyntaxError,
    DataError,
    LoomError,
    LoomWarning,
)

__all__ = [
    "BitTable",
    "Constraint",
    "ConstraintError",
    "ConstraintSyntaxError",
    "CrystalStore",
    "DataError",
    "Evaluation",
    "FeatureSpec",
    "LoomError",
    "LoomWarning",
    "Schema",
    "Statement",
    "evaluate",
    "format_rules",
    "parse",
    "parse_rules",
]

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
