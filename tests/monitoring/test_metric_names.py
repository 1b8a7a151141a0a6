"""Every query shipped (dashboard, alert rules, the rollout's default PromQL) names only metrics a
real runtime exports, read from its ``/metrics`` after requests that touch every counter.

The drift job's metrics are the ones it pushes to a Pushgateway (components/drift/push.py), read
from the registry a real drift run on Telco builds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from components.drift.analysis import analyse
from components.drift.config import DriftConfig
from components.drift.push import drift_registry
from components.rollout.prometheus import ISTIO_QUERIES, RUNTIME_QUERIES
from serving.alert_rules import AlertParams, drift_expressions, expressions
from tests.drift.conftest import TelcoDrift, telco_drift
from tests.monitoring.test_metrics import scrape
from tests.serving.conftest import Runtime, Trained

__all__ = ["telco_drift"]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "kfp-tabular-runtime.json"
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "offset", "bool", "inf", "nan"}  # fmt: skip
SIDE = {"namespace": "ml", "pods": "churn-.*", "workload": "churn", "window": "5m"}
_STRIPPED = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")


# Grafana's template query: label_values(<series selector>, <label>)
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def metric_names(promql: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords and labels left out)."""
    template = LABEL_VALUES.match(promql.strip())
    if template:
        promql = template["selector"]
    return {w for w in _WORD.findall(_STRIPPED.sub(" ", promql)) if w not in KEYWORDS}


def dashboard_queries() -> Iterator[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield variable["query"]["query"]


def test_the_name_reader_reads_names() -> None:
    assert metric_names(
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y"}[5m]))) > 0.2 and on (m) b'
    ) == {"a_bucket", "b"}
    assert metric_names("label_values(kfp_tabular_model_info, namespace)") == {
        "kfp_tabular_model_info"
    }
    assert metric_names('label_values(a{n=~"$n"}, model_name)') == {"a"}


def drift_metric_names(telco: TelcoDrift) -> set[str]:
    """The sample names a real drift run pushes (gauges: the family name is the sample name)."""
    config = DriftConfig(bundle_uri=str(telco.bundle), current_uri=str(telco.shifted_csv))
    registry = drift_registry(analyse(config), {"model_name": "churn"})
    text = generate_latest(registry).decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_query_names_an_exported_metric(
    served: Runtime, trained: Trained, telco_drift: TelcoDrift
) -> None:
    records = trained.records(3)
    records[0].update(Contract="Ten-year", tenure=999, MonthlyCharges=None)
    assert served.client.post("/v1/models/churn:predict", json={"instances": records}).is_success
    exported = {name for name, _ in scrape(served)} | drift_metric_names(telco_drift)
    queries = {
        **{f"dashboard: {q}": q for q in dashboard_queries()},
        **{f"rule {k}": q for k, q in expressions(AlertParams()).items()},
        **{f"rule {k}": q for k, q in drift_expressions(AlertParams()).items()},
        **{f"rollout {k}": q.format(**SIDE) for k, q in RUNTIME_QUERIES.items()},
        # KServe's own histogram, the istio preset's latency
        "rollout istio latency": ISTIO_QUERIES["latency_p95_seconds"].format(**SIDE),
    }
    assert len(queries) > 20
    for where, query in queries.items():
        names = metric_names(query)
        assert names, where
        assert names <= exported, f"{where}: {sorted(names - exported)} not exported"
