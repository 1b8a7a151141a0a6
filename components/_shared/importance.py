"""Feature importance of a trained candidate, per raw input column: booster gain or permutation.

The boosters (xgboost, LightGBM) record the loss reduction of every split, so their importance is
the total gain per feature, read from the model at no cost. The scikit-learn families have no
such common measure, so theirs is permutation importance on validation rows: how much the ROC AUC
drops when one input column's values are shuffled across rows.

Both are reported per feature (the featurizer's output columns) and per *input column*: the
features one raw column produced (its one-hot buckets, missing indicator, datetime parts) are
summed for gain and permuted *together* for permutation importance. Permuting one one-hot bucket
alone (what ``sklearn.inspection.permutation_importance`` does per matrix column) makes rows with
two buckets set or none, inputs the model never saw, and splits one column's effect into many
small pieces; a joint permutation asks the question people mean ("how much does tenure matter?").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from components._shared.featurizer.values import DATETIME_PARTS

METHOD_GAIN = "gain"
METHOD_PERMUTATION = "permutation_auc"
BOOSTER_FAMILIES = frozenset({"xgboost", "lightgbm"})
# Bounded cost: the permutation importance scores at most this many validation rows, this many
# times per input column (about 20 columns x 3 x 1,000 rows on Telco: well under a second for
# the linear model, a few seconds for a 300-tree forest).
PERMUTATION_ROWS = 1000
PERMUTATION_REPEATS = 3
CHART_TOP = 20
# The bundle manifest records the importance under training_data[MANIFEST_KEY]: the method and
# the largest MANIFEST_TOP column shares (the model card shows them too).
MANIFEST_KEY = "feature_importance"
MANIFEST_TOP = 20
CHART_WIDTH = 30


@dataclass(frozen=True)
class Importance:
    """One candidate's feature importance.

    ``features``: the raw score per featurizer output column (total gain, or mean AUC drop);
    ``columns``: per input column (or derived feature), the share of the total, summing to 1
    over the columns with a positive score (a permutation that *raised* AUC counts as 0).
    """

    method: str
    features: dict[str, float]
    columns: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: method, per-column shares (largest first), raw per-feature scores."""
        return {"method": self.method, "columns": self.columns, "features": self.features}

    def top(self, count: int = CHART_TOP) -> list[tuple[str, float]]:
        """The ``count`` largest column shares, largest first."""
        return list(self.columns.items())[:count]


def feature_sources(featurizer_state: Mapping[str, Any]) -> list[str]:
    """The input column each featurizer output column comes from, in matrix order.

    Mirrors the featurizer's own naming order (``featurizer._feature_names``): numeric columns,
    datetime parts, derived features (interactions and rolling aggregates, attributed to their
    own name: they have several inputs), missing indicators, booleans, categorical buckets.
    """
    numeric, dates = featurizer_state["numeric"], featurizer_state["datetime"]
    derived = list(featurizer_state["interactions"]) + list(featurizer_state["rolling"])
    booleans, categorical = featurizer_state["boolean"], featurizer_state["categorical"]
    sources = [s["column"] for s in numeric]
    sources += [d["column"] for d in dates for _ in DATETIME_PARTS]
    sources += [s["name"] for s in derived]
    sources += [s["column"] for s in numeric if s["missing_indicator"]]
    sources += [d["column"] for d in dates if d["missing_indicator"]]
    sources += [s["name"] for s in derived if s["missing_indicator"]]
    sources += [s["column"] for s in booleans]
    sources += [s["column"] for s in booleans if s["missing_indicator"]]
    for s in categorical:
        sources += [s["column"]] * (len(s["vocabulary"]) + 1 + bool(s["missing_bucket"]))
    return sources


def column_groups(feature_names: Sequence[str], featurizer_state: Mapping[str, Any]) -> list[str]:
    """Source column per feature; each feature its own group when the state does not line up
    with ``feature_names`` (a featurizer format this module does not know)."""
    try:
        sources = feature_sources(featurizer_state)
    except (KeyError, TypeError):
        return list(feature_names)
    return sources if len(sources) == len(feature_names) else list(feature_names)


def booster_gain(family: str, booster: Any, n_features: int) -> np.ndarray:
    """Total gain per feature index of an xgboost or LightGBM booster (0 for unused features)."""
    gain = np.zeros(n_features, dtype=np.float64)
    if family == "lightgbm":
        values = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
        gain[: values.shape[0]] = values
        return gain
    # xgboost names features f0, f1, ... when the DMatrix had no names (train passes a matrix).
    for name, value in booster.get_score(importance_type="total_gain").items():
        index = int(name[1:]) if name.startswith("f") and name[1:].isdigit() else -1
        if 0 <= index < n_features:
            gain[index] = float(value)
    return gain


