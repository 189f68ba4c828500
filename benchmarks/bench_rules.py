"""Accuracy, size and fit time of Loom's rule discovery on the real data sets, beside
RIPPER and a depth-5 decision tree when they are installed.

Usage: python benchmarks/bench_rules.py [--datasets NAME ...] [--folds 5] [--json]
                                        [--no-baselines] [--data DIR]

Protocol: data sets with ``_learn`` / ``_test`` files train on learn and report test
accuracy; the others use stratified 5-fold cross-validation
(``StratifiedKFold(n_splits=5, shuffle=True, random_state=0)``), seed 0. Numeric
columns are those listed in the folder's ``index.json``. RIPPER comes from
wittgenstein and the tree from scikit-learn (``pip install -e ".[bench]"``); both run
on the same folds in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import loom

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def read(path: Path) -> pd.DataFrame:
    # Every cell as text, empty cells missing: the same reading as BitTable.from_csv.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def splits(entry: dict[str, Any], folder: Path, folds: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    name = entry["file"]
    if name.endswith("_learn.csv"):
        test = folder / name.replace("_learn", "_test")
        return [(read(folder / name), read(test))]
    from sklearn.model_selection import StratifiedKFold

    frame = read(folder / name)
    labels = frame[entry["target"]].fillna("?")
    folding = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    return [
        (frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True))
        for train, test in folding.split(np.zeros(len(frame)), labels)
    ]


def run_loom(train: pd.DataFrame, test: pd.DataFrame, entry: dict[str, Any]) -> dict[str, float]:
    kinds = {name: "numeric" for name in entry["numeric_features"]}
    started = time.perf_counter()
    model = loom.discover(train, entry["target"], kinds=kinds, random_state=0)
    seconds = time.perf_counter() - started
    return {
        "accuracy": model.score(test),
        "rules": len(model.rules),
        "literals": model.n_literals,
        "seconds": seconds,
    }


def _features(train: pd.DataFrame, test: pd.DataFrame, entry: dict[str, Any]) -> tuple[Any, ...]:
    target = entry["target"]
    numeric = set(entry["numeric_features"])
    columns = [c for c in train.columns if c != target]
    both = pd.concat([train[columns], test[columns]], ignore_index=True)
    for column in columns:
        if column in numeric:
            both[column] = pd.to_numeric(both[column], errors="coerce")
    return both, columns, numeric


def run_ripper(train: pd.DataFrame, test: pd.DataFrame, entry: dict[str, Any]) -> dict[str, float] | None:
    try:
        import wittgenstein
    except ImportError:
        return None
    target = entry["target"]
    classes = sorted(train[target].dropna().unique())
    if len(classes) != 2:
        return None
    # RIPPER learns rules for its positive class; it is given the minority class.
    positive = min(classes, key=lambda c: ((train[target] == c).sum(), c))
    started = time.perf_counter()
    model = wittgenstein.RIPPER(random_state=0)
    frame = train.dropna(subset=[target]).copy()
    both, columns, numeric = _features(frame, test, entry)
    x_train = both.iloc[: len(frame)].reset_index(drop=True)
    x_test = both.iloc[len(frame) :].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, frame[target].reset_index(drop=True), pos_class=positive)
        seconds = time.perf_counter() - started
        predicted = model.predict(x_test)
    truth = (test[target] == positive).to_numpy()
    known = test[target].notna().to_numpy()
    accuracy = float(np.mean(np.asarray(predicted)[known] == truth[known]))
    rules = model.ruleset_.rules
    return {
        "accuracy": accuracy,
        "rules": len(rules),
        "literals": sum(len(rule.conds) for rule in rules),
        "seconds": seconds,
    }


def run_tree(train: pd.DataFrame, test: pd.DataFrame, entry: dict[str, Any]) -> dict[str, float] | None:
    try:
        from sklearn.tree import DecisionTreeClassifier
    except ImportError:
        return None
    target = entry["target"]
    frame = train.dropna(subset=[target])
    both, columns, numeric = _features(frame, test, entry)
    encoded = pd.get_dummies(
        both, columns=[c for c in columns if c not in numeric], dummy_na=True
    ).fillna(-1e9)
    x_train = encoded.iloc[: len(frame)]
    x_test = encoded.iloc[len(frame) :]
    started = time.perf_counter()
    tree = DecisionTreeClassifier(max_depth=5, random_state=0).fit(x_train, frame[target])
    seconds = time.perf_counter() - started
    known = test[target].notna().to_numpy()
    accuracy = float(np.mean(tree.predict(x_test)[known] == test[target].to_numpy()[known]))
    return {"accuracy": accuracy, "rules": tree.get_n_leaves(), "literals": float("nan"),
            "seconds": seconds}


def summarize(results: list[dict[str, float]]) -> dict[str, float]:
    return {
        "accuracy": float(np.mean([r["accuracy"] for r in results])),
        "rules": float(np.mean([r["rules"] for r in results])),
        "literals": float(np.mean([r["literals"] for r in results])),
        "seconds": float(statistics.median(r["seconds"] for r in results)),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the CSV files and index.json")
    parser.add_argument("--datasets", nargs="*", help="file stems to run (default: all)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--no-baselines", action="store_true", help="skip RIPPER and the tree")
    parser.add_argument("--json", action="store_true", help="print a JSON object last")
    options = parser.parse_args(argv)

    index = json.loads((options.data / "index.json").read_text())
    entries = [e for e in index if not e["file"].endswith("_test.csv")]
    if options.datasets:
        entries = [e for e in entries if any(e["file"].startswith(n) for n in options.datasets)]
    header = f"{'data set':<18} {'method':<7} {'accuracy':>8} {'rules':>6} {'literals':>8} {'fit s':>7}"
    print(header)
    report: dict[str, Any] = {}
    for entry in entries:
        name = entry["file"].replace("_learn", "").removesuffix(".csv")
        folds = splits(entry, options.data, options.folds)
        methods = {"loom": run_loom}
        if not options.no_baselines:
            methods.update({"ripper": run_ripper, "tree": run_tree})
        report[name] = {}
        for method, function in methods.items():
            results = [function(train, test, entry) for train, test in folds]
            if any(result is None for result in results):
                continue
            summary = summarize(results)
            report[name][method] = summary
            print(
                f"{name:<18} {method:<7} {summary['accuracy']:8.3f} {summary['rules']:6.1f} "
                f"{summary['literals']:8.1f} {summary['seconds']:7.2f}",
                flush=True,
            )
    if options.json:
        print(json.dumps(report, sort_keys=True))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
