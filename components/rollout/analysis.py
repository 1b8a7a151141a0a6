"""Canary analysis: is the canary as healthy as stable, and does it score the same population?

Per step, canary against stable (both as :class:`SideWindow`):

- **error rate**: failed / sent requests; the canary may exceed stable by at most
  ``max_error_rate_increase`` (absolute).
- **p95 latency**: the canary's over stable's; fails only when the ratio is above
  ``max_latency_ratio`` *and* the canary is slower by more than ``min_latency_delta_ms``, so
  that sub-millisecond jitter on a shared machine is not a regression.
- **score shift**: PSI over the runtime's score-histogram buckets, merged into bins holding at
  least a tenth of stable's scores each (20 fixed buckets with a few hundred scores would make
  PSI mostly noise), and the two-sample Kolmogorov-Smirnov test on the raw scores when they are
  known (locally), else on the bucketed distribution (from Prometheus).
- **A/B with labels** (:func:`ab_test`), when a feedback dataset gives outcomes: accuracy by
  chi-square on the 2x2 table, log loss by Welch's t-test, confidence intervals of both
  differences, the sample size per arm needed to see ``min_detectable_effect``, and a
  recommendation. Only a significant loss blocks; too few labels is reported, not blocking.

Every check carries its numbers and a sentence naming the metric; the decision's reasons are
those sentences.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from scipy import stats as sps
from scipy.stats import chi2

from components._shared.stats import psi, row_log_loss

if TYPE_CHECKING:
    from components.rollout.config import RolloutConfig

ERROR_RATE: Final = "error_rate"
LATENCY_P95: Final = "latency_p95"
SCORE_PSI: Final = "score_psi"
SCORE_KS: Final = "score_ks"
AB_TEST: Final = "ab_test"
# Scores a side needs before PSI/KS on it mean anything.
MIN_SCORES: Final = 50
# Client-observed latencies per side below which a local window's p95 is not judged: from 30
# requests a p95 is the second-largest one, and one scheduling hiccup of a shared machine (seen:
# a twin canary at 12.6 ms against 3.3 ms at a 50 % step of 30 requests) would roll it back.
MIN_LATENCY_SAMPLES: Final = 100
# Each merged PSI bin holds at least this share of stable's scores (at most 10 bins).
PSI_MIN_BIN_SHARE: Final = 0.1


@dataclass(frozen=True)
class Bounds:
    """What the canary must meet at every step: the config's check bounds (:meth:`of`)."""

    max_error_rate_increase: float
    max_latency_ratio: float
    min_latency_delta_ms: float
    max_psi: float
    min_ks_p_value: float
    alpha: float
    power: float
    min_detectable_effect: float

    @classmethod
    def of(cls, config: RolloutConfig) -> Bounds:
        """The bounds a rollout's config sets (each read from the config, its one declaration)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass
class SideWindow:
    """What one side (stable or canary) did in an analysis window.

    ``score_counts`` are per-bucket (not cumulative) counts over ``score_bounds`` (upper bounds,
    the last ``inf``); ``scores`` are the raw scores when the client saw them;
    ``latencies_ms`` the raw latencies when known, else ``latency_p95_value_ms`` from a query.
    """

    side: str
    requests: int = 0
    errors: int = 0
    latencies_ms: np.ndarray | None = None
    latency_p95_value_ms: float | None = None
    latency_source: str = ""
    score_bounds: np.ndarray | None = None
    score_counts: np.ndarray | None = None
    scores: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def latency_p95_ms(self) -> float | None:
        if self.latencies_ms is not None and self.latencies_ms.size:
            return float(np.percentile(self.latencies_ms, 95))
        return self.latency_p95_value_ms

    @property
    def scored(self) -> int:
        if self.scores is not None:
            return int(self.scores.size)
        return int(self.score_counts.sum()) if self.score_counts is not None else 0

    def summary(self) -> dict[str, Any]:
        """The numbers of this window, JSON-ready."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": _round(self.error_rate),
            "latency_p95_ms": _round(self.latency_p95_ms),
            "latency_source": self.latency_source,
            "scored_rows": self.scored,
            "mean_score": _round(float(self.scores.mean()))
            if self.scores is not None and self.scores.size
            else None,
            **self.extra,
            **({"error_examples": self.error_examples[:3]} if self.error_examples else {}),
        }


