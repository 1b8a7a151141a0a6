"""Per-column drift verdicts from the reference profile and streamed current data.

:class:`DriftMonitor` holds one summary per monitored column (``accumulate``), takes the current
data chunk by chunk (``update``) and, at the end, runs for each column the test Evidently 0.7.23
would choose (or the one asked for) on the reference profile and the summary (``results``).
Approximations are explicit: every column result carries ``exact`` and, when not exact, an
``error_bound`` on its score and a ``note`` saying where the approximation comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from components._shared import stats as shared_stats
from components._shared.errors import ConfigError, DataError, expected_got
from components._shared.profile import OTHER_BUCKET
from components.drift import stats
from components.drift.accumulate import CategoricalSummary, NumericSummary

if TYPE_CHECKING:
    from components.drift.config import DriftConfig

NUMERIC_KINDS: Final = ("numeric", "integer")
CATEGORICAL_KINDS: Final = ("categorical", "boolean")
TRUE_KEY: Final = "True"
FALSE_KEY: Final = "False"
ALL_NULL: Final = "all_null"


@dataclass(frozen=True)
class ColumnTests:
    """Which test and threshold each column gets, and the share of drifted columns at which
    the dataset drifts. ``None`` means Evidently's default (see :mod:`components.drift.stats`).

    Built from the step's parameters by :meth:`from_config`; the prediction-drift check uses
    ``ColumnTests(drift_share)`` (Evidently's choice for the score column).
    """

    drift_share: float
    num_method: str | None = None
    cat_method: str | None = None
    num_threshold: float | None = None
    cat_threshold: float | None = None
    per_column_method: Mapping[str, str] = field(default_factory=dict)
    per_column_threshold: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: DriftConfig) -> ColumnTests:
        """The tests a drift config asks for ("" and 0 mean Evidently's default)."""
        return cls(
            drift_share=config.drift_share,
            num_method=config.num_method or None,
            cat_method=config.cat_method or None,
            num_threshold=config.num_threshold or None,
            cat_threshold=config.cat_threshold or None,
            per_column_method=dict(config.per_column_method),
            per_column_threshold=dict(config.per_column_threshold),
        )

    def problems(self) -> list[str]:
        """Every unknown method and every threshold or share out of range, named."""
        found = []
        for what, method, allowed in [
            ("num_method", self.num_method, stats.NUMERIC_METHODS),
            ("cat_method", self.cat_method, stats.CATEGORICAL_METHODS),
            *[
                (f"per_column_method[{c!r}]", m, stats.METHODS)
                for c, m in self.per_column_method.items()
            ],
        ]:
            if method is not None and method not in allowed:
                found.append(expected_got(what, f"one of {list(allowed)}", repr(method)))
        for what, value in [
            ("num_threshold", self.num_threshold),
            ("cat_threshold", self.cat_threshold),
            *[(f"per_column_threshold[{c!r}]", t) for c, t in self.per_column_threshold.items()],
        ]:
            if value is not None and not (isinstance(value, int | float) and value > 0):
                found.append(expected_got(what, "a number > 0", repr(value)))
        if not 0 < self.drift_share <= 1:
            found.append(expected_got("drift_share", "a share in (0, 1]", repr(self.drift_share)))
        return found

    def method_for(self, column: str, kind: str) -> str | None:
        if column in self.per_column_method:
            return self.per_column_method[column]
        return self.num_method if kind == "numeric" else self.cat_method

    def threshold_for(self, column: str, kind: str, method: str) -> float:
        if column in self.per_column_threshold:
            return float(self.per_column_threshold[column])
        value = self.num_threshold if kind == "numeric" else self.cat_threshold
        return float(value) if value is not None else stats.DEFAULT_THRESHOLDS[method]


@dataclass
class ColumnDrift:
    """The verdict on one column (JSON-ready through :meth:`to_dict`)."""

    column: str
    kind: str  # "numeric" or "categorical" (Evidently's column types)
    method: str
    threshold: float
    score: float | None
    drifted: bool
    reference_rows: int
    current_rows: int
    current_nulls: int
    exact: bool = True
    error_bound: float = 0.0
    # "tested"; "all_null": current rows came but none held a value for the column (all null,
    # or the column absent), flagged as drift; "no_current_values": no current rows at all.
    status: str = "tested"
    note: str = ""
    unseen: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftResult:
    """Every column verdict and the dataset verdict (share of drifted columns >= drift_share)."""

    columns: list[ColumnDrift]
    drift_share: float
    current_rows: int

    @property
    def tested(self) -> list[ColumnDrift]:
        """Columns judged: tested ones, and all-null ones (judged drifted)."""
        return [c for c in self.columns if c.status in ("tested", ALL_NULL)]

    @property
    def all_null_columns(self) -> list[str]:
        """Monitored columns whose current values are all null (or absent): each is drift."""
        return [c.column for c in self.columns if c.status == ALL_NULL]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.tested if c.drifted]

    @property
    def share(self) -> float:
        tested = self.tested
        return len(self.drifted_columns) / len(tested) if tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        # Evidently: dataset drift when share_drifted_columns >= drift_share.
        return bool(self.tested) and self.share >= self.drift_share


class DriftMonitor:
    """Drift of the current data against a profile, column by column, in bounded memory.

    Args:
        profile: The reference profile (``profile.json``), with numeric ``sketch`` entries.
        columns: ``{column: schema kind}`` of the columns to monitor (numeric, integer,
            categorical or boolean).
        tests: Methods, thresholds and drift share.
    """

    def __init__(
        self, profile: Mapping[str, Any], columns: Mapping[str, str], tests: ColumnTests
    ) -> None:
        problems = tests.problems()
        if problems:
            raise ConfigError("; ".join(problems))
        self.tests = tests
        self.kinds: dict[str, str] = {}
        self.reference: dict[str, dict[str, Any]] = {}
        self.numeric: dict[str, NumericSummary] = {}
        self.categorical: dict[str, CategoricalSummary] = {}
        entries = profile.get("columns", {})
        for name, kind in columns.items():
            if name not in entries:
                raise DataError(
                    f"column {name!r}: not in the reference profile; it has {sorted(entries)}"
                )
            entry = dict(entries[name])
            if kind in NUMERIC_KINDS:
                if not entry.get("sketch"):
                    raise DataError(
                        f"column {name!r}: the profile has no numeric sketch (profile written "
                        "before drift support, or an all-null column); retrain to refresh it"
                    )
                self.kinds[name] = "numeric"
                self.numeric[name] = NumericSummary(
                    points=np.asarray(entry["sketch"]["values"], dtype=np.float64)
                )
            elif kind in CATEGORICAL_KINDS:
                self.kinds[name] = "categorical"
                self.categorical[name] = CategoricalSummary()
                if kind == "boolean":
                    entry["value_counts"] = {TRUE_KEY: entry["true"], FALSE_KEY: entry["false"]}
            else:
                raise ConfigError(
                    expected_got(
                        f"column {name!r} kind",
                        "numeric, integer, categorical or boolean",
                        repr(kind),
                    )
                )
            self.reference[name] = entry
        self.rows = 0

    def update(self, chunk: pd.DataFrame) -> None:
        """Summarise one chunk of typed current rows (columns named as in the profile)."""
        self.rows += len(chunk)
        for name, summary in self.numeric.items():
            if name in chunk.columns:
                summary.update(chunk[name].to_numpy(dtype=np.float64, na_value=np.nan))
        for name, cat in self.categorical.items():
            if name in chunk.columns:
                cat.update(_as_text(chunk[name]))

    def results(self) -> DriftResult:
        """Run the tests on everything seen so far."""
        out = []
        for name, kind in self.kinds.items():
            if kind == "numeric":
                out.append(self._numeric(name))
            else:
                out.append(self._categorical(name))
        return DriftResult(columns=out, drift_share=self.tests.drift_share, current_rows=self.rows)

    # --- numeric ------------------------------------------------------------------------------
    def _numeric(self, name: str) -> ColumnDrift:
        ref = self.reference[name]
        cur = self.numeric[name]
        values, values_exact = cur.value_counts()
        ref_rows = int(ref["count"])
        method = self.tests.method_for(name, "numeric") or stats.default_method(
            "numeric", ref_rows, _distinct(ref, values, values_exact)
        )
        threshold = self.tests.threshold_for(name, "numeric", method)
        base = ColumnDrift(
            column=name, kind="numeric", method=method, threshold=threshold, score=None,
            drifted=False, reference_rows=ref_rows, current_rows=cur.rows, current_nulls=cur.nulls,
        )  # fmt: skip
        if cur.rows == 0:
            return _no_values(base, self.rows)
        if method == stats.KS:
            _ks(base, ref, cur)
        elif method == stats.WASSERSTEIN:
            _wasserstein(base, ref, cur)
        elif method in (stats.CHISQUARE, stats.Z) or (
            int(ref["distinct"]) <= stats.VALUE_BINNING_MAX_DISTINCT
        ):
            # Counts per value: chi-square and z always, JS / PSI when the reference has few values.
            _on_values(base, ref, cur, values, values_exact)
        else:
            _on_bins(base, ref, cur)
        assert base.score is not None
        base.drifted = stats.drifted(method, base.score, threshold)
        return base

    # --- categorical --------------------------------------------------------------------------
    def _categorical(self, name: str) -> ColumnDrift:
        ref = self.reference[name]
        cur = self.categorical[name]
        ref_values = {k: int(v) for k, v in ref["value_counts"].items()}
        other = ref_values.pop(OTHER_BUCKET, 0)
        current = dict(cur.counts)
        unseen = {k: v for k, v in current.items() if k not in ref_values}
        note = ""
        exact = True
        if other:
            # The profile keeps the 50 most frequent values: the rest, and anything new, share
            # one bucket on both sides.
            current = {k: v for k, v in current.items() if k in ref_values}
            current[OTHER_BUCKET] = sum(unseen.values())
            ref_values[OTHER_BUCKET] = other
            exact = False
            note = (
                f"reference values beyond the {len(ref_values) - 1} most frequent are one "
                f"'{OTHER_BUCKET}' bucket ({other} reference rows); current values outside "
                "them join it"
            )
        keys = sorted(set(ref_values) | set(current))
        ref_counts = np.array([ref_values.get(k, 0) for k in keys], dtype=np.float64)
        cur_counts = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
        ref_rows = int(ref["count"])
        distinct = int(np.count_nonzero(ref_counts + cur_counts))
        method = self.tests.method_for(name, "categorical") or stats.default_method(
            "categorical", ref_rows, distinct
        )
        if method in (stats.KS, stats.WASSERSTEIN):
            raise ConfigError(
                expected_got(
                    f"method of categorical column {name!r}",
                    list(stats.CATEGORICAL_METHODS),
                    repr(method),
                )
            )
        threshold = self.tests.threshold_for(name, "categorical", method)
        result = ColumnDrift(
            column=name, kind="categorical", method=method, threshold=threshold, score=None,
            drifted=False, reference_rows=ref_rows, current_rows=cur.rows, current_nulls=cur.nulls,
            exact=exact, note=note, unseen=dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:20]),
        )  # fmt: skip
        if cur.rows == 0:
            return _no_values(result, self.rows)
        present = (ref_counts + cur_counts) > 0
        result.score = _count_test(method, ref_counts[present], cur_counts[present])
        result.drifted = stats.drifted(method, result.score, threshold)
        return result


