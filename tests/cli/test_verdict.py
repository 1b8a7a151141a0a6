"""kfp_tabular.verdict and the run summary: the reason a step failed, and the exit codes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from components._shared import keys
from kfp_tabular import verdict
from kfp_tabular.errors import EXIT_OK, EXIT_REFUSED, EXIT_RUN_FAILED, EXIT_UNDECIDED, EXIT_USAGE
from kfp_tabular.local_run import StepClock, summary_lines

LOG = """\
[KFP Executor 2026-12-02 04:50:01,123 INFO]: Looking for component `validate`
Traceback (most recent call last):
  File "/work/main/components/validate/executor.py", line 90, in run
    raise ValidationFailed(issues)
components._shared.errors.ValidationFailed: data validation failed with 2 error(s):
  - positive_label: expected one of ['No', 'Yes'], got 'Maybe'
  - Churn: expected two classes, got 1
\x1b[91mvalidate failed\x1b[0m
"""


def test_a_failed_step_is_named_with_its_own_message_and_bad_input_exits_2() -> None:
    failed = verdict.failure("Inner task failed: 'validate'", LOG)
    assert (failed.step, failed.error, failed.bad_input) == ("validate", "ValidationFailed", True)
    assert failed.message.splitlines()[0] == "data validation failed with 2 error(s):"
    assert "- positive_label: expected one of ['No', 'Yes'], got 'Maybe'" in failed.message
    assert "- Churn: expected two classes, got 1" in failed.message
    assert failed.exit_code == EXIT_USAGE


def test_an_internal_error_exits_1_and_a_log_without_an_exception_keeps_the_raised_text() -> None:
    crash = "Traceback (most recent call last):\nKeyError: 'rows'\n"
    failed = verdict.failure("Inner task failed: 'compare'", crash)
    assert (failed.step, failed.error, failed.bad_input) == ("compare", "KeyError", False)
    assert failed.exit_code == EXIT_RUN_FAILED
    unknown = verdict.failure("Inner task failed: 'train'", "no exception here\n")
    assert unknown.message == "Inner task failed: 'train'" and unknown.exit_code == EXIT_RUN_FAILED


def test_exit_codes_follow_the_gate_verdict() -> None:
    def artifacts(verdict_name: str) -> dict:
        return {"gate": {"blessing": {"metadata": {keys.META_VERDICT: verdict_name}}}}

    assert verdict.exit_code(artifacts(keys.VERDICT_BLESSED)) == EXIT_OK
    assert verdict.exit_code(artifacts(keys.VERDICT_REFUSED)) == EXIT_REFUSED
    assert verdict.exit_code(artifacts(keys.VERDICT_CANNOT_DECIDE)) == EXIT_UNDECIDED
    assert len({EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_UNDECIDED}) == 5


def test_an_undecided_gate_line_shows_the_leaderboard_auc_not_nan() -> None:
    record = {
        "arguments": {"data_uri": "small.csv"},
        "artifacts": {
            "gate": {
                "metrics": {
                    "uri": "/runs/gate/metrics",
                    "metadata": {"verdict": "cannot_decide", "rule_version": "gate-rule/1"},
                },
                "rationale": {"uri": "/runs/gate/rationale"},
            }
        },
        "leaderboard": [
            {
                "rank": 1,
                "name": "lgbm",
                "family": "lightgbm",
                "valid": {"auc": 0.84},
                "test": {"auc": 0.8485},
            },
        ],
        "primary_metric": "auc",
        "seconds": 12.0,
        "step_seconds": {},
        "step_runs": {},
    }
    (gate,) = [line for line in summary_lines(record) if line.startswith("gate")]
    assert "cannot_decide" in gate and "test AUC 0.8485 (leaderboard; no interval)" in gate
    assert "nan" not in gate


def test_logging_after_the_run_closed_its_log_raises_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kfp.local keeps a logging handler on the run's stdout stand-in after the run; a caller's
    # later logging (seen: httpx in the next test) must not print "--- Logging error ---".
    log = (tmp_path / "run.log").open("w", encoding="utf-8")
    clock = StepClock(log)
    handler = logging.StreamHandler(clock)  # type: ignore[arg-type]
    logger = logging.getLogger("after-the-run")
    logger.addHandler(handler)
    try:
        logger.warning("during the run")
        log.close()
        logger.warning("after the run")
        clock.flush()
    finally:
        logger.removeHandler(handler)
    assert "Logging error" not in capsys.readouterr().err
    assert (tmp_path / "run.log").read_text() == "during the run\n"