def permutation_drop(
    predict_proba: Any,
    features: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str],
    *,
    seed: int,
    rows: int = PERMUTATION_ROWS,
    repeats: int = PERMUTATION_REPEATS,
) -> dict[str, float]:
    """Mean ROC AUC drop per group when the group's features are shuffled across rows, jointly.

    At most ``rows`` rows (a seeded stratified-enough random subset) and ``repeats`` shuffles per
    group: the cost is ``len(set(groups)) * repeats`` predictions on ``rows`` rows.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    if labels.shape[0] > rows:
        keep = np.sort(rng.choice(labels.shape[0], size=rows, replace=False))
        features, labels = features[keep], labels[keep]
    if np.unique(labels).shape[0] < 2:
        return {}
    base = float(roc_auc_score(labels, predict_proba(features)))
    drops: dict[str, float] = {}
    for group in dict.fromkeys(groups):
        columns = [i for i, g in enumerate(groups) if g == group]
        shuffled = features.copy()
        total = 0.0
        for _ in range(repeats):
            order = rng.permutation(features.shape[0])
            shuffled[:, columns] = features[order][:, columns]
            total += base - float(roc_auc_score(labels, predict_proba(shuffled)))
        drops[group] = total / repeats
    return drops


def shares(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores as fractions of their positive total, largest first (negatives count as 0)."""
    clipped = {name: max(0.0, float(value)) for name, value in scores.items()}
    total = sum(clipped.values())
    if total <= 0:
        return {name: 0.0 for name in clipped}
    ordered = sorted(clipped.items(), key=lambda item: (-item[1], item[0]))
    return {name: value / total for name, value in ordered}


def _by_group(scores: np.ndarray, groups: Sequence[str]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for group, value in zip(groups, scores, strict=True):
        totals[group] = totals.get(group, 0.0) + float(value)
    return totals


def candidate_importance(
    model: Any,
    feature_names: Sequence[str],
    featurizer_state: Mapping[str, Any],
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    seed: int,
) -> Importance:
    """Gain for the boosters, permutation importance on the valid rows for the other families.

    Args:
        model: A trained :class:`~components._shared.families.Predictor`.
        feature_names: The featurizer's output columns (matrix order).
        featurizer_state: The fitted featurizer's ``to_dict()``, to group features by input.
        x_valid, y_valid: Validation features and 0/1 labels (permutation importance only).
        seed: Seed of the row subset and the shuffles.
    """
    groups = column_groups(feature_names, featurizer_state)
    if model.family in BOOSTER_FAMILIES:
        gain = booster_gain(model.family, model.booster, len(feature_names))
        features = {name: float(v) for name, v in zip(feature_names, gain, strict=True)}
        return Importance(METHOD_GAIN, features, shares(_by_group(gain, groups)))
    drops = permutation_drop(model.predict_proba, x_valid, y_valid, groups, seed=seed)
    # Per feature: the drop of its group, spread evenly over the group's features.
    sizes = {g: groups.count(g) for g in drops}
    features = {
        name: drops.get(g, 0.0) / sizes.get(g, 1)
        for name, g in zip(feature_names, groups, strict=True)
    }
    return Importance(METHOD_PERMUTATION, features, shares(drops))


def manifest_entry(importance: Importance, top: int = MANIFEST_TOP) -> dict[str, Any]:
    """What the bundle manifest records: the method and the ``top`` largest column shares."""
    return {
        "method": importance.method,
        "columns": {name: round(share, 6) for name, share in importance.top(top)},
        "of_columns": len(importance.columns),
    }


def describe(method: str) -> str:
    """What a method's numbers are, for a person."""
    return {
        METHOD_GAIN: "total split gain of the booster",
        METHOD_PERMUTATION: "ROC AUC drop on validation rows when the column is shuffled",
    }.get(method, method)


def render_markdown(importance: Importance, title: str, top: int = CHART_TOP) -> str:
    """A bar chart in Markdown (a table with text bars) for a KFP UI Markdown artifact."""
    how = describe(importance.method)
    rows = importance.top(top)
    largest = max((value for _, value in rows), default=0.0) or 1.0
    lines = [
        f"# Feature importance: {title}",
        "",
        f"Share of {how}, per input column (top {len(rows)} of {len(importance.columns)}).",
        "",
        "| column | share | |",
        "|---|---:|---|",
    ]
    for name, value in rows:
        bar = "█" * round(CHART_WIDTH * value / largest)
        lines.append(f"| `{name}` | {value:.1%} | {bar} |")
    return "\n".join(lines) + "\n"
