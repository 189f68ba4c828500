"""Discover rules that predict a column of a CSV file, with the Python API.

Usage: python examples/discover_rules.py [FILE.csv [TARGET]]

Without arguments it generates the tic-tac-toe endgame boards (958 rows, target y:
p when x has three in a row). TARGET defaults to the last column of the file.
"""

from __future__ import annotations

import sys

import pandas as pd

import loom
from loom.demo import tic_tac_toe


def load(argv: list[str]) -> tuple[pd.DataFrame | str, str]:
    if len(argv) > 1:
        path = argv[1]
        target = argv[2] if len(argv) > 2 else pd.read_csv(path, nrows=0).columns[-1]
        return path, str(target)
    return tic_tac_toe(), "y"


def main(argv: list[str]) -> None:
    data, target = load(argv)
    model = loom.discover(data, target, random_state=0)

    # The model prints as constraint text that loom.parse_rules reads back.
    print(model)
    print(
        f"{len(model.rules)} rules with {model.n_literals} literals, "
        f"training accuracy {model.score(data):.3f}\n"
    )

    # One row per rule with its statistics.
    print(
        model.to_frame()[["name", "support", "confidence", "lift"]].to_string(
            index=False
        )
    )

    # Which rule decided the first rows, and what it predicted.
    print()
    print(model.explain(data).head(5).to_string())


if __name__ == "__main__":
    main(sys.argv)
