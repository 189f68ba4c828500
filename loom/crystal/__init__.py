"""Crystals: reliability across scenarios, the append-only store and its audit trail."""

from __future__ import annotations

from loom.crystal.evidence import (
    DEFAULT_Z,
    CrystallizationPolicy,
    Evidence,
    evidence_for,
    fold_scenarios,
    group_scenarios,
    mask_scenarios,
    split_rule,
    wilson_lower_bound,
    window_scenarios,
)
from loom.crystal.records import (
    Candidate,
    Crystal,
    Event,
    Provenance,
    StoreSummary,
    crystal_id,
)
from loom.crystal.store import CrystalStore, warn_foreign_crystals

__all__ = [
    "DEFAULT_Z",
    "Candidate",
    "Crystal",
    "CrystalStore",
    "CrystallizationPolicy",
    "Event",
    "Evidence",
    "Provenance",
    "StoreSummary",
    "crystal_id",
    "evidence_for",
    "fold_scenarios",
    "group_scenarios",
    "mask_scenarios",
    "split_rule",
    "warn_foreign_crystals",
    "wilson_lower_bound",
    "window_scenarios",
]
