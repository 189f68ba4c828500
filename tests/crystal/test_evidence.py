"""Tests of evidence across scenarios: the Wilson lower bound, counting on tables with
missing values, the crystallization policy and the scenario builders.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom import BitTable, parse
from loom.crystal import (
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
from loom.data import pack_bits, popcount, row_mask, unpack_bits
from loom.exceptions import (
    ConstantFeatureWarning,
    ConstraintError,
    InvalidParameterError,
    UnknownFeatureError,
)

# ---------------------------------------------------------------------------
# Wilson lower bound


@pytest.mark.parametrize("trials", [1, 10, 49, 1000])
def test_wilson_all_successes_formula(trials: int) -> None:
    # With p = 1 the formula reduces to n / (n + z²).
    expected = trials / (trials + DEFAULT_Z**2)
    assert wilson_lower_bound(trials, trials) == pytest.approx(expected, rel=1e-12)


def test_wilson_half_of_hundred_matches_table() -> None:
    # By hand: centre 0.5, half-width 1.96 * sqrt(0.0025 + 0.000096) / 1.0384 = 0.0962.
    assert wilson_lower_bound(50, 100) == pytest.approx(0.4038, abs=5e-5)


def test_wilson_zero_trials_and_zero_successes() -> None:
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(0, 25) == 0.0


def test_wilson_grows_with_trials_at_same_rate() -> None:
    bounds = [wilson_lower_bound(9 * n, 10 * n) for n in (1, 10, 100, 1000)]
    assert bounds == sorted(bounds)
    assert bounds[-1] < 0.9


def test_wilson_z_zero_is_plain_proportion() -> None:
    assert wilson_lower_bound(3, 4, z=0.0) == 0.75


@pytest.mark.parametrize(
    ("successes", "trials", "z", "match"),
    [
        (5, 4, DEFAULT_Z, r"need 0 <= successes <= trials, got successes=5, trials=4"),
        (-1, 4, DEFAULT_Z, r"need 0 <= successes <= trials"),
        (1.5, 4, DEFAULT_Z, r"successes must be an int, got 1\.5"),
        (True, 4, DEFAULT_Z, r"successes must be an int, got True"),
        (1, 4, -1.0, r"z must be a finite number >= 0, got -1\.0"),
        (1, 4, math.inf, r"z must be a finite number >= 0, got inf"),
    ],
    ids=["more-successes", "negative", "float", "bool", "negative-z", "infinite-z"],
)
def test_wilson_rejects_bad_input(
    successes: object, trials: int, z: float, match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        wilson_lower_bound(successes, trials, z=z)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Evidence records


def test_evidence_derives_measures() -> None:
    evidence = Evidence(
        "s", n_rows=10, n_applies=4, n_holds=3, n_conclusion=8, n_conclusion_true=4
    )
    assert evidence.confidence == 0.75
    assert evidence.lift == 1.5  # the conclusion is true on half of its known rows
    assert evidence.lower_bound == wilson_lower_bound(3, 4)


def test_evidence_undefined_measures_are_none() -> None:
    empty = Evidence(
        "s", n_rows=10, n_applies=0, n_holds=0, n_conclusion=0, n_conclusion_true=0
    )
    assert empty.confidence is None
    assert empty.lift is None
    assert empty.lower_bound == 0.0
    never = Evidence(
        "s", n_rows=10, n_applies=4, n_holds=0, n_conclusion=8, n_conclusion_true=0
    )
    assert never.confidence == 0.0
    assert never.lift is None


def test_evidence_dict_round_trip() -> None:
    evidence = Evidence(
        "fold 1/5",
        n_rows=87,
        n_applies=49,
        n_holds=48,
        n_conclusion=80,
        n_conclusion_true=50,
    )
    assert Evidence.from_dict(evidence.to_dict()) == evidence


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_holds": 50}, r"inconsistent evidence counts for 'fold 1/5': n_rows=87"),
        ({"n_applies": 90}, r"n_applies=90"),
        ({"n_conclusion_true": 40}, r"n_holds <= n_conclusion_true <= n_conclusion"),
        ({"n_rows": 2.0}, r"Evidence\.n_rows must be an int, got 2\.0"),
        ({"scenario": ""}, r"scenario must be a non-empty string"),
        ({"z": float("nan")}, r"Evidence\.z must be a finite number >= 0, got nan"),
        ({"z": "high"}, r"Evidence\.z must be a finite number"),
    ],
    ids=[
        "holds-above-applies",
        "applies-above-conclusion",
        "holds-above-true",
        "float-count",
        "empty-name",
        "nan-z",
        "text-z",
    ],
)
def test_evidence_rejects_bad_fields(change: dict[str, object], match: str) -> None:
    data = {
        "scenario": "fold 1/5",
        "n_rows": 87,
        "n_applies": 49,
        "n_holds": 48,
        "n_conclusion": 80,
        "n_conclusion_true": 50,
        "z": DEFAULT_Z,
    }
    with pytest.raises(InvalidParameterError, match=match):
        Evidence.from_dict({**data, **change})


def test_evidence_from_dict_rejects_extra_key() -> None:
    data = Evidence(
        "s", n_rows=1, n_applies=1, n_holds=1, n_conclusion=1, n_conclusion_true=1
    ).to_dict()
    with pytest.raises(InvalidParameterError, match=r"exactly the keys .*'support'"):
        Evidence.from_dict({**data, "support": 1})


# ---------------------------------------------------------------------------
# Counting on tables


@pytest.fixture
def weather() -> BitTable:
    """Eight rows with missing values in both features."""
    frame = pd.DataFrame(
        {
            "rain": [True, True, True, True, False, False, None, True],
            "wet": [True, True, False, None, True, False, True, True],
        }
    )
    return BitTable.from_frame(frame)


@pytest.fixture
def halves(weather: BitTable) -> dict[str, np.ndarray]:
    first = [True] * 4 + [False] * 4
    return mask_scenarios({"first": first, "second": [not x for x in first]}, 8)


def test_evidence_for_rule_by_hand(weather: BitTable, halves: dict) -> None:
    rule = parse("if rain then wet")
    first, second = evidence_for([rule], weather, halves)[rule]
    # First half: rain on rows 0-3; wet is known on rows 0-2 and true on 0-1.
    assert (first.n_rows, first.n_applies, first.n_holds) == (4, 3, 2)
    assert first.confidence == pytest.approx(2 / 3)
    assert first.lift == pytest.approx(1.0)  # wet is true on 2 of its 3 known rows
    # Second half: rain only on row 7, where wet holds; wet is true on 3 of 4 rows.
    assert (second.n_rows, second.n_applies, second.n_holds) == (4, 1, 1)
    assert second.lift == pytest.approx(4 / 3)
    assert second.lower_bound == wilson_lower_bound(1, 1)


def test_evidence_for_invariant_by_hand(weather: BitTable, halves: dict) -> None:
    invariant = parse("not (rain and wet)")
    first, second = evidence_for([invariant], weather, halves)[invariant]
    # Row 3 (rain, wet missing) and row 6 (rain missing, wet) are undecided.
    assert (first.n_applies, first.n_holds) == (3, 1)
    assert (second.n_applies, second.n_holds) == (3, 2)
    assert first.lift == pytest.approx(1.0)
    assert second.lift == pytest.approx(1.0)


def test_evidence_for_text_and_repeats(weather: BitTable, halves: dict) -> None:
    result = evidence_for(["if rain then wet", "if rain then wet"], weather, halves)
    assert list(result) == [parse("if rain then wet")]


def test_evidence_for_matches_row_oracle(rng: np.random.Generator) -> None:
    n_rows = 300
    frame = pd.DataFrame(
        {
            name: rng.choice(np.array([True, False, None], dtype=object), n_rows)
            for name in ("a", "b", "c")
        }
    )
    table = BitTable.from_frame(frame)
    scenarios = fold_scenarios(table, 3, random_state=5)
    rule = parse("if a and not b then c")
    result = evidence_for([rule], table, scenarios)[rule]

    def truth(value: object) -> bool | None:
        return None if value is None else bool(value)

    for evidence, mask in zip(result, scenarios.values(), strict=True):
        rows = np.flatnonzero(unpack_bits(mask, n_rows))
        applies = holds = 0
        for row in rows:
            a, b, c = (truth(frame[name][row]) for name in ("a", "b", "c"))
            condition = a is True and b is False
            if condition and c is not None:
                applies += 1
                holds += c
        assert evidence.n_rows == len(rows)
        assert evidence.n_applies == applies
        assert evidence.n_holds == holds


def test_evidence_for_rejects_single_text(weather: BitTable, halves: dict) -> None:
    with pytest.raises(InvalidParameterError, match=r"pass \['if rain then wet'\]"):
        evidence_for("if rain then wet", weather, halves)


def test_evidence_for_target_must_conclude(weather: BitTable, halves: dict) -> None:
    with pytest.raises(ConstraintError, match=r"does not conclude on the target 'wet'"):
        evidence_for(["if wet then rain"], weather, halves, target="wet")
    with pytest.raises(UnknownFeatureError, match=r"unknown feature 'party'"):
        evidence_for(["if rain then wet"], weather, halves, target="party")
    result = evidence_for(["if rain then wet"], weather, halves, target="wet")
    assert len(result) == 1


@pytest.mark.parametrize(
    ("scenarios", "match"),
    [
        ({"a": np.zeros(2, dtype=np.uint64)}, r"scenario 'a' has shape \(2,\)"),
        ({"a": np.zeros(1, dtype=np.int64)}, r"must be a packed uint64 row mask"),
        ({"a": np.array([256], dtype=np.uint64)}, r"bits set past row 7"),
        ({"": np.zeros(1, dtype=np.uint64)}, r"scenario names must be non-empty"),
        ([np.zeros(1, dtype=np.uint64)], r"scenarios must be a mapping"),
    ],
    ids=["shape", "dtype", "padding", "empty-name", "list"],
)
def test_evidence_for_rejects_bad_scenarios(
    weather: BitTable, scenarios: object, match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        evidence_for(["rain"], weather, scenarios)  # type: ignore[arg-type]


def test_split_rule_parts() -> None:
    condition, conclusion = split_rule(parse("a -> b -> c"))
    assert str(condition) == "a"
    assert conclusion == parse("b -> c")


# ---------------------------------------------------------------------------
# Policy


def evidence_list(
    bounds_pass: int, bounds_fail: int, holds: int = 50
) -> list[Evidence]:
    strong = Evidence(
        "s",
        n_rows=60,
        n_applies=holds,
        n_holds=holds,
        n_conclusion=60,
        n_conclusion_true=55,
    )
    weak = Evidence(
        "s", n_rows=60, n_applies=50, n_holds=30, n_conclusion=60, n_conclusion_true=55
    )
    return [strong] * bounds_pass + [weak] * bounds_fail


@pytest.mark.parametrize(
    ("n_pass", "n_fail", "expected"),
    [(5, 0, True), (4, 1, True), (3, 2, False), (0, 5, False), (0, 0, False)],
    ids=["all", "four-of-five", "three-of-five", "none", "no-evidence"],
)
def test_policy_share_of_scenarios(n_pass: int, n_fail: int, expected: bool) -> None:
    assert CrystallizationPolicy().passes(evidence_list(n_pass, n_fail)) is expected


def test_policy_support_counts_holding_rows() -> None:
    policy = CrystallizationPolicy(min_lower_bound=0.0, min_support=10)
    assert policy.passes(evidence_list(2, 0, holds=5))
    assert not policy.passes(evidence_list(1, 0, holds=9))


def test_policy_scenario_without_rows_fails() -> None:
    empty = Evidence(
        "s", n_rows=60, n_applies=0, n_holds=0, n_conclusion=60, n_conclusion_true=30
    )
    policy = CrystallizationPolicy(min_lower_bound=0.0)
    assert policy.passing_share(evidence_list(1, 0) + [empty]) == 0.5


def test_policy_select_keeps_order() -> None:
    a, b, c = parse("a"), parse("b"), parse("c")
    evidence = {a: evidence_list(5, 0), b: evidence_list(0, 5), c: evidence_list(4, 1)}
    assert CrystallizationPolicy().select(evidence) == [a, c]


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({"min_lower_bound": 1.5}, r"min_lower_bound must be a number in \[0, 1\]"),
        ({"min_lower_bound": True}, r"min_lower_bound must be a number"),
        ({"min_scenario_share": 0}, r"min_scenario_share must be a number in \(0, 1\]"),
        ({"min_support": -1}, r"min_support must be an int >= 0, got -1"),
        ({"min_support": 2.0}, r"min_support must be an int >= 0, got 2\.0"),
    ],
    ids=[
        "bound-above-one",
        "bound-bool",
        "share-zero",
        "support-negative",
        "support-float",
    ],
)
def test_policy_rejects_bad_parameters(parameters: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        CrystallizationPolicy(**parameters)


# ---------------------------------------------------------------------------
# Scenario builders


def test_folds_partition_rows(rng: np.random.Generator) -> None:
    table = BitTable.from_frame(pd.DataFrame({"a": rng.random(131) < 0.5}))
    folds = fold_scenarios(table, 5, random_state=3)
    masks = np.stack(list(folds.values()))
    assert list(folds) == [f"fold {i}/5" for i in range(1, 6)]
    assert np.array_equal(np.bitwise_or.reduce(masks), row_mask(131))
    assert sum(popcount(mask) for mask in masks) == 131
    sizes = [popcount(mask) for mask in masks]
    assert max(sizes) - min(sizes) <= 1


def test_folds_follow_seed(rng: np.random.Generator) -> None:
    table = BitTable.from_frame(pd.DataFrame({"a": rng.random(100) < 0.5}))
    first = fold_scenarios(table, 4, random_state=1)
    again = fold_scenarios(table, 4, random_state=1)
    other = fold_scenarios(table, 4, random_state=2)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not all(np.array_equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize(
    ("n_folds", "match"),
    [
        (1, r"n_folds must be an int >= 2, got 1"),
        (11, r"n_folds=11 is more than the 10"),
        (True, r"got True"),
    ],
    ids=["one", "more-than-rows", "bool"],
)
def test_folds_reject_bad_count(n_folds: object, match: str) -> None:
    table = BitTable.from_frame(pd.DataFrame({"a": [True, False] * 5}))
    with pytest.raises(InvalidParameterError, match=match):
        fold_scenarios(table, n_folds)  # type: ignore[arg-type]


def test_groups_of_categorical_skip_missing() -> None:
    frame = pd.DataFrame({"site": ["north", "south", None, "north", "east"]})
    table = BitTable.from_frame(frame)
    groups = group_scenarios(table, "site")
    assert list(groups) == ["site = east", "site = north", "site = south"]
    assert unpack_bits(groups["site = north"], 5).tolist() == [1, 0, 0, 1, 0]
    assert sum(popcount(mask) for mask in groups.values()) == 4


def test_groups_of_boolean_and_constant() -> None:
    frame = pd.DataFrame({"smoker": [True, False, None], "site": ["a", "a", None]})
    with pytest.warns(ConstantFeatureWarning, match=r"'site'"):
        table = BitTable.from_frame(frame)
    groups = group_scenarios(table, "smoker")
    assert list(groups) == ["smoker", "not smoker"]
    assert unpack_bits(groups["not smoker"], 3).tolist() == [0, 1, 0]
    constant = group_scenarios(table, "site")
    assert list(constant) == ["site = a"]
    assert popcount(constant["site = a"]) == 2


def test_groups_reject_numeric_and_unknown() -> None:
    table = BitTable.from_frame(pd.DataFrame({"age": [1.5, 2.5, 3.5]}))
    with pytest.raises(
        InvalidParameterError, match=r"'age' is numeric.*window_scenarios"
    ):
        group_scenarios(table, "age")
    with pytest.raises(UnknownFeatureError, match=r"unknown feature 'site'"):
        group_scenarios(table, "site")


@pytest.fixture
def years() -> BitTable:
    return BitTable.from_frame(
        pd.DataFrame({"year": [2001, 2002, 2002, 2004, None, 2001]})
    )


def window_rows(windows: dict, n_rows: int) -> dict[str, list[int]]:
    return {
        name: np.flatnonzero(unpack_bits(mask, n_rows)).tolist()
        for name, mask in windows.items()
    }


def test_windows_tile_range(years: BitTable) -> None:
    windows = window_scenarios(years, "year", window=2)
    assert window_rows(windows, 6) == {
        "year in [2001, 2003)": [0, 1, 2, 5],
        "year in [2003, 2005)": [3],
    }


def test_windows_overlap_with_step(years: BitTable) -> None:
    windows = window_scenarios(years, "year", window=2, step=1, start=2000)
    assert window_rows(windows, 6) == {
        "year in [2000, 2002)": [0, 5],
        "year in [2001, 2003)": [0, 1, 2, 5],
        "year in [2002, 2004)": [1, 2],
        "year in [2003, 2005)": [3],
        "year in [2004, 2006)": [3],
    }


def test_windows_place_rows_at_bin_minimum(rng: np.random.Generator) -> None:
    values = np.round(rng.uniform(0, 100, 400), 2)
    table = BitTable.from_frame(pd.DataFrame({"t": values}), n_thresholds=6)
    windows = window_scenarios(table, "t", window=25)
    thresholds = np.array(table.schema.feature("t").thresholds)
    bins = np.searchsorted(thresholds, values, side="left")
    placed = table.ranges["t"][bins, 0]
    start = values.min()
    for name, mask in windows.items():
        low = float(name.split("[")[1].split(",")[0])
        expected = (placed >= low) & (placed < low + 25)
        assert np.array_equal(unpack_bits(mask, 400), expected), name
    covered = np.bitwise_or.reduce(np.stack(list(windows.values())))
    assert popcount(covered) == 400
    assert start == placed.min()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"window": 0}, r"window must be > 0, got 0"),
        ({"window": math.nan}, r"window must be a finite number, got nan"),
        ({"window": 1, "step": -1}, r"step must be > 0, got -1"),
        (
            {"window": 1, "step": 1e-5},
            r"give 300001 windows, more than 100000; use a larger step",
        ),
        ({"window": 1, "start": "2001"}, r"start must be a finite number"),
    ],
    ids=["zero-window", "nan-window", "negative-step", "too-many", "text-start"],
)
def test_windows_reject_bad_options(years: BitTable, options: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        window_scenarios(years, "year", **options)


def test_windows_need_numeric_with_ranges() -> None:
    table = BitTable.from_frame(pd.DataFrame({"site": ["a", "b"], "t": [1.0, 2.0]}))
    with pytest.raises(InvalidParameterError, match=r"'site' is categorical"):
        window_scenarios(table, "site", window=1)
    bare = BitTable(table.schema, table.bits, table.valid, table.n_rows)
    with pytest.raises(InvalidParameterError, match=r"no value ranges for 't'"):
        window_scenarios(bare, "t", window=1)


def test_mask_scenarios_accepts_bools_ints_words() -> None:
    packed = mask_scenarios(
        {
            "bools": [True, False, True],
            "ints": np.array([0, 1, 1]),
            "words": np.array([4], dtype=np.uint64),
        },
        3,
    )
    assert [int(mask[0]) for mask in packed.values()] == [5, 6, 4]


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        ([True, False], r"scenario 'm' has shape \(2,\); give a boolean mask of shape"),
        ([0, 2, 1], r"scenario 'm' must hold only booleans or 0 and 1"),
        (np.array([8], dtype=np.uint64), r"scenario 'm' has bits set past row 2"),
    ],
    ids=["length", "values", "padding"],
)
def test_mask_scenarios_rejects_bad_masks(mask: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        mask_scenarios({"m": mask}, 3)


# ---------------------------------------------------------------------------
# A real data set


def test_voting_folds_match_pandas_and_policy(datasets_dir: Path) -> None:
    path = datasets_dir / "voting.csv"
    table = BitTable.from_csv(path, target="party")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    folds = fold_scenarios(table, 5, random_state=0)
    reliable = parse("if `physician-fee-freeze` = n then party = democrat")
    unreliable = parse("if `physician-fee-freeze` = y then party = democrat")
    result = evidence_for([reliable, unreliable], table, folds, target="party")

    freeze = frame["physician-fee-freeze"]
    party = frame["party"]
    for evidence, mask in zip(result[reliable], folds.values(), strict=True):
        in_fold = unpack_bits(mask, table.n_rows)
        applies = in_fold & (freeze == "n").to_numpy() & (party != "").to_numpy()
        holds = applies & (party == "democrat").to_numpy()
        assert evidence.n_rows == in_fold.sum()
        assert evidence.n_applies == applies.sum()
        assert evidence.n_holds == holds.sum()

    policy = CrystallizationPolicy()
    assert policy.passes(result[reliable])
    assert not policy.passes(result[unreliable])
    assert all(item.lift > 1 for item in result[reliable])


def test_voting_pack_bits_agree(datasets_dir: Path) -> None:
    table = BitTable.from_csv(datasets_dir / "voting.csv", target="party")
    groups = group_scenarios(table, "party")
    both = pack_bits(np.ones(table.n_rows, dtype=bool))
    union = groups["party = democrat"] | groups["party = republican"]
    assert np.array_equal(union, both & table.feature_valid("party"))


def test_kernel_counts_match_evaluation(datasets_dir: Path, rng: np.random.Generator) -> None:
    """Rules counted by the batched kernels give the counts of plain evaluation."""
    from loom.constraints.ast import And, Cardinality, Implies, Not
    from loom.crystal.evidence import _count_rows, _kernel_counts, _rule_vectors

    table = BitTable.from_csv(datasets_dir / "voting.csv", target="party")
    scenarios = fold_scenarios(table, 5, random_state=1)
    masks = np.stack(list(scenarios.values()))
    literals = [
        literal for literal in table.literals if literal.feature != "party"
    ]
    conclusions = [table.literals[c] for c in table.schema.columns_of("party")]
    rules = []
    for _ in range(60):
        picked = [literals[i] for i in rng.choice(len(literals), 3, replace=False)]
        parts = [Not(p) if rng.random() < 0.3 else p for p in picked[:2]]
        if rng.random() < 0.3:
            parts.append(Cardinality("atleast", 1, tuple(picked)))
        condition = parts[0] if len(parts) == 1 else And(tuple(parts))
        rules.append(Implies(condition, conclusions[int(rng.integers(2))]))
    counted = _kernel_counts(rules, table, masks, "party")
    assert set(counted) == set(rules)
    for rule in rules:
        expected = _count_rows(_rule_vectors(rule, table, "party"), masks)
        np.testing.assert_array_equal(counted[rule], expected, err_msg=str(rule))
