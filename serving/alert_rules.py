"""The runtime's alert rules, written from parameters: a PrometheusRule or a plain rules file.

``manifests/base/monitoring/prometheusrule.yaml`` is this module's output with the defaults
(``python -m serving.alert_rules > manifests/base/monitoring/prometheusrule.yaml``; a test checks
it is current). Change a threshold with the options below, or patch the one ``expr`` in a
kustomize overlay. Every expression aggregates ``by (namespace, model_name)``, so one alert
fires per served model whatever the number of replicas.

Alerts (the metrics are :mod:`serving.metrics`'):

- ``KfpTabularHighErrorRate``: share of prediction requests answered 5xx above ``error_ratio``.
- ``KfpTabularHighClientErrorRate``: share answered 4xx above ``client_error_ratio`` (a client
  sending payloads the model cannot read).
- ``KfpTabularHighLatencyP95``: p95 of ``kfp_tabular_request_duration_seconds`` above
  ``latency_p95_seconds``.
- ``KfpTabularScoreShift``: mean predicted score (the score histogram's sum / count) further than
  ``score_mean_shift`` from the positive rate of the training data (the bundle's profile.json,
  exported as ``kfp_tabular_reference_positive_rate``).
- ``KfpTabularUnseenValues``: values unseen in training per scored row above ``unseen_ratio``.
- ``KfpTabularTrafficStopped``: no prediction request in ``window`` after some in ``lookback``.

Drift alerts (group ``kfp-tabular-drift``; the metrics the drift job pushes to a Pushgateway,
:mod:`components.drift.push`):

- ``KfpTabularDataDrift``: the last drift run found drift (``kfp_tabular_drift_detected``).
- ``KfpTabularDriftJobStale``: no drift run pushed for ``drift_stale_seconds`` (the job stopped,
  or fails before it pushes).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

import yaml

BY = "namespace, model_name"
RULE_NAME = "kfp-tabular-runtime"
GROUP_NAME = "kfp-tabular-runtime"
DRIFT_GROUP_NAME = "kfp-tabular-drift"


@dataclass(frozen=True)
class AlertParams:
    """Thresholds and windows of the rules (Prometheus durations as strings)."""

    window: str = "5m"
    lookback: str = "1h"
    hold: str = "5m"
    error_ratio: float = 0.05
    client_error_ratio: float = 0.25
    latency_p95_seconds: float = 0.25
    score_mean_shift: float = 0.15
    unseen_ratio: float = 0.05
    min_requests_per_second: float = 0.0
    drift_stale_seconds: float = 10800.0


def _ratio(numerator: str, denominator: str) -> str:
    return f"({numerator})\n/\n({denominator})"


def expressions(p: AlertParams) -> dict[str, str]:
    """PromQL per alert name."""
    w = p.window
    requests = f"sum by ({BY}) (rate(kfp_tabular_requests_total[{w}]))"

    def answered(status: str) -> str:
        return f'sum by ({BY}) (rate(kfp_tabular_requests_total{{status_class="{status}"}}[{w}]))'

    scored = f"sum by ({BY}) (rate(kfp_tabular_prediction_score_count[{w}]))"
    mean_score = _ratio(f"sum by ({BY}) (rate(kfp_tabular_prediction_score_sum[{w}]))", scored)
    return {
        "KfpTabularHighErrorRate": f"{_ratio(answered('5xx'), requests)}\n> {p.error_ratio}",
        "KfpTabularHighClientErrorRate": (
            f"{_ratio(answered('4xx'), requests)}\n> {p.client_error_ratio}"
        ),
        "KfpTabularHighLatencyP95": (
            "histogram_quantile(0.95,\n  sum by ("
            f"{BY}, le) (rate(kfp_tabular_request_duration_seconds_bucket[{w}]))\n)\n"
            f"> {p.latency_p95_seconds}"
        ),
        "KfpTabularScoreShift": (
            f"abs(\n({mean_score})\n- on ({BY})\n"
            f"max by ({BY}) (kfp_tabular_reference_positive_rate)\n)\n> {p.score_mean_shift}"
        ),
        "KfpTabularUnseenValues": (
            _ratio(f"sum by ({BY}) (rate(kfp_tabular_unseen_values_total[{w}]))", scored)
            + f"\n> {p.unseen_ratio}"
        ),
        "KfpTabularTrafficStopped": (
            f"({requests} <= {p.min_requests_per_second})\nand on ({BY})\n"
            f"(sum by ({BY}) (increase(kfp_tabular_requests_total[{p.lookback}])) > 0)"
        ),
    }


def drift_expressions(p: AlertParams) -> dict[str, str]:
    """PromQL per drift alert name (no rate window: the pushed gauges hold the last run)."""
    return {
        "KfpTabularDataDrift": f"max by ({BY}) (kfp_tabular_drift_detected) == 1",
        "KfpTabularDriftJobStale": (
            f"time() - max by ({BY}) (kfp_tabular_drift_last_run_timestamp_seconds)\n"
            f"> {p.drift_stale_seconds:g}"
        ),
    }


SEVERITY = {
    "KfpTabularHighErrorRate": "critical",
    "KfpTabularHighClientErrorRate": "warning",
    "KfpTabularHighLatencyP95": "warning",
    "KfpTabularScoreShift": "warning",
    "KfpTabularUnseenValues": "warning",
    "KfpTabularTrafficStopped": "critical",
    "KfpTabularDataDrift": "warning",
    "KfpTabularDriftJobStale": "warning",
}

SUMMARY = {
    "KfpTabularHighErrorRate": "{{ $labels.model_name }}: {{ $value | humanizePercentage }} of "
    "prediction requests answered 5xx",
    "KfpTabularHighClientErrorRate": "{{ $labels.model_name }}: {{ $value | humanizePercentage }}"
    " of prediction requests refused (4xx)",
    "KfpTabularHighLatencyP95": "{{ $labels.model_name }}: p95 latency {{ $value | "
    "humanizeDuration }} over budget",
    "KfpTabularScoreShift": '{{ $labels.model_name }}: mean score {{ $value | printf "%.2f" }}'
    " away from the training positive rate",
    "KfpTabularUnseenValues": '{{ $labels.model_name }}: {{ $value | printf "%.2f" }} unseen '
    "values per scored row",
    "KfpTabularTrafficStopped": "{{ $labels.model_name }}: no prediction requests any more",
    "KfpTabularDataDrift": "{{ $labels.model_name }}: the last drift run found drift (drift "
    "report: the drift_monitor run or the CronJob's output)",
    "KfpTabularDriftJobStale": "{{ $labels.model_name }}: no drift run for {{ $value | "
    "humanizeDuration }}",
}


def rule_groups(p: AlertParams) -> list[dict[str, Any]]:
    """The rule groups (the ``groups`` of a rules file and of a PrometheusRule's spec)."""

    def rule(name: str, expr: str, component: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": p.hold,
            "labels": {"severity": SEVERITY[name], "component": component},
            "annotations": {
                "summary": SUMMARY[name],
                "description": f"{component} alert; thresholds: serving/alert_rules.py, "
                "what to do: serving/README.md (Monitoring).",
            },
        }

    runtime = [rule(n, e, "kfp-tabular-runtime") for n, e in expressions(p).items()]
    drift = [rule(n, e, "kfp-tabular-drift") for n, e in drift_expressions(p).items()]
    return [{"name": GROUP_NAME, "rules": runtime}, {"name": DRIFT_GROUP_NAME, "rules": drift}]


def prometheus_rule(p: AlertParams) -> dict[str, Any]:
    """The PrometheusRule (monitoring.coreos.com/v1) holding the groups."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": RULE_NAME,
            "labels": {"app.kubernetes.io/part-of": "kfp-tabular", "role": "alert-rules"},
        },
        "spec": {"groups": rule_groups(p)},
    }


def _literal(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def to_yaml(document: dict[str, Any], header: str = "") -> str:
    """YAML with multi-line expressions as block scalars."""

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, _literal)
    return header + yaml.dump(document, Dumper=Dumper, sort_keys=False, width=100)


HEADER = (
    "# Generated by `python -m serving.alert_rules` (serving/alert_rules.py): edit there, or\n"
    "# regenerate with other thresholds (--help). Needs the prometheus-operator CRDs.\n"
)


def main(argv: list[str] | None = None) -> None:
    """Print the PrometheusRule (or ``--plain``: a rules file for promtool/prometheus)."""
    parser = argparse.ArgumentParser(prog="python -m serving.alert_rules", description=__doc__)
    for field in dataclasses.fields(AlertParams):
        parser.add_argument(f"--{field.name}", type=type(field.default), default=field.default)
    parser.add_argument("--plain", action="store_true", help="A rules file, not a PrometheusRule.")
    args = vars(parser.parse_args(argv))
    plain = args.pop("plain")
    params = AlertParams(**args)
    document = {"groups": rule_groups(params)} if plain else prometheus_rule(params)
    sys.stdout.write(to_yaml(document, "" if plain else HEADER))


if __name__ == "__main__":
    main()
