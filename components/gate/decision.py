"""The decision rule (README.md, "The decision rule"): evidence and checks in, a verdict out.

Every check becomes a :class:`Reason`, passed or not, with its numbers, so the blessing records
why a challenger was blessed as well as why it was refused. A check that fails for lack of
evidence (too few rows, a champion that cannot be loaded) makes the verdict ``cannot_decide``
rather than a guess; any other failed check makes it ``refused``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

from components._shared import keys
from components._shared.stats import Interval
from components.gate.config import GateConfig
from components.gate.evidence import Evidence

# Bump when the rule changes meaning: blessings and lineage records name the rule they used.
RULE_VERSION: Final = "gate-rule/1"

CHECK_SAMPLE: Final = "sample"
CHECK_CHAMPION: Final = "champion"
CHECK_INFRA: Final = "infra"
CHECK_FLOOR: Final = "floor"
CHECK_VERSUS: Final = "versus_champion"
CHECK_SLICE: Final = "slice"
# Checks whose failure means the gate lacks the evidence to decide at all.
UNDECIDABLE: Final = frozenset({CHECK_SAMPLE, CHECK_CHAMPION})


@dataclass(frozen=True)
class Reason:
    """One check: what was checked, whether it passed, a sentence, and its numbers."""

    check: str
    name: str
    passed: bool
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """The verdict and every reason behind it."""

    blessed: bool
    verdict: str
    reasons: list[Reason]
    rule_version: str = RULE_VERSION

    @property
    def failed(self) -> list[Reason]:
        """The reasons that refused (or could not decide)."""
        return [r for r in self.reasons if not r.passed]

    def summary(self) -> str:
        """One line: the verdict and the first failed reasons."""
        if self.blessed:
            return f"blessed: all {len(self.reasons)} checks passed"
        return f"{self.verdict}: " + "; ".join(r.message for r in self.failed[:3])


def _pct(confidence: float) -> str:
    return (
        f"{confidence:.0%}" if round(confidence * 100) == confidence * 100 else f"{confidence:.4%}"
    )


def _iv(interval: Interval, method: str) -> str:
    return (
        f"{interval.estimate:.4f} [{interval.low:.4f}, {interval.high:.4f}] "
        f"({_pct(interval.confidence)} {method} interval)"
    )


def sample_guard(
    rows: int, positives: int, config: GateConfig, *, judged: str = "the test split"
) -> Reason:
    """Enough judged rows, and of each class, for the intervals to mean something.

    ``judged`` names them: "the test split", or the out-of-fold predictions (cross-validation),
    which the same ``min_test_rows`` and ``min_class_rows`` apply to.
    """
    negatives = rows - positives
    ok = (
        rows >= config.min_test_rows
        and positives >= config.min_class_rows
        and negatives >= config.min_class_rows
    )
    numbers = {
        "rows": rows,
        "positives": positives,
        "negatives": negatives,
        "min_test_rows": config.min_test_rows,
        "min_class_rows": config.min_class_rows,
    }
    if ok:
        message = (
            f"{judged.removeprefix('the ')}: {rows} rows ({positives} positive, {negatives} "
            "negative) is enough"
        )
    else:
        message = (
            f"cannot decide: {judged} has {rows} rows ({positives} positive, {negatives} "
            f"negative); the gate needs at least {config.min_test_rows} rows and "
            f"{config.min_class_rows} of each class to tell a better model from noise"
        )
    return Reason(CHECK_SAMPLE, "test_rows", ok, message, numbers)


def _floors(evidence: Evidence, config: GateConfig) -> list[Reason]:
    reasons = []
    auc = evidence.auc
    ok = auc.low >= config.min_auc
    reasons.append(
        Reason(
            CHECK_FLOOR,
            keys.METRIC_AUC,
            ok,
            f"auc {_iv(auc, 'DeLong')}: lower bound "
            + (
                f"meets the floor {config.min_auc}"
                if ok
                else f"is below the floor {config.min_auc}"
            ),
            {**auc.to_dict(), "floor": config.min_auc},
        )
    )
    loss = evidence.bootstrap[keys.METRIC_LOG_LOSS].a
    ok = loss.high <= config.max_log_loss
    reasons.append(
        Reason(
            CHECK_FLOOR,
            keys.METRIC_LOG_LOSS,
            ok,
            f"log_loss {_iv(loss, 'bootstrap')}: upper bound "
            + (
                f"is within the ceiling {config.max_log_loss}"
                if ok
                else f"is above the ceiling {config.max_log_loss}"
            ),
            {**loss.to_dict(), "ceiling": config.max_log_loss},
        )
    )
    if config.min_accuracy > 0.0:
        accuracy = evidence.bootstrap[keys.METRIC_ACCURACY].a
        ok = accuracy.low >= config.min_accuracy
        reasons.append(
            Reason(
                CHECK_FLOOR,
                keys.METRIC_ACCURACY,
                ok,
                f"accuracy {_iv(accuracy, 'bootstrap')}: lower bound "
                + (
                    f"meets the floor {config.min_accuracy}"
                    if ok
                    else f"is below the floor {config.min_accuracy}"
                ),
                {**accuracy.to_dict(), "floor": config.min_accuracy},
            )
        )
    return reasons


def _versus(evidence: Evidence, config: GateConfig) -> list[Reason]:
    assert evidence.delong is not None and evidence.champion is not None
    d = evidence.delong
    boot_auc = evidence.bootstrap[keys.METRIC_AUC].difference
    delta = Interval(d.difference, d.low, d.high, d.confidence)
    numbers: dict[str, Any] = {
        **d.to_dict(),
        "bootstrap_low": boot_auc.low if boot_auc else None,
        "bootstrap_high": boot_auc.high if boot_auc else None,
    }
    if config.require_improvement:
        ok = d.low > config.min_auc_improvement
        rule = f"must exceed the required improvement {config.min_auc_improvement}"
        numbers["required_improvement"] = config.min_auc_improvement
    else:
        ok = d.low >= -config.auc_margin
        rule = f"must not fall below -{config.auc_margin} (non-inferiority margin)"
        numbers["margin"] = config.auc_margin
    reasons = [
        Reason(
            CHECK_VERSUS,
            keys.METRIC_AUC,
            ok,
            f"auc challenger - champion {_iv(delta, 'DeLong')}, DeLong p={d.p_value:.3g}: "
            f"lower bound {'passes' if ok else 'fails'}; it {rule}",
            numbers,
        )
    ]
    loss = evidence.bootstrap[keys.METRIC_LOG_LOSS].difference
    assert loss is not None
    ok = loss.high <= config.log_loss_margin
    reasons.append(
        Reason(
            CHECK_VERSUS,
            keys.METRIC_LOG_LOSS,
            ok,
            f"log_loss challenger - champion {_iv(loss, 'paired bootstrap')}: upper bound "
            f"{'is within' if ok else 'exceeds'} the margin {config.log_loss_margin}",
            {**loss.to_dict(), "margin": config.log_loss_margin},
        )
    )
    accuracy = evidence.bootstrap[keys.METRIC_ACCURACY].difference
    assert accuracy is not None and evidence.mcnemar is not None
    ok = accuracy.low >= -config.accuracy_margin
    m = evidence.mcnemar
    reasons.append(
        Reason(
            CHECK_VERSUS,
            keys.METRIC_ACCURACY,
            ok,
            f"accuracy challenger - champion {_iv(accuracy, 'paired bootstrap')}, McNemar "
            f"p={m.p_value:.3g} ({m.a_only} rows only the challenger gets right, {m.b_only} only "
            f"the champion): lower bound {'is within' if ok else 'falls below'} "
            f"-{config.accuracy_margin}",
            {**accuracy.to_dict(), "margin": config.accuracy_margin, "mcnemar": m.to_dict()},
        )
    )
    return reasons


def _slices(evidence: Evidence, config: GateConfig) -> list[Reason]:
    reasons = []
    for s in evidence.slices:
        if not s.judged or s.versus is None:
            continue
        v = s.versus
        # Large and real: the point estimate loses more than the allowed degradation, and the
        # (Bonferroni-corrected) interval excludes "no difference". Slices are small, so asking
        # the interval itself to clear the degradation would almost never fire.
        failed = v.difference < -config.max_slice_degradation and v.high < 0.0
        where = f"slice {s.column}={s.value!r} ({s.rows} rows)"
        delta = Interval(v.difference, v.low, v.high, v.confidence)
        message = (
            f"{where}: auc challenger - champion {_iv(delta, 'DeLong')}, "
            f"challenger {v.auc_a:.4f} vs champion {v.auc_b:.4f}: "
            + (
                f"worse by more than {config.max_slice_degradation}, significantly"
                if failed
                else f"no significant loss beyond {config.max_slice_degradation}"
            )
        )
        reasons.append(
            Reason(
                CHECK_SLICE,
                f"{s.column}={s.value}",
                not failed,
                message,
                {**s.to_dict(), "max_slice_degradation": config.max_slice_degradation},
            )
        )
    return reasons


def decide(
    *,
    config: GateConfig,
    guard: list[Reason],
    infra: list[Reason],
    evidence: Evidence | None,
) -> Decision:
    """Apply the rule: guards, infra, floors, then (with a champion) paired comparisons and slices.

    Args:
        config: The thresholds.
        guard: Sample guard and champion loading reasons (failures mean "cannot decide").
        infra: Bundle verification and serving-path reasons.
        evidence: The statistics, or None when the guards stopped the gate before computing them.
    """
    reasons = [*guard, *infra]
    if evidence is not None:
        reasons += _floors(evidence, config)
        if evidence.champion is not None:
            reasons += _versus(evidence, config)
            reasons += _slices(evidence, config)
    undecidable = any(not r.passed and r.check in UNDECIDABLE for r in reasons)
    refused = any(not r.passed for r in reasons)
    if undecidable:
        return Decision(False, keys.VERDICT_CANNOT_DECIDE, reasons)
    if refused or evidence is None:
        return Decision(False, keys.VERDICT_REFUSED, reasons)
    return Decision(True, keys.VERDICT_BLESSED, reasons)
