"""The alert rules: generated manifest current and schema-valid, promtool check and unit tests."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import yaml

from components._shared.manifests import load_documents, validate_manifest
from serving.alert_rules import (
    HEADER,
    AlertParams,
    expressions,
    prometheus_rule,
    rule_groups,
    to_yaml,
)
from tests.monitoring.prom import binary

ROOT = Path(__file__).resolve().parents[2]
RULE_FILE = ROOT / "manifests" / "base" / "monitoring" / "prometheusrule.yaml"
FAULTY = {"namespace": "ml", "model_name": "churn"}
HEALTHY = {"namespace": "ml", "model_name": "steady"}


def test_committed_manifest_is_the_generated_one_and_validates_strictly() -> None:
    assert RULE_FILE.read_text() == to_yaml(prometheus_rule(AlertParams()), HEADER), (
        "regenerate: python -m serving.alert_rules > manifests/base/monitoring/prometheusrule.yaml"
    )
    (doc,) = load_documents(RULE_FILE)
    validate_manifest(doc)


def test_thresholds_are_parameters() -> None:
    exprs = expressions(AlertParams(error_ratio=0.123, latency_p95_seconds=0.7, window="2m"))
    assert "> 0.123" in exprs["KfpTabularHighErrorRate"]
    assert "> 0.7" in exprs["KfpTabularHighLatencyP95"]
    assert all("[2m]" in e for e in exprs.values())


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(to_yaml({"groups": rule_groups(AlertParams())}))
    result = subprocess.run(
        [binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 rules found" in result.stdout


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def fault_series() -> list[dict[str, str]]:
    """One faulty model with every fault at once, one healthy model, over 40 minutes."""
    out = []
    for model, bad in ((FAULTY, True), (HEALTHY, False)):
        req = "kfp_tabular_requests_total"
        # Traffic for 10 minutes, then none (faulty); steady traffic (healthy).
        ok = "0+60x10 600x30" if bad else "0+60x40"
        out.append(series(req, {**model, "protocol": "v2", "status_class": "2xx"}, ok))
        five = "0+10x10 100x30" if bad else "0+0x40"
        out.append(series(req, {**model, "protocol": "v2", "status_class": "5xx"}, five))
        four = "0+30x10 300x30" if bad else "0+1x40"
        out.append(series(req, {**model, "protocol": "v1", "status_class": "4xx"}, four))
        dur = "kfp_tabular_request_duration_seconds_bucket"
        fast = "0+10x10 100x30" if bad else "0+61x40"
        for le, values in (
            ("0.1", fast),
            ("0.25", fast),
            ("0.5", "0+100x10 1000x30"),
            ("+Inf", "0+100x10 1000x30"),
        ):
            out.append(
                series(dur, {**model, "protocol": "v2", "le": le}, values if bad else "0+61x40")
            )
        score = "kfp_tabular_prediction_score"
        out.append(series(f"{score}_count", model, "0+50x40"))
        out.append(series(f"{score}_sum", model, "0+30x40" if bad else "0+13x40"))
        out.append(series("kfp_tabular_reference_positive_rate", {**model, "pod": "p"}, "0.26x40"))
        unseen = "0+10x40" if bad else "0+0x40"
        out.append(
            series("kfp_tabular_unseen_values_total", {**model, "column": "Contract"}, unseen)
        )
    return out


def expected(severity: str) -> list[dict[str, Any]]:
    return [{"exp_labels": {**FAULTY, "severity": severity, "component": "kfp-tabular-runtime"}}]


def alert_tests() -> list[dict[str, Any]]:
    """At 3m everything is pending (hold 5m); at 9m every fault but traffic fires; at 25m the
    traffic that stopped at 10m fires, and the rate-based alerts have cleared (no requests)."""
    firing_early = {
        "KfpTabularHighErrorRate": "critical",
        "KfpTabularHighClientErrorRate": "warning",
        "KfpTabularHighLatencyP95": "warning",
        "KfpTabularScoreShift": "warning",
        "KfpTabularUnseenValues": "warning",
    }
    tests: list[dict[str, Any]] = []
    for name, severity in firing_early.items():
        tests.append({"eval_time": "3m", "alertname": name, "exp_alerts": []})
        tests.append({"eval_time": "9m", "alertname": name, "exp_alerts": expected(severity)})
    for name in (
        "KfpTabularHighErrorRate",
        "KfpTabularHighClientErrorRate",
        "KfpTabularHighLatencyP95",
    ):
        tests.append({"eval_time": "25m", "alertname": name, "exp_alerts": []})
    tests.append({"eval_time": "9m", "alertname": "KfpTabularTrafficStopped", "exp_alerts": []})
    tests.append(
        {
            "eval_time": "25m",
            "alertname": "KfpTabularTrafficStopped",
            "exp_alerts": expected("critical"),
        }
    )
    return tests


def test_promtool_unit_tests_fire_each_alert_on_written_series(tmp_path: Path) -> None:
    groups = copy.deepcopy(rule_groups(AlertParams()))
    for rule in (r for group in groups for r in group["rules"]):
        rule.pop("annotations")  # templates are checked above; here the expressions are tested
    (tmp_path / "rules.yaml").write_text(to_yaml({"groups": groups}))
    spec: dict[str, Any] = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": fault_series(), "alert_rule_test": alert_tests()}
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run(
        [binary("promtool"), "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fire_the_drift_alerts_on_pushed_gauges(tmp_path: Path) -> None:
    """The faulty model's last drift run found drift at 5m and its job stopped pushing then; the
    healthy model's job pushes every minute without drift."""
    groups = copy.deepcopy(rule_groups(AlertParams(drift_stale_seconds=600)))
    for rule in groups[1]["rules"]:
        rule.pop("annotations")
    (tmp_path / "rules.yaml").write_text(to_yaml({"groups": groups[1:]}))
    stamp = "kfp_tabular_drift_last_run_timestamp_seconds"
    spec: dict[str, Any] = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    series("kfp_tabular_drift_detected", FAULTY, "0x4 1x35"),
                    series("kfp_tabular_drift_detected", HEALTHY, "0x40"),
                    series(stamp, FAULTY, "0+60x5 300x35"),
                    series(stamp, HEALTHY, "0+60x40"),
                ],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "KfpTabularDataDrift", "exp_alerts": []},
                    {
                        "eval_time": "12m",
                        "alertname": "KfpTabularDataDrift",
                        "exp_alerts": [drift_alert()],
                    },
                    {"eval_time": "14m", "alertname": "KfpTabularDriftJobStale", "exp_alerts": []},
                    {
                        "eval_time": "25m",
                        "alertname": "KfpTabularDriftJobStale",
                        "exp_alerts": [drift_alert()],
                    },
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run(
        [binary("promtool"), "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def drift_alert() -> dict[str, Any]:
    return {"exp_labels": {**FAULTY, "severity": "warning", "component": "kfp-tabular-drift"}}
