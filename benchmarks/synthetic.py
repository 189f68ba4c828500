"""Synthetic tables with planted rules, for the large-data and cluster benchmarks.

The target ``y`` is ``p`` on the rows where any planted rule is true and ``n`` elsewhere,
then a share of the labels is flipped (noise). Features: booleans ``b0 ...``,
categoricals ``c0 ...`` with values ``v0`` to ``v4``, and standard normal numbers
``x0 ...``; a tenth of the features that no rule uses have 1% missing values. Rows are
made in chunks from a seed, so a table of any size is made in bounded memory and is the
same for the same arguments.

Usage: python benchmarks/synthetic.py OUT.parquet|OUT.csv [--rows 10000000]
                                     [--features 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

# The planted rules, in the constraint language; numeric cuts sit at thresholds that
# from_parquet places exactly (the extra thresholds of PLANTED_THRESHOLDS).
PLANTED_RULES = (
    "b0 and c0 = v1",
    "x0 > 0.5 and not b1",
    "c1 = v3 and x1 <= -0.5 and b2",
)
PLANTED_THRESHOLDS = {"x0": [0.5], "x1": [-0.5]}
NOISE = 0.02
LEVELS = ("v0", "v1", "v2", "v3", "v4")


def feature_names(n_features: int) -> tuple[list[str], list[str], list[str]]:
    """Return the boolean, categorical and numeric feature names: 40%, 30%, 30%."""
    n_boolean = max(3, round(0.4 * n_features))
    n_numeric = max(2, round(0.3 * n_features))
    n_categorical = max(2, n_features - n_boolean - n_numeric)
    return (
        [f"b{i}" for i in range(n_boolean)],
        [f"c{i}" for i in range(n_categorical)],
        [f"x{i}" for i in range(n_numeric)],
    )


def planted_chunks(
    n_rows: int, *, n_features: int = 50, seed: int = 0, chunk_rows: int = 1 << 20,
    noise: float = NOISE,
) -> Iterator[pd.DataFrame]:
    """Yield the table in frames of at most `chunk_rows` rows."""
    booleans, categoricals, numerics = feature_names(n_features)
    for number, start in enumerate(range(0, n_rows, chunk_rows)):
        count = min(chunk_rows, n_rows - start)
        rng = np.random.default_rng([seed, number])
        columns: dict[str, object] = {}
        for name in booleans:
            columns[name] = rng.random(count) < 0.5
        for name in categoricals:
            codes = rng.integers(0, len(LEVELS), count)
            columns[name] = pd.Categorical.from_codes(codes, categories=list(LEVELS))
        for name in numerics:
            columns[name] = np.round(rng.normal(size=count), 3)
        frame = pd.DataFrame(columns)
        truth = planted_truth(frame)
        flip = rng.random(count) < noise
        frame["y"] = np.where(truth ^ flip, "p", "n")
        for name in (*booleans[10::10], *numerics[10::10]):
            gaps = rng.random(count) < 0.01
            frame[name] = frame[name].astype("boolean" if name[0] == "b" else "float64")
            frame.loc[gaps, name] = None
        frame.index = pd.RangeIndex(start, start + count)
        yield frame


def planted_truth(frame: pd.DataFrame) -> np.ndarray:
    """Return where some planted rule is true (the labels before noise)."""
    first = frame["b0"].to_numpy(bool) & (frame["c0"] == "v1").to_numpy()
    second = (frame["x0"].to_numpy() > 0.5) & ~frame["b1"].to_numpy(bool)
    third = (
        (frame["c1"] == "v3").to_numpy()
        & (frame["x1"].to_numpy() <= -0.5)
        & frame["b2"].to_numpy(bool)
    )
    return first | second | third


def write_csv(path: str, n_rows: int, *, n_features: int = 50, seed: int = 0) -> None:
    """Write the table to a CSV file with a header row; missing cells are empty."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for number, frame in enumerate(
            planted_chunks(n_rows, n_features=n_features, seed=seed)
        ):
            frame.to_csv(handle, index=False, header=number == 0, lineterminator="\n")


def write_parquet(path: str, n_rows: int, *, n_features: int = 50, seed: int = 0) -> None:
    """Write the table to a Parquet file, one row group per chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in planted_chunks(n_rows, n_features=n_features, seed=seed):
            batch = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch)
    finally:
        if writer is not None:
            writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="file to write: .parquet, or .csv for CSV")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    started = time.perf_counter()
    write = write_csv if arguments.out.endswith(".csv") else write_parquet
    write(arguments.out, arguments.rows, n_features=arguments.features, seed=arguments.seed)
    print(f"wrote {arguments.rows} rows in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
