"""LoomClassifier in a scikit-learn Pipeline, tuned with GridSearchCV.

Usage: python examples/classifier_pipeline.py

The iris flowers (150 rows, 4 numeric features, 3 classes) come with scikit-learn.
The grid search picks the size limits of the rules by 3-fold cross-validation; the
searches are kept short so the example runs in seconds.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from loom import LoomClassifier


def main() -> None:
    iris = load_iris(as_frame=True)
    X = iris.data
    # Species names as classes, so that the rules read "then species = setosa".
    y = iris.target.map(dict(enumerate(iris.target_names))).rename("species")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    pipeline = Pipeline(
        [
            # Rules about petals only: the sepal columns are dropped.
            (
                "petals",
                ColumnTransformer(
                    [
                        (
                            "keep",
                            "passthrough",
                            ["petal length (cm)", "petal width (cm)"],
                        )
                    ],
                    verbose_feature_names_out=False,
                ).set_output(transform="pandas"),
            ),
            ("rules", LoomClassifier(n_generations=20, population_size=32)),
        ]
    )
    grid = {"rules__max_rules": [2, 4], "rules__max_literals_per_rule": [1, 2]}
    search = GridSearchCV(pipeline, grid, cv=3)
    search.fit(X_train, y_train)

    print(f"best parameters: {search.best_params_}")
    print(f"cross-validated accuracy: {search.best_score_:.3f}")
    print(f"test accuracy: {search.score(X_test, y_test):.3f}\n")
    print(search.best_estimator_.named_steps["rules"].rules_)


if __name__ == "__main__":
    main()
