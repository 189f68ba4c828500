"""Discovery with a crystal store, and unsupervised invariants."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.constraints.ast import Implies
from loom.crystal import CrystalStore, fold_scenarios
from loom.exceptions import ForeignCrystalWarning, InvalidParameterError

QUICK = {"n_generations": 20, "patience": 8, "population_size": 32}


@pytest.fixture
def voting(datasets_dir: Path) -> loom.BitTable:
    return loom.BitTable.from_csv(datasets_dir / "voting.csv", target="party")


def test_store_crystallizes_and_adds_evidence(
    voting: loom.BitTable, tmp_path: Path
) -> None:
    path = tmp_path / "crystals.db"
    scenarios = fold_scenarios(voting, 5, random_state=0)
    with CrystalStore(path) as store:
        first = loom.discover(
            voting, "party", store=store, scenarios=scenarios, random_state=0, **QUICK
        )
        invariants = loom.discover_invariants(voting, store=store, scenarios=scenarios)
        created = store.summary()
        second = loom.discover(
            voting, "party", store=store, scenarios=scenarios, random_state=0, **QUICK
        )
        after = store.summary()
        verification = store.verify()
    assert len(first.info["crystals"]["new"]) >= 1
    assert invariants
    assert created.n_crystals >= 5  # rules and invariants
    # The second run re-measures the crystals it applied: evidence, no duplicates.
    assert set(second.info["crystals"]["evidence"]) >= set(
        first.info["crystals"]["new"]
    )
    assert after.n_events > created.n_events
    assert after.n_crystals == created.n_crystals + len(second.info["crystals"]["new"])
    texts = [crystal.text for crystal in CrystalStore(path).crystals()]
    assert len(texts) == len(set(texts))
    assert verification.ok


def test_crystals_are_fixed_rules(voting: loom.BitTable, tmp_path: Path) -> None:
    crystal = "if `physician-fee-freeze` = y and `synfuels-corporation-cutback` = n then party = republican"
    with CrystalStore(tmp_path / "crystals.db") as store:
        from loom.crystal import Candidate, Provenance, evidence_for

        scenarios = fold_scenarios(voting, 5, random_state=0)
        evidence = evidence_for([crystal], voting, scenarios, target="party")
        store.add(
            [Candidate(crystal, evidence[loom.parse(crystal)], target="party")],
            Provenance.of_table(voting),
        )
        model = loom.discover(
            voting, "party", positive="republican", store=store, random_state=3, **QUICK
        )
    conditions = [str(rule.condition) for rule in model.rules]
    assert str(loom.parse(crystal).antecedent) in conditions


def test_foreign_crystals_warn_once(voting: loom.BitTable, tmp_path: Path) -> None:
    with CrystalStore(tmp_path / "crystals.db") as store:
        loom.discover(voting, "party", store=store, random_state=0, **QUICK)
        assert store.summary().n_crystals > 0
        other = voting.slice_rows(0, 300)  # another data set: another fingerprint
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loom.discover(other, "party", store=store, random_state=0, **QUICK)
    foreign = [w for w in caught if issubclass(w.category, ForeignCrystalWarning)]
    assert len(foreign) == 1
    assert voting.fingerprint in str(foreign[0].message)
    assert other.fingerprint in str(foreign[0].message)


def test_store_must_be_crystal_store(voting: loom.BitTable) -> None:
    with pytest.raises(InvalidParameterError, match="store must be a CrystalStore"):
        loom.discover(voting, "party", store="crystals.db", **QUICK)


def planted_frame(rng: np.random.Generator, n_rows: int = 400) -> pd.DataFrame:
    """a -> b always; c and d never both; at most one of e, f, g is 'on'."""
    a = rng.random(n_rows) < 0.4
    b = a | (rng.random(n_rows) < 0.3)
    c = rng.random(n_rows) < 0.5
    d = ~c & (rng.random(n_rows) < 0.6)
    which = rng.integers(0, 4, n_rows)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": c,
            "d": d,
            "e": np.where(which == 0, "on", "off"),
            "f": np.where(which == 1, "on", "off"),
            "g": np.where(which == 2, "on", "off"),
            "noise": rng.random(n_rows) < 0.5,
        }
    )


def test_invariants_find_planted(rng: np.random.Generator) -> None:
    found = [
        str(item.constraint) for item in loom.discover_invariants(planted_frame(rng))
    ]
    assert "if a then b" in found
    assert any(text in found for text in ("if c then not d", "if d then not c"))
    assert "atmost(1: e = on, f = on, g = on)" in found
    assert not any("noise" in text for text in found)


def test_invariants_hold_as_stated(rng: np.random.Generator) -> None:
    frame = planted_frame(rng)
    table = loom.BitTable.from_frame(frame)
    for item in loom.discover_invariants(table, min_confidence=0.9):
        result = loom.evaluate(item.constraint, table)
        holds = int(np.bitwise_count(result.true).sum())
        assert item.confidence >= 0.9
        if isinstance(item.constraint, Implies):
            condition = loom.evaluate(item.constraint.antecedent, table).true
            assert item.support == int(np.bitwise_count(condition & result.true).sum())
        else:
            assert item.support == holds


def test_invariants_deterministic(rng: np.random.Generator) -> None:
    frame = planted_frame(rng)
    first = [str(i) for i in loom.discover_invariants(frame, random_state=4)]
    second = [str(i) for i in loom.discover_invariants(frame, random_state=4)]
    assert first == second


def test_invariants_reject_bad_options(rng: np.random.Generator) -> None:
    with pytest.raises(InvalidParameterError, match="max_literals must be an int >= 1"):
        loom.discover_invariants(planted_frame(rng), max_literals=0)
    with pytest.raises(
        InvalidParameterError, match=r"min_confidence must be in \(0, 1\]"
    ):
        loom.discover_invariants(planted_frame(rng), min_confidence=1.5)
