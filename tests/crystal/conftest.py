"""Shared fixtures of the crystal tests: a small schema, evidence, and stores built
on real SQLite files with a fixed clock, so that two builds give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loom.constraints import BooleanAtom, Cardinality
from loom.crystal import Candidate, CrystalStore, Evidence, Provenance
from loom.data import FeatureSpec, Schema

BOOLEAN = ("false", "true")

SCHEMA = Schema(
    (
        FeatureSpec("rain", "boolean", values=BOOLEAN),
        FeatureSpec("wet", "boolean", values=BOOLEAN),
        FeatureSpec("cold", "boolean", values=BOOLEAN),
        FeatureSpec("season", "categorical", values=("summer", "winter")),
        FeatureSpec("odd | name `x`", "boolean", values=BOOLEAN),
        FeatureSpec("y", "categorical", values=("no", "yes")),
    ),
    target="y",
)
DATASET = "d" * 64
OTHER_DATASET = "e" * 64

ODD_NAME = BooleanAtom("odd | name `x`")
RULES = (
    "if rain then wet",
    "if cold and season = winter then y = yes",
    "not (rain and cold)",
    str(Cardinality("atmost", 1, (BooleanAtom("rain"), BooleanAtom("cold"), ODD_NAME))),
)


def make_evidence(applies: int, holds: int, scenario: str = "fold 1/2") -> Evidence:
    """Return evidence on a 100-row scenario whose conclusion is true on 60 rows."""
    return Evidence(
        scenario,
        n_rows=100,
        n_applies=applies,
        n_holds=holds,
        n_conclusion=100,
        n_conclusion_true=60,
    )


def candidates(texts: tuple[str, ...] = RULES) -> list[Candidate]:
    """Return one candidate per text, each with evidence on two scenarios."""
    result = []
    for index, text in enumerate(texts):
        evidence = (
            make_evidence(40 + index, 39 + index, "fold 1/2"),
            make_evidence(50 + index, 50 + index, "fold 2/2"),
        )
        target = "y" if "y =" in text else None
        result.append(Candidate(text, evidence, target=target))
    return result


class FixedClock:
    """A clock that starts at a fixed time and advances one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def build_store(path: Path) -> CrystalStore:
    """Create a store with crystals in every state and an evidence_added event."""
    store = CrystalStore(path, clock=FixedClock())
    provenance = Provenance(SCHEMA, DATASET, options={"n_generations": 5}, seed=7)
    first = store.add(candidates(), provenance)
    store.add(candidates(RULES[:2]), Provenance(SCHEMA, OTHER_DATASET, seed=8))
    store.supersede(first[2].crystal_id, first[3].crystal_id, reason="more general")
    store.retire(first[1].crystal_id, reason="contradicted by new data")
    return store


@pytest.fixture
def store_factory(tmp_path: Path) -> Iterator[Callable[[str], CrystalStore]]:
    """Open stores on files in tmp_path, and close them all at the end."""
    opened: list[CrystalStore] = []

    def make(name: str = "crystals.db") -> CrystalStore:
        store = CrystalStore(tmp_path / name, clock=FixedClock())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def filled_store(tmp_path: Path) -> Iterator[CrystalStore]:
    """A store built by `build_store`: 4 crystals, 8 events."""
    store = build_store(tmp_path / "filled.db")
    yield store
    store.close()
