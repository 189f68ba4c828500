"""Encode a CSV file into bit columns and count the rows where constraints hold.

Usage: python examples/evaluate_constraints.py [FILE.csv [TARGET]]

Without arguments it builds a small table of patients in memory.
"""

from __future__ import annotations

import sys

import pandas as pd

import loom
from loom.data import popcount


def load(argv: list[str]) -> loom.BitTable:
    if len(argv) > 1:
        target = argv[2] if len(argv) > 2 else None
        return loom.BitTable.from_csv(argv[1], target=target)
    frame = pd.DataFrame(
        {
            "smoker": [True, False, True, None, False, True],
            "age": [34, 61, 58, 45, 29, 70],
            "blood pressure": ["high", "normal", "high", "normal", "?", "high"],
            "disease": ["yes", "no", "yes", "no", "no", "yes"],
        }
    )
    return loom.BitTable.from_frame(frame, target="disease")


def main(argv: list[str]) -> None:
    table = load(argv)
    print(f"{table.n_rows} rows, {table.n_columns} bit columns:")
    for text in table.columns:
        print(f"  {text}")

    if len(argv) > 1:
        constraints = [f"atleast(1: {', '.join(table.columns[:3])})"]
    else:
        constraints = [
            "if smoker and age > 50 then disease = yes",
            "`blood pressure` = high <-> disease = yes",
            "exactly(1: smoker, age <= 40)",
        ]
    for text in constraints:
        constraint = loom.parse(text)
        true, false = loom.evaluate(constraint, table)
        unknown = table.n_rows - popcount(true) - popcount(false)
        print(f"{constraint}\n  true {popcount(true)}, false {popcount(false)}, "
              f"unknown {unknown}")


if __name__ == "__main__":
    main(sys.argv)
