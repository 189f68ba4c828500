"""RuleSet: predictions on every kind of input, explanations, frames, and the JSON and
text forms that must round-trip exactly, also into a fresh process."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.exceptions import DataError, DataFileNotFoundError

PREDICT_SCRIPT = """
import json, sys
import pandas as pd
import loom

kind, model_path, data_path = sys.argv[1:]
if kind == "json":
    with open(model_path, encoding="utf-8") as handle:
        model = loom.RuleSet.from_json(handle.read())
else:
    model = loom.RuleSet.load(model_path)
frame = pd.read_csv(data_path, keep_default_na=False, dtype=str)
print(json.dumps({
    "predict": model.predict(frame).tolist(),
    "proba": model.predict_proba(frame).tolist(),
    "text": str(model),
}))
"""


def make_frame(seed: int, n_rows: int = 160) -> pd.DataFrame:
    """Categorical, numeric and boolean features with missing cells; y is 'high'
    exactly when grade is A or when score > 70 and active is true."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "grade": rng.choice(["A", "B", "C"], n_rows).astype(object),
            "score": rng.integers(0, 100, n_rows).astype(float),
            "active": rng.random(n_rows) < 0.5,
        }
    )
    frame.loc[5::17, "grade"] = None
    high = (frame["grade"] == "A") | ((frame["score"] > 70) & frame["active"])
    frame["y"] = np.where(high, "high", "low")
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(7)


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> loom.RuleSet:
    return loom.discover(frame, "y", positive="high", n_generations=20, random_state=1)


@pytest.fixture(scope="module")
def multiclass_model() -> loom.RuleSet:
    frame = make_frame(8)
    frame["y"] = np.where(
        frame["score"] > 66, "top", np.where(frame["score"] > 33, "mid", "low")
    )
    return loom.discover(frame, "y", n_generations=10, random_state=0)


def test_discovered_rules_fit_the_concept(
    model: loom.RuleSet, frame: pd.DataFrame
) -> None:
    assert model.kind == "rule set"
    assert model.positive == "high"
    assert model.score(frame) == 1.0


