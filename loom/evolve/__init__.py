"""Rule discovery: evolutionary search of rule sets and decision lists over a BitTable,
with NSGA-II from DEAP, and the `RuleSet` model it returns."""

from __future__ import annotations

from loom.evolve.discover import discover
from loom.evolve.invariants import Invariant, discover_invariants
from loom.evolve.model import ModelRule, RuleSet
from loom.evolve.search import Generation

__all__ = [
    "Generation",
    "Invariant",
    "ModelRule",
    "RuleSet",
    "discover",
    "discover_invariants",
]
