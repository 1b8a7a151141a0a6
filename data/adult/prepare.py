"""Rebuild adult.csv and adult_test.csv from the original UCI files.

The UCI files have no header, put a space after every comma, and the test file has a junk first
line and labels ending in '.' (">50K."). This script writes the same rows as plain CSV with a
header, so that the pipeline reads Adult with the same parameters as any other CSV. Missing
values stay '?', which kfp-tabular reads as null and reports.

Usage: python data/adult/prepare.py <folder holding adult.data and adult.test>
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip


def convert(source: Path, target: Path) -> int:
    """Write ``source`` (UCI format) to ``target`` as CSV with a header; return the row count."""
    rows = 0
    with source.open() as src, target.open("w", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(COLUMNS)
        for line in src:
            if not line.strip() or line.startswith("|"):
                continue  # blank trailer and the test file's "|1x3 Cross validator" line
            values = [v.strip() for v in line.split(",")]
            values[-1] = values[-1].rstrip(".")  # adult.test writes ">50K." for ">50K"
            if len(values) != len(COLUMNS):
                raise ValueError(f"{source}: expected {len(COLUMNS)} fields, got {len(values)}")
            writer.writerow(values)
            rows += 1
    return rows


def main() -> None:
    """Convert both files into this script's folder."""
    origin = Path(sys.argv[1])
    here = Path(__file__).parent
    print("adult.csv", convert(origin / "adult.data", here / "adult.csv"))
    print("adult_test.csv", convert(origin / "adult.test", here / "adult_test.csv"))


if __name__ == "__main__":
    main()