def _no_values(verdict: ColumnDrift, current_rows: int) -> ColumnDrift:
    """A column without one current value: drift when current rows came (every one null, or
    the column absent), else nothing to judge."""
    if current_rows == 0:
        verdict.status, verdict.note = "no_current_values", "no current rows"
        return verdict
    verdict.status, verdict.drifted = ALL_NULL, True
    where = (
        f"all {verdict.current_nulls} current values are null"
        if verdict.current_nulls
        else f"the column is absent from all {current_rows} current rows"
    )
    verdict.note = (
        f"{where}, against {verdict.reference_rows} reference values: the model imputes every "
        "one (a broken feed or a renamed field?); flagged as drift"
    )
    return verdict


# --- numeric tests, each filling in one column's verdict ------------------------------------


def _distinct(ref: Mapping[str, Any], values: Mapping[float, int], values_exact: bool) -> int:
    """Distinct values of reference and current together, as far as the test choice needs."""
    distinct = int(ref["distinct"])
    if distinct <= 5 and values_exact:
        return len(set(ref["sketch"]["values"]) | set(values))
    if distinct <= 5:
        return 6  # more than the tracked off-point values: certainly above 5
    return distinct


def _reference_cdf(ref: Mapping[str, Any]) -> np.ndarray:
    weights = np.asarray(ref["sketch"]["counts"], dtype=np.float64)
    return np.cumsum(weights) / weights.sum()


