"""Small builders shared by the drift tests: a profile from a frame, and Evidently's verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components._shared.profile import compute_profile
from components._shared.schema import ColumnSchema, Schema
from components.drift.verdicts import ColumnTests, DriftMonitor, DriftResult

TARGET = "__y__"
# Evidently's DataDriftPreset defaults: its own test per column, dataset drift at a share of 0.5.
EVIDENTLY_DEFAULTS = ColumnTests(drift_share=0.5)


def schema_for(kinds: dict[str, str]) -> Schema:
    """A schema with the given feature kinds and a dummy categorical target."""
    columns = [ColumnSchema(name=n, kind=k) for n, k in kinds.items()]
    columns.append(ColumnSchema(name=TARGET, kind="categorical", role="target"))
    return Schema(columns=columns, target=TARGET, positive_label="1", class_labels=["0", "1"])


def profile_of(frame: pd.DataFrame, kinds: dict[str, str]) -> dict:
    """The profile validate would write for ``frame`` typed as ``kinds``."""
    typed = frame.copy()
    typed[TARGET] = "1"
    return compute_profile(typed, schema_for(kinds))


def fast_verdicts(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, str],
    tests: ColumnTests = EVIDENTLY_DEFAULTS,
    chunk_rows: int = 997,
) -> DriftResult:
    """Our verdicts: the reference through its profile, the current data in chunks."""
    monitor = DriftMonitor(profile_of(reference, kinds), kinds, tests)
    for start in range(0, len(current), chunk_rows):
        monitor.update(current.iloc[start : start + chunk_rows])
    return monitor.results()


def evidently_scores(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str], **preset: object
) -> dict[str, tuple[str, float]]:
    """Evidently 0.7.23 DataDriftPreset: {column: (method display name, score)}."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c, k in kinds.items() if k in ("numeric", "integer")]
    categorical = [c for c in kinds if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset(**preset)]).run(  # type: ignore[arg-type]
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    out = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            out[config["column"]] = (config["method"], float(metric["value"]))
    return out


def rng_frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Mixed synthetic columns: continuous, heavy-tailed, discrete, few-valued, categorical."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "normal": rng.normal(shift, 1.0, rows),
            "lognormal": rng.lognormal(0.0, 1.0 + shift, rows),
            "count": rng.poisson(3 + shift, rows).astype(np.float64),
            "small": rng.integers(0, 3, rows).astype(np.float64),
            "color": rng.choice(["red", "green", "blue", "grey"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": rng.choice(["yes", "no"], rows, p=[0.5 + shift / 4, 0.5 - shift / 4]),
        }
    )


KINDS = {
    "normal": "numeric",
    "lognormal": "numeric",
    "count": "integer",
    "small": "integer",
    "color": "categorical",
    "flag": "categorical",
}