def test_predict_proba_rows_sum_to_one(
    model: loom.RuleSet, frame: pd.DataFrame
) -> None:
    probabilities = model.predict_proba(frame)
    assert probabilities.shape == (len(frame), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    labels = np.array(model.classes, dtype=object)
    np.testing.assert_array_equal(
        labels[probabilities.argmax(axis=1)], model.predict(frame)
    )


def test_predict_accepts_every_input_kind(
    model: loom.RuleSet, frame: pd.DataFrame, tmp_path: Path
) -> None:
    features = frame.drop(columns="y")
    expected = model.predict(features)
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    table = loom.BitTable.from_csv(path, schema=model.schema)
    array = features.to_numpy(dtype=object)
    for data in (frame, array, path, str(path), table):
        np.testing.assert_array_equal(model.predict(data), expected)


def test_predict_rejects_wrong_array_shape(model: loom.RuleSet) -> None:
    with pytest.raises(DataError, match=r"data must have shape \(n_samples, 3\)"):
        model.predict(np.zeros((4, 2)))


def test_explain_names_deciding_rule(model: loom.RuleSet, frame: pd.DataFrame) -> None:
    explained = model.explain(frame)
    assert list(explained.columns) == ["rule", "prediction", "text"]
    decisions = model.decisions(frame)
    names = [f"r{i + 1}" if i >= 0 else "default" for i in decisions]
    assert explained["rule"].tolist() == names
    np.testing.assert_array_equal(explained["prediction"], model.predict(frame))
    statements = {
        statement.name: str(statement.constraint) for statement in model.statements()
    }
    for name, text in zip(explained["rule"], explained["text"], strict=True):
        assert text == statements[name]


def test_explain_rule_matches_row(model: loom.RuleSet, frame: pd.DataFrame) -> None:
    explained = model.explain(frame)
    # A row that is decided by a rule satisfies that rule's condition on its own.
    decided = explained.index[explained["rule"] != "default"]
    assert len(decided) > 0
    for row in decided[:10]:
        position = int(explained.loc[row, "rule"][1:]) - 1
        condition = model.rules[position].condition
        single = frame.iloc[[row]].drop(columns="y")
        true, _ = loom.evaluate(
            condition, loom.BitTable.from_frame(single, schema=model.schema)
        )
        assert int(true[0]) == 1


def test_to_frame_columns(model: loom.RuleSet) -> None:
    table = model.to_frame()
    assert list(table.columns) == [
        "name",
        "rule",
        "prediction",
        "literals",
        "support",
        "confidence",
        "lift",
    ]
    assert len(table) == len(model.rules) + 1
    assert table["name"].iloc[-1] == "default"
    assert table["literals"].iloc[:-1].sum() == model.n_literals


def test_json_round_trip_is_exact(model: loom.RuleSet, frame: pd.DataFrame) -> None:
    restored = loom.RuleSet.from_json(model.to_json())
    assert restored == model
    assert restored.to_json() == model.to_json()
    np.testing.assert_array_equal(
        restored.predict_proba(frame), model.predict_proba(frame)
    )


def test_save_load_round_trip_is_exact(
    model: loom.RuleSet, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "rules.loom"
    model.save(path)
    restored = loom.RuleSet.load(path)
    assert str(restored) == str(model)
    assert restored.rules == model.rules
    np.testing.assert_array_equal(restored.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(
        restored.predict_proba(frame), model.predict_proba(frame)
    )


def test_multiclass_save_load_round_trip(
    multiclass_model: loom.RuleSet, tmp_path: Path
) -> None:
    frame = make_frame(9)
    path = tmp_path / "list.loom"
    multiclass_model.save(path)
    restored = loom.RuleSet.load(path)
    assert restored.kind == "decision list"
    assert restored.rules == multiclass_model.rules
    np.testing.assert_array_equal(
        restored.predict_proba(frame), multiclass_model.predict_proba(frame)
    )


def test_saved_text_parses(model: loom.RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "rules.loom"
    model.save(path)
    statements = loom.parse_rules(path.read_text(encoding="utf-8"))
    assert [statement.name for statement in statements] == [
        *(f"r{i}" for i in range(1, len(model.rules) + 1)),
        "default",
    ]
    first = statements[0]
    assert first.annotation("support") == model.rules[0].support
    assert str(first.constraint) == f"if {model.rules[0].condition} then y = high"


@pytest.mark.parametrize("form", ["json", "text"])
def test_round_trip_in_fresh_process(
    form: str, model: loom.RuleSet, frame: pd.DataFrame, tmp_path: Path
) -> None:
    data_path = tmp_path / "rows.csv"
    frame.to_csv(data_path, index=False)
    model_path = tmp_path / "model"
    if form == "json":
        model_path.write_text(model.to_json(), encoding="utf-8")
    else:
        model.save(model_path)
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", PREDICT_SCRIPT, form, str(model_path), str(data_path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    rows = pd.read_csv(data_path, keep_default_na=False, dtype=str)
    assert output["predict"] == model.predict(rows).tolist()
    assert output["proba"] == model.predict_proba(rows).tolist()
    assert output["text"] == str(model)


def test_empty_rule_set_predicts_default(
    model: loom.RuleSet, frame: pd.DataFrame
) -> None:
    empty = dataclasses.replace(model, rules=())
    assert empty.n_literals == 0
    assert set(empty.predict(frame)) == {empty.default.prediction}
    assert set(empty.explain(frame)["rule"]) == {"default"}
    restored = loom.RuleSet.from_json(empty.to_json())
    assert set(restored.predict(frame)) == {empty.default.prediction}
    assert [statement.name for statement in loom.parse_rules(str(empty))] == ["default"]


def test_empty_rule_set_save_load(model: loom.RuleSet, tmp_path: Path) -> None:
    empty = dataclasses.replace(model, rules=())
    path = tmp_path / "empty.loom"
    empty.save(path)
    restored = loom.RuleSet.load(path)
    assert restored.rules == ()
    assert restored.default == empty.default


def test_load_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="rules file not found"):
        loom.RuleSet.load(tmp_path / "none.loom")


def test_load_other_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("if a then y = 1\n", encoding="utf-8")
    with pytest.raises(DataError, match="is not a rules file written by RuleSet.save"):
        loom.RuleSet.load(path)


def test_from_json_bad_text_raises() -> None:
    with pytest.raises(DataError, match="not a rule set's JSON"):
        loom.RuleSet.from_json("{not json")


def test_predict_unseen_value_is_quiet(model: loom.RuleSet) -> None:
    rows = pd.DataFrame(
        {"grade": ["Z", "A"], "score": [10.0, 10.0], "active": [False, False]}
    )
    # Warnings are errors under pytest here, so a warning would fail this call.
    predicted = model.predict(rows)
    assert predicted.tolist() == ["low", "high"]


def test_load_rejects_edited_value(model: loom.RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "rules.loom"
    model.save(path)
    text = path.read_text(encoding="utf-8")
    feature, value = next(
        (literal.feature, literal.value)
        for rule in model.rules
        for literal in loom.constraints.walk(rule.condition)
        if isinstance(literal, loom.constraints.Compare) and isinstance(literal.value, str)
    )
    edited = text.replace(f"{feature} = {value}", f"{feature} = never_seen", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(loom.DataError, match="does not fit the model's schema"):
        loom.RuleSet.load(path)