def _ks(base: ColumnDrift, ref: Mapping[str, Any], cur: NumericSummary) -> None:
    sketch = ref["sketch"]
    statistic = stats.ks_statistic(_reference_cdf(ref), cur.interval())
    base.score = stats.ks_pvalue(statistic, base.reference_rows, cur.rows)
    if not bool(sketch["exact"]):
        base.exact = False
        base.error_bound = float(sketch["cdf_error"])
        base.note = (
            f"KS statistic {statistic:.4g} from a {len(sketch['counts'])}-point reference "
            f"sketch, within {sketch['cdf_error']:.2g} of the exact statistic"
        )


def _wasserstein(base: ColumnDrift, ref: Mapping[str, Any], cur: NumericSummary) -> None:
    sketch = ref["sketch"]
    ref_rows = base.reference_rows
    low, high = stats.wasserstein_bounds(_reference_cdf(ref), cur.interval())
    std0 = float(ref["std"]) * np.sqrt((ref_rows - 1) / ref_rows) if ref_rows > 1 else 0.0
    norm = max(std0, stats.WASSERSTEIN_MIN_STD)
    base.score = (low + high) / 2 / norm
    bound = ((high - low) / 2 + float(sketch["w1_error"])) / norm
    base.exact = bound == 0.0
    base.error_bound = bound
    if bound:
        base.note = (
            "W1 from interval counts and sums of the current values against the "
            f"{len(sketch['counts'])} reference points; |error| <= {bound:.2g}"
        )