def merge(side: str, windows: list[SideWindow]) -> SideWindow:
    """All of a side's windows as one (stable's baseline accumulates over the steps, so the
    100% step, where stable gets no traffic, still has something to compare with)."""
    out = SideWindow(side)
    lat = [w.latencies_ms for w in windows if w.latencies_ms is not None]
    scores = [w.scores for w in windows if w.scores is not None]
    counts = [w.score_counts for w in windows if w.score_counts is not None]
    for window in windows:
        out.requests += window.requests
        out.errors += window.errors
        out.error_examples += window.error_examples
        if window.latency_p95_value_ms is not None:
            out.latency_p95_value_ms = window.latency_p95_value_ms
        out.latency_source = window.latency_source or out.latency_source
        if window.score_bounds is not None:
            out.score_bounds = window.score_bounds
    out.latencies_ms = np.concatenate(lat) if lat else None
    out.scores = np.concatenate(scores) if scores else None
    out.score_counts = np.sum(counts, axis=0) if counts else None
    return out


@dataclass
class Check:
    """One comparison: its value, the bound, and whether the canary passed (None: not run)."""

    name: str
    passed: bool | None
    value: float | None
    threshold: float | None
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "value": _round(self.value),
            "threshold": self.threshold,
            "reason": self.reason,
            **({"numbers": self.numbers} if self.numbers else {}),
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return value
    return round(float(value), digits)


def check_error_rate(stable: SideWindow, canary: SideWindow, bounds: Bounds) -> Check:
    """The canary's error rate may exceed stable's by at most the threshold."""
    if not canary.requests:
        return Check(
            ERROR_RATE,
            False,
            None,
            bounds.max_error_rate_increase,
            "error_rate: no request reached the canary in the window",
        )
    c = canary.error_rate or 0.0
    s = stable.error_rate or 0.0
    increase = c - s
    ok = increase <= bounds.max_error_rate_increase
    text = (
        f"error_rate: canary {c:.4f} ({canary.errors}/{canary.requests}) vs stable {s:.4f} "
        f"({stable.errors}/{stable.requests}); increase {increase:+.4f} "
        f"{'<=' if ok else '>'} {bounds.max_error_rate_increase}"
    )
    if not ok and canary.error_examples:
        text += f"; e.g. {canary.error_examples[0]}"
    return Check(
        ERROR_RATE, ok, increase, bounds.max_error_rate_increase, text, {"canary": c, "stable": s}
    )


def check_latency(stable: SideWindow, canary: SideWindow, bounds: Bounds) -> Check:
    """p95 latency ratio, with an absolute slack below which a ratio is not a regression."""
    c, s = canary.latency_p95_ms, stable.latency_p95_ms
    if c is None or s is None or s <= 0:
        return Check(
            LATENCY_P95,
            None,
            None,
            bounds.max_latency_ratio,
            f"latency_p95: not compared (canary {c}, stable {s} ms)",
        )
    ratio = c / s
    ok = ratio <= bounds.max_latency_ratio or (c - s) <= bounds.min_latency_delta_ms
    text = (
        f"latency_p95: canary {c:.2f} ms vs stable {s:.2f} ms ({canary.latency_source}); "
        f"ratio {ratio:.3f} {'<=' if ratio <= bounds.max_latency_ratio else '>'} "
        f"{bounds.max_latency_ratio}, difference {c - s:+.2f} ms (slack {bounds.min_latency_delta_ms} ms)"
    )
    return Check(
        LATENCY_P95, ok, ratio, bounds.max_latency_ratio, text, {"canary_ms": c, "stable_ms": s}
    )


