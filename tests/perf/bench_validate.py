"""Benchmark: validate + profile vs pandera on 1,000,000 rows x 25 columns (DESIGN.md target).

Run: ``.venv/bin/python tests/perf/bench_validate.py [--rows N] [--repeat K]``

The table is typed (as validate's own dataset output): 15 float64, 5 Int64, 4 categorical text
columns and a text target, seeded, with a few nulls. A first, untimed validate run infers the
contract; the timed run validates against it, so the contract checks (kinds, ranges, categories)
run, and then computes the profile. pandera (``pandera.pandas``) runs the same checks: dtypes,
nullable, ``in_range`` for the ranges, ``isin`` for the categories and, at the frame level,
``unique=`` over every column (the duplicate-row check). What pandera does not do here: count
coerced cells, class balance and min_class_count, constant columns, the profile.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from components._shared.profile import compute_profile
from components.validate.validation import validate_frame

TARGET = "label"


def make_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """15 float, 5 integer, 4 categorical feature columns and a yes/no target, seeded."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(15):
        x = rng.normal(loc=i, scale=1 + i, size=rows)
        if i % 3 == 0:
            x[rng.random(rows) < 0.01] = np.nan
        data[f"f{i}"] = x
    for i in range(5):
        ints = rng.integers(0, 10 ** (i + 1), size=rows)
        mask = rng.random(rows) < (0.005 if i % 2 else 0.0)
        data[f"i{i}"] = pd.arrays.IntegerArray(ints, mask)
    for i, cardinality in enumerate((5, 20, 100, 1000)):
        vocabulary = np.array([f"c{i}_{v:04d}" for v in range(cardinality)], dtype=object)
        data[f"c{i}"] = vocabulary[rng.integers(0, cardinality, size=rows)]
    data[TARGET] = np.array(["no", "yes"], dtype=object)[(rng.random(rows) < 0.3).astype(int)]
    return pd.DataFrame(data)


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Fastest wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frame = make_frame(args.rows)
    params = dict(
        target=TARGET,
        positive_label="yes",
        id_columns=[],
        time_column="",
        max_null_fraction=0.05,
        min_class_count=10,
    )
    contract = validate_frame(frame, expected=None, **params).schema  # type: ignore[arg-type]
    assert contract is not None

    def ours() -> None:
        result = validate_frame(frame, expected=contract, **params)  # type: ignore[arg-type]
        result.raise_for_errors()
        compute_profile(result.frame, contract, encoded=result.encoded)

    def validate_only() -> None:
        validate_frame(frame, expected=contract, **params).raise_for_errors()  # type: ignore[arg-type]

    results = [
        ("kfp-tabular validate_frame + compute_profile", best_of(args.repeat, ours)),
        ("kfp-tabular validate_frame only", best_of(args.repeat, validate_only)),
    ]
    try:
        import pandera
        import pandera.pandas as pa
    except ImportError:
        print("pandera is not installed (pip install '.[bench]'): skipping it")
    else:
        columns = {}
        for col in contract.columns:
            if col.kind in ("numeric", "integer"):
                dtype = float if col.kind == "numeric" else "Int64"
                check = pa.Check.in_range(col.minimum, col.maximum)
            else:
                dtype, check = str, pa.Check.isin(col.categories or [])
            columns[col.name] = pa.Column(dtype, check, nullable=col.nullable)
        with_unique = pa.DataFrameSchema(columns, unique=list(frame.columns))
        without_unique = pa.DataFrameSchema(columns)
        version = pandera.__version__
        results.append(
            (
                f"pandera {version}, same checks incl. unique rows",
                best_of(args.repeat, lambda: with_unique.validate(frame, lazy=True)),
            )
        )
        results.append(
            (
                f"pandera {version}, without the unique-rows check",
                best_of(args.repeat, lambda: without_unique.validate(frame, lazy=True)),
            )
        )

    print(f"\n{args.rows:,} rows x {frame.shape[1]} columns, best of {args.repeat}\n")
    print(f"| {'run':<52} | seconds |")
    print(f"|{'-' * 54}|---------|")
    for name, seconds in results:
        print(f"| {name:<52} | {seconds:7.3f} |")


if __name__ == "__main__":
    main()