def _on_values(
    base: ColumnDrift,
    ref: Mapping[str, Any],
    cur: NumericSummary,
    values: Mapping[float, int],
    values_exact: bool,
) -> None:
    sketch = ref["sketch"]
    ref_values = dict(zip(sketch["values"], sketch["counts"], strict=True))
    keys = sorted(set(ref_values) | set(values))
    ref_counts = np.array([ref_values.get(k, 0) for k in keys], dtype=np.float64)
    cur_counts = np.array([values.get(k, 0) for k in keys], dtype=np.float64)
    if not values_exact:
        lumped = cur.rows - cur_counts.sum()
        ref_counts, cur_counts = np.append(ref_counts, 0), np.append(cur_counts, lumped)
        base.exact = False
        base.note = (
            f"more than {len(values)} distinct current values off the reference values: "
            "they are counted as one extra value"
        )
    base.score = _count_test(base.method, ref_counts, cur_counts)


def _on_bins(base: ColumnDrift, ref: Mapping[str, Any], cur: NumericSummary) -> None:
    """JS / PSI on Sturges bins over reference and current together, as Evidently does."""
    sketch = ref["sketch"]
    weights = np.asarray(sketch["counts"], dtype=np.float64)
    low = min(float(ref["min"]), cur.minimum)
    high = max(float(ref["max"]), cur.maximum)
    edges = stats.sturges_edges(low, high, base.reference_rows + cur.rows)
    ref_hist = np.histogram(np.asarray(sketch["values"]), edges, weights=weights)[0]
    below, uncertain = cur.cumulative_below(edges[:-1])
    cur_hist = np.diff(np.append(below, cur.rows))
    ref_share, cur_share = ref_hist / ref_hist.sum(), cur_hist / cur.rows
    base.score = _share_test(base.method, ref_share, cur_share)
    ref_bound = float(sketch["cdf_error"])
    if uncertain or ref_bound:
        base.exact = False
        base.error_bound = float(uncertain / cur.rows + ref_bound)
        base.note = (
            f"{edges.size - 1} Sturges bins; current counts at bin edges spread linearly "
            "between reference points: each bin share may be off by at most "
            f"{base.error_bound:.2g}"
        )


# --- tests on counts and shares ---------------------------------------------------------------


def _count_test(method: str, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    if method == stats.CHISQUARE:
        return stats.chisquare_pvalue(ref_counts, cur_counts)
    if method == stats.Z:
        return stats.z_pvalue(ref_counts, cur_counts)
    return _share_test(method, ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum())


def _share_test(method: str, ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    if method == stats.JENSENSHANNON:
        return stats.jensenshannon_distance(ref_share, cur_share)
    if method == stats.PSI:
        return shared_stats.psi(ref_share, cur_share)
    raise ConfigError(expected_got("binned drift method", "jensenshannon or psi", repr(method)))


def _as_text(values: pd.Series) -> pd.Series:
    """Categorical values as text; booleans as "True"/"False" (the profile's true/false keys)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        mask = values.isna()
        text = values.astype(object).map({True: TRUE_KEY, False: FALSE_KEY})
        return text.where(~mask, None)
    return values