def _latency_check(
    stable: SideWindow, canary: SideWindow, bounds: Bounds, same_window: SideWindow | None
) -> Check:
    """The canary's latency against stable's under the same load.

    With a local replay (``same_window`` given), only stable's requests of this very window
    are a fair reference: the machine's load moves between windows (seen: a twin canary at
    145 ms against a 19 ms baseline from an earlier, quieter window). When stable served fewer
    than :data:`MIN_SCORES` requests in the window (the 100 % step), latency is reported as not
    compared rather than judged against another moment; so it is when either side served fewer
    than :data:`MIN_LATENCY_SAMPLES` (a p95 of a few dozen requests is their largest values). Without ``same_window`` (Prometheus on a
    cluster, where both sides serve at once), the baseline is the reference.
    """
    if same_window is None:
        return check_latency(stable, canary, bounds)
    fewest = min(same_window.requests, canary.requests)
    if same_window.requests >= MIN_SCORES and fewest < MIN_LATENCY_SAMPLES:
        return Check(
            LATENCY_P95,
            None,
            None,
            bounds.max_latency_ratio,
            f"latency_p95: not compared (canary {canary.requests}, stable {same_window.requests} "
            f"requests in this window; a p95 needs {MIN_LATENCY_SAMPLES} on each side)",
        )
    if same_window.requests >= MIN_SCORES:
        return check_latency(same_window, canary, bounds)
    return Check(
        LATENCY_P95,
        None,
        None,
        bounds.max_latency_ratio,
        f"latency_p95: not compared (stable served {same_window.requests} requests in this "
        f"window, fewer than {MIN_SCORES}: no reference under the same load)",
    )


def merged_bins(stable_counts: np.ndarray, min_share: float = PSI_MIN_BIN_SHARE) -> list[int]:
    """Start indices of bins of consecutive buckets, each holding >= ``min_share`` of stable."""
    total = float(stable_counts.sum())
    starts, acc = [0], 0.0
    for i, count in enumerate(stable_counts):
        acc += float(count)
        if acc >= min_share * total and i + 1 < len(stable_counts):
            starts.append(i + 1)
            acc = 0.0
    # The tail after the last start may be thin: fold it into the previous bin.
    if len(starts) > 1 and stable_counts[starts[-1] :].sum() < min_share * total:
        starts.pop()
    return starts


