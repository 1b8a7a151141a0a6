"""The drift job's verdicts as Prometheus metrics, for real: the drift step pushes to a real
Pushgateway, a real Prometheus scrapes it (honor_labels, as the PodMonitor does) and evaluates
the generated drift rules; the alert fires on a shifted half of Telco and clears when the next
run finds none. The dashboard's drift panels all show data. A push that fails fails the step
before anything is written."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kfp import dsl
from prometheus_client.parser import text_string_to_metric_families

from components.drift.executor import main
from components.drift.push import PushError
from serving.alert_rules import AlertParams, rule_groups, to_yaml
from tests.drift.conftest import TelcoDrift, telco_drift
from tests.monitoring.prom import Prometheus, Pushgateway, _free_port
from tests.monitoring.test_metric_names import dashboard_queries

__all__ = ["telco_drift"]

MODEL = {"model_name": "churn", "namespace": "ml"}
GRAFANA = {"$namespace": "ml", "$model": "churn", "$__rate_interval": "30s"}
DEADLINE_S = 60.0


@dataclass
class Watched:
    prometheus: Prometheus
    gateway: Pushgateway


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    tmp = tmp_path_factory.mktemp("drift-prometheus")
    rules = tmp / "rules.yaml"
    groups = rule_groups(AlertParams(hold="1s", drift_stale_seconds=3600))
    rules.write_text(to_yaml({"groups": [g for g in groups if g["name"] == "kfp-tabular-drift"]}))
    gateway = Pushgateway(tmp)
    prometheus = Prometheus(tmp, rule_files=[rules])
    try:
        prometheus.add_target(gateway.url, job="pushgateway")
        yield Watched(prometheus, gateway)
    finally:
        prometheus.stop()
        gateway.stop()


def _outputs(folder: Path) -> dict[str, Any]:
    return {
        "metrics": dsl.Metrics(name="metrics", uri=str(folder / "metrics")),
        "report_html": dsl.HTML(name="report_html", uri=str(folder / "report.html")),
        "snapshot": dsl.Artifact(name="snapshot", uri=str(folder / "snapshot.json")),
        "result": dsl.Artifact(name="result", uri=str(folder / "drift.json")),
        "summary": dsl.Markdown(name="summary", uri=str(folder / "summary.md")),
        "drift_detected": str(folder / "drift_detected"),
    }


def _drift_run(telco: TelcoDrift, current: Path, folder: Path, url: str) -> dict[str, Any]:
    main(
        {
            "bundle_uri": str(telco.bundle),
            "current_uri": str(current),
            "sample_rows": 200,
            "pushgateway_url": url,
            "model_name": MODEL["model_name"],
            "model_namespace": MODEL["namespace"],
            **_outputs(folder),
        }
    )
    return dict(json.loads((folder / "drift.json").read_text()))


def _pushed(gateway: Pushgateway) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The gateway's drift samples: {metric: {sorted labels: value}}."""
    text = httpx.get(f"{gateway.url}/metrics", timeout=10).text
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("kfp_tabular_drift_"):
                key = tuple(sorted(sample.labels.items()))
                found.setdefault(sample.name, {})[key] = sample.value
    return found


def test_shifted_data_fires_the_drift_alert_and_a_clean_run_clears_it(
    watched: Watched, telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    prometheus, gateway = watched.prometheus, watched.gateway
    started = time.monotonic()
    shifted = _drift_run(telco_drift, telco_drift.shifted_csv, tmp_path / "shifted", gateway.url)
    assert shifted["drift_detected"] and "Contract" in shifted["drifted_columns"]
    pushed = _pushed(gateway)
    labels = {"job": "kfp-tabular-drift", "instance": "", **MODEL}
    detected = pushed["kfp_tabular_drift_detected"]
    assert detected == {tuple(sorted(labels.items())): 1.0}
    scores = pushed["kfp_tabular_drift_column_score"]
    columns = {dict(key)["column"] for key in scores}
    assert {c["column"] for c in shifted["columns"] if c["score"] is not None} == columns
    contract = next(v for k, v in scores.items() if dict(k)["column"] == "Contract")
    assert contract == pytest.approx(
        next(c["score"] for c in shifted["columns"] if c["column"] == "Contract")
    )
    prometheus.wait_for(
        lambda: prometheus.alerts(**MODEL).get("KfpTabularDataDrift") == "firing",
        "KfpTabularDataDrift firing",
        timeout=DEADLINE_S,
    )
    fired = time.monotonic() - started
    started = time.monotonic()
    clean = _drift_run(telco_drift, telco_drift.current_csv, tmp_path / "clean", gateway.url)
    assert not clean["drift_detected"]
    prometheus.wait_for(
        lambda: "KfpTabularDataDrift" not in prometheus.alerts(**MODEL),
        "KfpTabularDataDrift cleared",
        timeout=DEADLINE_S,
    )
    cleared = time.monotonic() - started
    assert "KfpTabularDriftJobStale" not in prometheus.alerts(**MODEL)
    # From the start of the drift run (which pushes first, then renders its report) to the alert.
    print(
        f"KfpTabularDataDrift firing {fired:.1f} s after the run started, cleared {cleared:.1f} s"
    )


def test_every_drift_panel_of_the_dashboard_shows_data(
    watched: Watched, telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    _drift_run(telco_drift, telco_drift.shifted_csv, tmp_path / "run", watched.gateway.url)
    queries = [q for q in dashboard_queries() if "kfp_tabular_drift_" in q]
    assert len(queries) >= 5
    for name, value in GRAFANA.items():
        queries = [q.replace(name, value) for q in queries]
    deadline = time.monotonic() + DEADLINE_S
    missing = queries
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        missing = [q for q in missing if not watched.prometheus.query(q)]
    assert not missing, f"no data within {DEADLINE_S:.0f} s from: {missing}"


def test_a_failed_push_fails_the_step_and_writes_nothing(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"
    folder = tmp_path / "out"
    with pytest.raises(PushError, match=rf"pushgateway_url '{closed}': could not push"):
        _drift_run(telco_drift, telco_drift.current_csv, folder, closed)
    assert not folder.exists() or not any(folder.rglob("*"))
