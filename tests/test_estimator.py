"""LoomClassifier: scikit-learn's estimator checks, and use in pipelines, search,
clone and pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from loom import LoomClassifier, RuleSet
from loom.exceptions import InvalidParameterError, TargetError

# Small searches keep each of the checks' many fits well under a second.
FAST = {"n_generations": 8, "population_size": 16, "patience": 5}


@parametrize_with_checks([LoomClassifier(**FAST)])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def mixed_data(
    rng: np.random.Generator, n_rows: int = 120
) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric, boolean and text features with missing values; the target is
    'sick' exactly for smokers over 50, and the colors are noise."""
    X = pd.DataFrame(
        {
            "age": rng.integers(20, 80, n_rows).astype(float),
            "smoker": rng.random(n_rows) < 0.5,
            "color": rng.choice(
                np.array(["red", "blue", "green"], dtype=object), n_rows
            ),
        }
    )
    X.loc[::7, "color"] = None
    X.loc[3::11, "age"] = np.nan
    sick = X["smoker"] & (X["age"] > 50)  # NaN > 50 is False
    return X, pd.Series(np.where(sick, "sick", "well"), name="status")


def test_fit_sets_fitted_attributes(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(**FAST).fit(X, y)
    assert isinstance(model.rules_, RuleSet)
    assert model.n_features_in_ == 3
    assert list(model.feature_names_in_) == ["age", "smoker", "color"]
    assert list(model.classes_) == ["sick", "well"]


def test_fit_names_target_after_series(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(**FAST).fit(X, y)
    assert model.rules_.target == "status"
    assert "then status = " in str(model.rules_)


def test_fit_learns_concept_with_missing_values(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(n_generations=30, population_size=32).fit(X, y)
    assert model.score(X, y) == 1.0
    features = {name for rule in model.rules_.rules for name in _features(rule)}
    assert features == {"age", "smoker"}


def _features(rule) -> set[str]:
    from loom.constraints.ast import features

    return set(features(rule.condition))


def test_classes_keep_original_values() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array([10, 10, 20, 20] * 10)
    model = LoomClassifier(**FAST).fit(X, y)
    assert model.classes_.dtype == y.dtype
    assert list(model.classes_) == [10, 20]
    predicted = model.predict(X)
    assert predicted.dtype == y.dtype
    np.testing.assert_array_equal(predicted, y)


def test_boolean_labels_stay_booleans() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array([True, True, False, False] * 10)
    model = LoomClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, [False, True])
    np.testing.assert_array_equal(model.predict(X), y)


def test_missing_value_text_label_gets_class_names() -> None:
    # "?" reads as a missing value in a table, so the classes get generated names.
    X = np.array([["a"], ["b"], ["a"], ["b"]] * 10, dtype=object)
    y = np.array(["?", "ok", "?", "ok"] * 10, dtype=object)
    model = LoomClassifier(**FAST).fit(X, y)
    assert set(model.rules_.classes) == {"class0", "class1"}
    np.testing.assert_array_equal(model.predict(X), y)


def test_string_array_input() -> None:
    X = np.array([["x", "low"], ["o", "high"], ["x", "high"], ["o", "low"]] * 10)
    y = np.array(["p", "n", "p", "n"] * 10)
    model = LoomClassifier(positive="p", **FAST).fit(X, y)
    assert str(model.rules_.rules[0].condition) in {"x0 = x", "x0 != o"}
    np.testing.assert_array_equal(model.predict(X), y)


def test_unseen_value_predicts_without_warning() -> None:
    X = pd.DataFrame({"color": ["red", "blue"] * 20})
    y = np.array([1, 0] * 20)
    model = LoomClassifier(**FAST).fit(X, y)
    new = pd.DataFrame({"color": ["purple", "red"]})
    # pytest turns warnings into errors, so an UnseenValueWarning would fail here.
    predicted = model.predict(new)
    assert predicted[1] == 1


def test_predict_proba_matches_predict(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(**FAST).fit(X, y)
    probabilities = model.predict_proba(X)
    assert probabilities.shape == (len(X), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        model.classes_[np.argmax(probabilities, axis=1)], model.predict(X)
    )


def test_predict_proba_columns_follow_classes() -> None:
    # Text labels sort one way in numpy ("10" < "9") and another in the encoder.
    X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array(["9", "9", "10", "10"] * 10)
    model = LoomClassifier(**FAST).fit(X, y)
    assert list(model.classes_) == ["10", "9"]
    probabilities = model.predict_proba(X[:4])
    assert probabilities[0, 1] > 0.5
    assert probabilities[2, 0] > 0.5


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_unfitted_model_raises(method: str) -> None:
    X = np.zeros((4, 2))
    arguments = (X, np.zeros(4)) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(LoomClassifier(), method)(*arguments)


def test_one_class_is_rejected() -> None:
    with pytest.raises(TargetError, match="y has one class"):
        LoomClassifier(**FAST).fit(np.zeros((5, 2)), ["a"] * 5)


def test_positive_picks_rule_class() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array([1, 1, 0, 0] * 10)
    for positive in (0, 1):
        model = LoomClassifier(positive=positive, **FAST).fit(X, y)
        assert model.rules_.positive == str(positive)
        np.testing.assert_array_equal(model.predict(X), y)


def test_unknown_positive_is_rejected() -> None:
    X = np.array([[0.0], [1.0]] * 10)
    with pytest.raises(InvalidParameterError, match=r"positive=2 is not a class of y"):
        LoomClassifier(positive=2, **FAST).fit(X, [0, 1] * 10)


@pytest.mark.parametrize(
    "random_state",
    [-1, 1.5, True, np.random.RandomState(0)],
    ids=["negative", "float", "bool", "RandomState"],
)
def test_bad_random_state_is_rejected(random_state: object) -> None:
    X = np.array([[0.0], [1.0]] * 10)
    with pytest.raises(InvalidParameterError, match="random_state must be None"):
        LoomClassifier(random_state=random_state, **FAST).fit(X, [0, 1] * 10)


def test_bad_search_option_is_rejected() -> None:
    X = np.array([[0.0], [1.0]] * 10)
    with pytest.raises(InvalidParameterError, match="max_rules must be an int >= 1"):
        LoomClassifier(max_rules=0).fit(X, [0, 1] * 10)


def test_seeded_fits_are_identical(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    first = LoomClassifier(random_state=3, **FAST).fit(X, y)
    second = LoomClassifier(random_state=3, **FAST).fit(X, y)
    assert str(first.rules_) == str(second.rules_)


@pytest.mark.parametrize("random_state", [None, "generator"], ids=["None", "Generator"])
def test_random_state_accepts_none_and_generator(
    random_state: object, rng: np.random.Generator
) -> None:
    X, y = mixed_data(rng)
    if random_state == "generator":
        random_state = np.random.default_rng(5)
    model = LoomClassifier(random_state=random_state, **FAST).fit(X, y)
    assert model.score(X, y) > 0.8
    assert model.random_state is random_state  # the parameter is stored unchanged


def test_clone_copies_parameters_only(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(max_rules=4, kinds={"age": "numeric"}, **FAST).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "rules_")


def test_pickle_round_trip_predicts_same(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    model = LoomClassifier(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert str(restored.rules_) == str(model.rules_)


def _select_age_and_smoker(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["age", "smoker"]]


def test_pipeline_fits_and_predicts(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    pipeline = Pipeline(
        [
            ("select", FunctionTransformer(_select_age_and_smoker)),
            ("rules", LoomClassifier(n_generations=30, population_size=32)),
        ]
    )
    pipeline.fit(X, y)
    assert pipeline.score(X, y) == 1.0
    assert list(pipeline.named_steps["rules"].feature_names_in_) == ["age", "smoker"]


def test_grid_search_picks_parameters(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    search = GridSearchCV(
        LoomClassifier(positive="sick", **FAST), {"max_literals_per_rule": [1, 2]}, cv=3
    )
    search.fit(X, y)
    # Rules of one literal cannot say "smoker and age > 50"; rules of two can.
    assert search.best_params_ == {"max_literals_per_rule": 2}
    assert isinstance(search.best_estimator_.rules_, RuleSet)


def test_cross_validation_on_frame(rng: np.random.Generator) -> None:
    X, y = mixed_data(rng)
    scores = cross_val_score(LoomClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.8
