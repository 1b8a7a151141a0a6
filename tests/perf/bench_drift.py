"""Drift verdicts on 1,000,000 rows x 25 columns (20 numeric, 5 categorical): the fast path
(profile + chunked current data) versus Evidently 0.7.23 DataDriftPreset on the same data.

Each side runs in its own subprocess so its peak memory (ru_maxrss) is its own; the data is
generated deterministically in each (same seed) and its generation is not timed. The fast
path's time includes computing the reference profile (what validate does once at training)
separately from the verdicts. Not run by CI:

    .venv/bin/python tests/perf/bench_drift.py [--rows 1000000] [--skip-evidently]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
NUMERIC, CATEGORICAL = 20, 5


def make(rows: int, seed: int, shift: bool) -> pd.DataFrame:
    """20 numeric columns of assorted shapes and 5 categorical ones; ``shift`` moves 4 of them."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(NUMERIC):
        move = 0.15 if shift and i < 3 else 0.0
        if i % 4 == 0:
            data[f"n{i}"] = rng.normal(move, 1.0, rows)
        elif i % 4 == 1:
            data[f"n{i}"] = rng.lognormal(move, 0.8, rows)
        elif i % 4 == 2:
            data[f"n{i}"] = rng.poisson(5 + 10 * move, rows).astype(np.float64)
        else:
            data[f"n{i}"] = rng.uniform(move, 1 + move, rows)
    levels = np.array([f"level_{k}" for k in range(12)], dtype=object)
    for j in range(CATEGORICAL):
        p = np.linspace(1, 2, 12)
        if shift and j == 0:
            p = p[::-1] ** 2
        data[f"c{j}"] = rng.choice(levels, rows, p=p / p.sum())
    return pd.DataFrame(data)


KINDS = {
    **{f"n{i}": "numeric" for i in range(NUMERIC)},
    **{f"c{j}": "categorical" for j in range(CATEGORICAL)},
}


def run_fast(rows: int, chunk_rows: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from components.drift.verdicts import ColumnTests, DriftMonitor
    from tests.drift.helpers import profile_of

    reference, current = make(rows, 1, False), make(rows, 2, True)
    start = time.perf_counter()
    profile = profile_of(reference, KINDS)
    profile_s = time.perf_counter() - start
    del reference
    start = time.perf_counter()
    monitor = DriftMonitor(profile, KINDS, ColumnTests(drift_share=0.5))
    for first in range(0, rows, chunk_rows):
        monitor.update(current.iloc[first : first + chunk_rows])
    result = monitor.results()
    verdict_s = time.perf_counter() - start
    return {
        "profile_s": profile_s,
        "verdict_s": verdict_s,
        "columns": {
            c.column: [c.method, c.score, c.drifted, c.error_bound] for c in result.columns
        },
        "dataset_drift": result.dataset_drift,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_evidently(rows: int) -> dict:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference, current = make(rows, 1, False), make(rows, 2, True)
    definition = DataDefinition(
        numerical_columns=[c for c, k in KINDS.items() if k == "numeric"],
        categorical_columns=[c for c, k in KINDS.items() if k == "categorical"],
    )
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    content = snapshot.dict()
    seconds = time.perf_counter() - start
    columns = {}
    for metric in content["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            columns[config["column"]] = [config["method"], metric["value"], config["threshold"]]
    return {"seconds": seconds, "columns": columns,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def _child(which: str, rows: int, chunk_rows: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--rows", str(rows), "--chunk-rows", str(chunk_rows)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--child", choices=["fast", "evidently"])
    args = parser.parse_args()
    if args.child == "fast":
        print(json.dumps(run_fast(args.rows, args.chunk_rows), default=float))
        return 0
    if args.child == "evidently":
        print(json.dumps(run_evidently(args.rows), default=float))
        return 0
    load = os.getloadavg()
    fast = _child("fast", args.rows, args.chunk_rows)
    print(f"rows={args.rows} columns={len(KINDS)} cpus={os.cpu_count()} load_avg_before={load}")
    print(f"fast: profile {fast['profile_s']:.2f} s (once, at training), verdicts "
          f"{fast['verdict_s']:.2f} s, peak RSS {fast['maxrss_mb']:.0f} MB (data of both sides included)")  # fmt: skip
    if args.skip_evidently:
        return 0
    ev = _child("evidently", args.rows, args.chunk_rows)
    print(f"evidently DataDriftPreset: {ev['seconds']:.2f} s, peak RSS {ev['maxrss_mb']:.0f} MB")
    print(f"speed-up (verdicts): {ev['seconds'] / fast['verdict_s']:.1f}x; "
          f"including the profile: {ev['seconds'] / (fast['verdict_s'] + fast['profile_s']):.1f}x")  # fmt: skip
    names = {"K-S p_value": "ks", "Wasserstein distance (normed)": "wasserstein",
             "chi-square p_value": "chisquare", "Z-test p_value": "z",
             "Jensen-Shannon distance": "jensenshannon", "PSI": "psi"}  # fmt: skip
    same, worst = 0, 0.0
    for column, (method, score, threshold) in ev["columns"].items():
        mine = fast["columns"][column]
        evident_drift = score >= threshold  # wasserstein / jensenshannon at this size
        same += int(names[method] == mine[0] and evident_drift == mine[2])
        worst = max(worst, abs(mine[1] - score))
        print(f"  {column:4s} {names[method]:14s} evidently {score:.6f}  fast {mine[1]:.6f} "
              f"(bound {mine[3]:.1e})  drift {evident_drift}/{mine[2]}")  # fmt: skip
    print(
        f"same test and decision on {same}/{len(ev['columns'])} columns; max |score diff| {worst:.2e}"
    )
    print(f"load_avg_after={os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