def bucket_counts(scores: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per-bucket counts of raw scores, ``le`` semantics (a score on a bound is in that bucket)."""
    slots = np.searchsorted(bounds, scores, side="left")
    return np.bincount(slots, minlength=bounds.size).astype(np.float64)


def check_psi(stable: SideWindow, canary: SideWindow, bounds: Bounds) -> Check:
    """PSI of the score distributions over merged histogram buckets."""
    if stable.score_counts is None or canary.score_counts is None:
        return Check(SCORE_PSI, None, None, bounds.max_psi, "score_psi: no score histogram")
    s, c = np.asarray(stable.score_counts, float), np.asarray(canary.score_counts, float)
    if s.sum() < MIN_SCORES or c.sum() < MIN_SCORES:
        return Check(
            SCORE_PSI,
            None,
            None,
            bounds.max_psi,
            f"score_psi: too few scores (stable {int(s.sum())}, canary {int(c.sum())}, "
            f"need {MIN_SCORES})",
        )
    starts = merged_bins(s)
    s_bins, c_bins = np.add.reduceat(s, starts), np.add.reduceat(c, starts)
    value = psi(s_bins / s.sum(), c_bins / c.sum())
    # PSI is biased upwards on small windows: for two samples of one distribution,
    # PSI * n_s n_c / (n_s + n_c) is about chi-square with (bins - 1) degrees of freedom. A twin
    # canary seen through 60 scores shows PSI ~ 0.2 by chance alone, so a PSI above the bound
    # fails the canary only when it is also beyond sampling noise at the KS significance level.
    n_eff = float(s.sum() * c.sum() / (s.sum() + c.sum()))
    p_noise = float(chi2.sf(value * n_eff, max(len(starts) - 1, 1)))
    material = value > bounds.max_psi
    ok = not (material and p_noise < bounds.min_ks_p_value)
    text = (
        f"score_psi: {value:.4f} {'>' if material else '<='} {bounds.max_psi} over {len(starts)} bins "
        f"(stable {int(s.sum())} scores, canary {int(c.sum())}); chance of that much PSI from "
        f"sampling alone p={p_noise:.3g} ({'<' if p_noise < bounds.min_ks_p_value else '>='} "
        f"{bounds.min_ks_p_value})"
    )
    numbers = {"bins": len(starts), "noise_p_value": p_noise}
    return Check(SCORE_PSI, ok, value, bounds.max_psi, text, numbers)


def check_ks(stable: SideWindow, canary: SideWindow, bounds: Bounds) -> Check:
    """Two-sample KS on scores: raw when both sides' scores are known, else bucketed."""
    if stable.scores is not None and canary.scores is not None:
        s, c = stable.scores, canary.scores
        if min(s.size, c.size) < MIN_SCORES:
            return Check(
                SCORE_KS,
                None,
                None,
                bounds.min_ks_p_value,
                f"score_ks: too few scores (stable {s.size}, canary {c.size})",
            )
        result = sps.ks_2samp(s, c)
        statistic, p_value, basis, n_s, n_c = (
            float(result.statistic),
            float(result.pvalue),
            "raw scores",
            s.size,
            c.size,
        )
    elif stable.score_counts is not None and canary.score_counts is not None:
        sc, cc = np.asarray(stable.score_counts, float), np.asarray(canary.score_counts, float)
        n_s, n_c = int(sc.sum()), int(cc.sum())
        if min(n_s, n_c) < MIN_SCORES:
            return Check(
                SCORE_KS,
                None,
                None,
                bounds.min_ks_p_value,
                f"score_ks: too few scores (stable {n_s}, canary {n_c})",
            )
        # At bucket bounds only: a lower bound of the true statistic (conservative).
        statistic = float(np.max(np.abs(np.cumsum(sc) / n_s - np.cumsum(cc) / n_c)))
        m, n = sorted([float(n_s), float(n_c)], reverse=True)
        p_value = float(sps.kstwo.sf(statistic, round(m * n / (m + n))))
        basis = "score buckets"
    else:
        return Check(SCORE_KS, None, None, bounds.min_ks_p_value, "score_ks: no scores")
    ok = p_value >= bounds.min_ks_p_value
    text = (
        f"score_ks: statistic {statistic:.4f}, p-value {p_value:.3g} "
        f"{'>=' if ok else '<'} {bounds.min_ks_p_value} ({basis}, stable {n_s}, canary {n_c})"
    )
    return Check(SCORE_KS, ok, p_value, bounds.min_ks_p_value, text, {"statistic": statistic})


def analyse_step(
    stable: SideWindow, canary: SideWindow, bounds: Bounds, *, same_window: SideWindow | None = None
) -> list[Check]:
    """Every health and score-shift check of one step.

    ``stable`` is stable's baseline (every window so far). Latency depends on the load of the
    moment: see :func:`_latency_check`.
    """
    return [
        check_error_rate(stable, canary, bounds),
        _latency_check(stable, canary, bounds, same_window),
        check_psi(stable, canary, bounds),
        check_ks(stable, canary, bounds),
    ]


# --- A/B analysis with labels -----------------------------------------------------------------


def required_sample_size(baseline: float, effect: float, alpha: float, power: float) -> int:
    """Rows per arm for a two-sided two-proportion z test to see ``baseline - effect``."""
    p1 = min(max(baseline, 1e-6), 1 - 1e-6)
    p2 = min(max(p1 - effect, 1e-6), 1 - 1e-6)
    z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    pooled = (p1 + p2) / 2
    numerator = z_a * math.sqrt(2 * pooled * (1 - pooled)) + z_b * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil((numerator / max(abs(p1 - p2), 1e-9)) ** 2)


def ab_test(
    stable_labels: np.ndarray,
    stable_scores: np.ndarray,
    canary_labels: np.ndarray,
    canary_scores: np.ndarray,
    bounds: Bounds,
    *,
    threshold: float = 0.5,
) -> Check:
    """Canary vs stable on labelled predictions: accuracy (chi-square) and log loss (Welch t).

    Blocks only on a significant accuracy loss (the confidence interval of canary - stable
    lies below 0); fewer labelled rows than the required sample size is a recommendation to
    keep collecting, recorded with both sizes.
    """
    n_s, n_c = int(stable_labels.size), int(canary_labels.size)
    if min(n_s, n_c) < 2:
        return Check(
            AB_TEST,
            None,
            None,
            bounds.alpha,
            f"ab_test: labelled predictions stable {n_s}, canary {n_c}: nothing to test",
        )
    z = float(sps.norm.ppf(1 - bounds.alpha / 2))
    accuracy = _accuracy_difference(
        (stable_scores >= threshold) == (stable_labels == 1),
        (canary_scores >= threshold) == (canary_labels == 1),
        z,
    )
    loss = _log_loss_difference(
        row_log_loss(stable_labels, stable_scores), row_log_loss(canary_labels, canary_scores), z
    )
    acc_s, acc_c = accuracy["stable_accuracy"], accuracy["canary_accuracy"]
    diff, ci = accuracy["accuracy_difference"], accuracy["accuracy_ci"]
    required = required_sample_size(acc_s, bounds.min_detectable_effect, bounds.alpha, bounds.power)
    worse = ci[1] < 0
    recommendation = _recommendation(ci, n_s, n_c, required, bounds.min_detectable_effect)
    numbers = {
        "stable_n": n_s,
        "canary_n": n_c,
        **accuracy,
        **loss,
        "required_per_arm": required,
        "recommendation": recommendation,
    }
    text = (
        f"ab_test: accuracy canary {acc_c:.4f} (n={n_c}) vs stable {acc_s:.4f} (n={n_s}), "
        f"difference {diff:+.4f}, {1 - bounds.alpha:.0%} CI [{ci[0]:+.4f}, {ci[1]:+.4f}], "
        f"chi-square p {accuracy['chi2_p_value']:.3g}; log loss difference "
        f"{loss['log_loss_difference']:+.4f} (Welch p {loss['welch_p_value']:.3g}); "
        f"need {required} per arm; {recommendation}"
    )
    return Check(AB_TEST, not worse, diff, bounds.alpha, text, numbers)


def _accuracy_difference(correct_s: np.ndarray, correct_c: np.ndarray, z: float) -> dict[str, Any]:
    """Accuracy of each arm, canary - stable with its normal CI, and the 2x2 chi-square test."""
    n_s, n_c = int(correct_s.size), int(correct_c.size)
    acc_s, acc_c = float(correct_s.mean()), float(correct_c.mean())
    diff = acc_c - acc_s
    table = np.array(
        [[correct_s.sum(), n_s - correct_s.sum()], [correct_c.sum(), n_c - correct_c.sum()]]
    )
    if (table.sum(axis=0) == 0).any():
        chi2, p_acc = 0.0, 1.0  # every row right (or wrong) on both sides: no difference
    else:
        chi2, p_acc, _, _ = sps.chi2_contingency(table, correction=False)
    se = math.sqrt(acc_s * (1 - acc_s) / n_s + acc_c * (1 - acc_c) / n_c)
    return {
        "stable_accuracy": acc_s,
        "canary_accuracy": acc_c,
        "accuracy_difference": diff,
        "accuracy_ci": [diff - z * se, diff + z * se],
        "chi2": float(chi2),
        "chi2_p_value": float(p_acc),
    }


def _log_loss_difference(loss_s: np.ndarray, loss_c: np.ndarray, z: float) -> dict[str, Any]:
    """Mean row log loss, canary - stable, with its normal CI and Welch's t-test."""
    welch = sps.ttest_ind(loss_c, loss_s, equal_var=False)
    loss_diff = float(loss_c.mean() - loss_s.mean())
    loss_se = math.sqrt(loss_c.var(ddof=1) / loss_c.size + loss_s.var(ddof=1) / loss_s.size)
    return {
        "log_loss_difference": loss_diff,
        "log_loss_ci": [loss_diff - z * loss_se, loss_diff + z * loss_se],
        "welch_t": float(welch.statistic),
        "welch_p_value": float(welch.pvalue),
    }


def _recommendation(ci: list[float], n_s: int, n_c: int, required: int, effect: float) -> str:
    if ci[1] < 0:
        return "roll back: canary accuracy significantly lower"
    if min(n_s, n_c) < required:
        return (
            f"keep collecting: {required} labelled predictions per arm needed to see a "
            f"{effect} accuracy drop, have stable {n_s}, canary {n_c}"
        )
    if ci[0] > 0:
        return "promote: canary accuracy significantly higher"
    return "promote: no significant difference at the required sample size"
