"""`LoomClassifier`: `loom.discover` as a scikit-learn classifier.

The estimator checks its input with scikit-learn's `validate_data` and hands the
features to `loom.discover`, with their pandas dtypes when X is a DataFrame. The
search options are checked by `loom.discover` when `fit` runs.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from loom.data.encode import DEFAULT_MISSING_VALUES, label_text
from loom.data.schema import Kind
from loom.evolve.discover import discover
from loom.exceptions import InvalidParameterError, TargetError

__all__ = ["LoomClassifier"]


class LoomClassifier(ClassifierMixin, BaseEstimator):
    """A classifier made of readable rules, found by `loom.discover`.

    Parameters
    ----------
    positive : object, optional
        For a two-class target, the class the rules predict (a value of `y`); the
        other class is the default. By default `discover` picks the class whose
        rules validate better.
    max_rules : int, default=32
        Maximum number of rules in the model.
    max_literals_per_rule : int, default=6
        Maximum number of literals in one rule.
    population_size : int, default=96
        NSGA-II population size.
    n_generations : int, default=150
        Maximum number of generations.
    patience : int, default=25
        Generations without a change of the Pareto front before the search stops.
    crossover_rate : float, default=0.5
        Probability that a pair of parents exchanges rules.
    mutation_rate : float, default=0.9
        Probability that a child mutates.
    inner_folds : int, default=3
        Folds of the training rows that choose the model's size; see
        `loom.discover`.
    cardinality : bool, default=True
        Offer cardinality conditions such as ``exactly(2: a = 1, b = 1, c = 1)``.
    time_budget : float, optional
        Seconds for one search; it stops at the first generation past the budget.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the search. An int gives the same rules on every fit; a Generator
        is drawn from, so successive fits differ; None draws fresh entropy.
    n_jobs : int, optional
        Threads per kernel call (default: every CPU the process may use).
    backend : {'c', 'numba', 'numpy'}, optional
        Kernel backend; default the fastest available.
    progress : bool, default=False
        Show a progress bar on stderr during `fit`.
    n_thresholds : int, default=32
        Maximum number of quantile thresholds per numeric feature.
    kinds : dict of str to {'boolean', 'categorical', 'numeric'}, optional
        Kinds for some features, keyed by feature name (``x0``, ``x1``, ... for
        arrays); the others are inferred.

    Attributes
    ----------
    rules_ : RuleSet
        The fitted rules. Their text names the target ``y``, or the name of `y`
        when it is a pandas Series.
    classes_ : ndarray of shape (n_classes,)
        The class labels, the values of `y` in sorted order.
    n_features_in_ : int
        Number of features seen during `fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,), dtype=object
        Feature names seen during `fit`, when X was a DataFrame with string
        column names.

    See Also
    --------
    loom.discover : The search behind `fit`, on a table with its target column.
    loom.RuleSet : The fitted model, with `explain`, `to_frame` and `save`.

    Notes
    -----
    Missing values (NaN, None, ``pd.NA``, and the texts ``""`` and ``"?"``) are
    allowed in X. Where a value is missing, a literal on its feature is neither true
    nor false. Values that were not seen during `fit` match no ``=`` literal.

    `predict` returns the class of highest probability in `predict_proba`, the
    first in `classes_` order on a tie. A probability is the Laplace-smoothed class
    distribution of the training rows that the deciding rule decided.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [True, True, False, False] * 10,
    ...                   "b": [True, False, True, False] * 10})
    >>> y = [1, 0, 0, 0] * 10
    >>> model = LoomClassifier(n_generations=5).fit(X, y)
    >>> print(model.rules_.rules[0].condition)
    a and b
    >>> model.predict(X.head(4))
    array([1, 0, 0, 0])
    """

    def __init__(
        self,
        *,
        positive: Any = None,
        max_rules: int = 32,
        max_literals_per_rule: int = 6,
        population_size: int = 96,
        n_generations: int = 150,
        patience: int = 25,
        crossover_rate: float = 0.5,
        mutation_rate: float = 0.9,
        inner_folds: int = 3,
        cardinality: bool = True,
        time_budget: float | None = None,
        random_state: int | np.random.Generator | None = 0,
        n_jobs: int | None = None,
        backend: str | None = None,
        progress: bool = False,
        n_thresholds: int = 32,
        kinds: Mapping[str, Kind] | None = None,
    ) -> None:
        self.positive = positive
        self.max_rules = max_rules
        self.max_literals_per_rule = max_literals_per_rule
        self.population_size = population_size
        self.n_generations = n_generations
        self.patience = patience
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.inner_folds = inner_folds
        self.cardinality = cardinality
        self.time_budget = time_budget
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.backend = backend
        self.progress = progress
        self.n_thresholds = n_thresholds
        self.kinds = kinds

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # The encoder turns missing values into cleared validity bits, and encodes
        # text and categorical columns as one literal per value.
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def fit(self, X: Any, y: ArrayLike) -> LoomClassifier:
        """Search rules that predict `y` from `X`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numbers, booleans, text or a mix (object dtype); missing values allowed.
            A DataFrame keeps the kind of each column and names the features.
        y : array-like of shape (n_samples,)
            Class labels, at least two different ones.

        Returns
        -------
        self : LoomClassifier
        """
        _check_random_state(self.random_state)
        X_checked, y_checked = validate_data(
            self, X, y, dtype=None, ensure_all_finite="allow-nan"
        )
        check_classification_targets(y_checked)
        classes, y_encoded = np.unique(y_checked, return_inverse=True)
        if len(classes) < 2:
            msg = (
                f"y has one class ({classes[0]!r}); LoomClassifier needs at least two "
                "classes to learn rules."
            )
            raise TargetError(msg)
        self.classes_ = classes
        labels = _class_labels(classes)

        frame = self._feature_frame(X, X_checked)
        target = _target_name(y, frame.columns)
        frame[target] = labels[y_encoded]
        kinds: dict[str, Kind] = dict(self.kinds or {})
        kinds[target] = "categorical"  # labels stay labels, even "true" or "1.5"

        self.rules_ = discover(
            frame,
            target,
            positive=self._positive_label(labels),
            max_rules=self.max_rules,
            max_literals_per_rule=self.max_literals_per_rule,
            population_size=self.population_size,
            n_generations=self.n_generations,
            patience=self.patience,
            crossover_rate=self.crossover_rate,
            mutation_rate=self.mutation_rate,
            inner_folds=self.inner_folds,
            cardinality=self.cardinality,
            time_budget=self.time_budget,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            backend=self.backend,
            progress=self.progress,
            n_thresholds=self.n_thresholds,
            kinds=kinds,
        )
        # Column of each class of `classes_` in the rule set's class order.
        self._proba_columns = np.array(
            [self.rules_.classes.index(label) for label in labels], dtype=np.intp
        )
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Return the class probabilities of each row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), dtype=float64
            Columns in the order of `classes_`.
        """
        check_is_fitted(self)
        X_checked = validate_data(
            self, X, dtype=None, ensure_all_finite="allow-nan", reset=False
        )
        frame = self._feature_frame(X, X_checked)
        return self.rules_.predict_proba(frame)[:, self._proba_columns]

    def predict(self, X: Any) -> NDArray[Any]:
        """Return the predicted class of each row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from `classes_`.
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(
        self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Return the accuracy of `predict` on `X` against `y`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return float(super().score(X, y, sample_weight=sample_weight))

    def _feature_frame(self, X: Any, X_checked: NDArray[Any]) -> pd.DataFrame:
        """Return the features as a DataFrame named as in `fit`.

        A DataFrame fitted with feature names keeps its column dtypes (booleans,
        categories, numbers); other input is taken from the validated array.
        """
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            return X.loc[:, list(names)]
        if names is None:
            names = [f"x{i}" for i in range(X_checked.shape[1])]
        return pd.DataFrame({name: X_checked[:, i] for i, name in enumerate(names)})

    def _positive_label(self, labels: NDArray[np.object_]) -> str | None:
        if self.positive is None:
            return None
        matches = np.flatnonzero(self.classes_ == self.positive)
        if len(matches) != 1:
            known = ", ".join(repr(value) for value in self.classes_.tolist())
            msg = (
                f"positive={self.positive!r} is not a class of y; its classes are "
                f"{known}."
            )
            raise InvalidParameterError(msg)
        return str(labels[matches[0]])


def _check_random_state(value: object) -> None:
    if value is None or isinstance(value, np.random.Generator):
        return
    if (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= 0
    ):
        return
    msg = (
        f"random_state must be None, an int >= 0 or a numpy.random.Generator, got "
        f"{value!r}."
    )
    raise InvalidParameterError(msg)


def _class_labels(classes: NDArray[Any]) -> NDArray[np.object_]:
    """Return the text each class is known by in the rules.

    That is the value's own text (``3``, ``yes``). When two classes share a text or
    one reads as a missing value, the classes are named ``class0``, ``class1``, ...
    in `classes` order instead.
    """
    labels = [label_text(value) for value in classes.tolist()]
    unusable = set(DEFAULT_MISSING_VALUES) | {"nan"}
    if len(set(labels)) < len(labels) or unusable & {label.strip() for label in labels}:
        labels = [f"class{i}" for i in range(len(classes))]
    return np.array(labels, dtype=object)


def _target_name(y: object, features: pd.Index) -> str:
    """Return the name of the target in the rules: y's own name when it is a named
    pandas Series, else ``y``, with underscores added until no feature has it."""
    name = getattr(y, "name", None) if isinstance(y, pd.Series) else None
    name = name if isinstance(name, str) and name else "y"
    feature_names = {str(feature) for feature in features}
    while name in feature_names:
        name += "_"
    return name
