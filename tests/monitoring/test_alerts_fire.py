"""The alerts fire for real: Prometheus scrapes a ``python -m serving`` process, faults are injected.

Prometheus (1 s scrape and evaluation, rules from :mod:`serving.alert_rules` with a 10 s window
and a 3 s hold) scrapes the runtime while a client thread sends steady healthy traffic: one
request of :data:`ROWS` rows every :data:`TICK_S` seconds. Each fault is injected until its alert
fires (read from Prometheus's ``/api/v1/alerts``, deadline :data:`DEADLINE_S`), then removed
until the alert clears; no other alert may fire meanwhile. The times to fire and to clear and the
alert's value are printed (run with ``-s``).

Every fault is made to cross its threshold by a wide margin whatever the machine's speed or
load, so that the waits measure Prometheus's windows, not luck:

- refused requests: two 400s per healthy request, a 4xx share of 2/3 against 0.25;
- slow requests: :data:`SLOW_CLIENTS` clients whose request bodies arrive over
  :data:`SLOW_BODY_S` seconds. The runtime's latency histogram times a request from its headers
  to its response (read, decode, score, encode), so each of these takes at least that long on a
  fast machine or a slow one, about a sixth of all requests, against a 0.5 s p95 budget. (Large
  batches were the earlier fault: the runtime scores them in a worker thread, and a fast run
  answered them within the budget);
- shifted inputs: the healthy body is replaced by the test rows the model scores highest (real
  customers, a population that churns more), whose mean score is checked before the test to lie
  at least twice the threshold away from the training positive rate;
- unseen categories: three unseen values per row against 0.05 per row, on rows whose mean score
  stays near the reference (checked), so that the score-shift alert is not fired with it;
- stopped traffic: every client paused (10 s window + 3 s hold).

A fault is removed even when its test fails, so that a failure does not leak into the next test.
The 5xx error alert is not here: the runtime answers 5xx only for its own bugs, which cannot be
produced on purpose; ``test_rules.py`` tests it on written series with promtool.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from serving.alert_rules import AlertParams, rule_groups, to_yaml
from serving.scoring import Scorer
from tests.monitoring.prom import Prometheus
from tests.monitoring.test_metric_names import LABEL_VALUES, dashboard_queries
from tests.monitoring.test_metrics import scrape, value
from tests.serving.conftest import Runtime, Trained

PARAMS = AlertParams(
    window="10s",
    lookback="5m",
    hold="3s",
    latency_p95_seconds=0.5,
    client_error_ratio=0.25,
    score_mean_shift=0.15,
    unseen_ratio=0.05,
)
DEADLINE_S = 120.0
TICK_S = 0.1  # one healthy request per tick
ROWS = 40  # rows per healthy request
BAD_PER_TICK = 2  # refused requests per healthy one while that fault is on
SLOW_CLIENTS = 4
SLOW_BODY_S = 2.0  # 4 clients x 0.5 requests/s = 2 slow requests/s beside 10 healthy ones
# Categories unseen in training, in columns that move this model's scores little (an unseen
# Contract would: the score-shift alert would fire with it).
UNSEEN = {"gender": "Nonbinary", "PaymentMethod": "Bitcoin", "StreamingTV": "Satellite"}
PREDICT = "/v1/models/churn:predict"
LABELS = {"model_name": "churn"}


@dataclass
class Bodies:
    """The request bodies of the test, chosen by score, and their mean scores."""

    reference: float  # the training positive rate the runtime exports
    healthy: list[dict[str, Any]]
    shifted: list[dict[str, Any]]
    unseen: list[dict[str, Any]]
    means: dict[str, float] = field(default_factory=dict)


def choose_bodies(trained: Trained, reference: float) -> Bodies:
    """Healthy rows spread over the score quantiles; shifted ones the highest scored."""
    scorer = Scorer(trained.bundle, name="churn")

    def scores(rows: list[dict[str, Any]]) -> list[float]:
        answer = scorer.predict_v1({"instances": rows})["predictions"]
        return [float(p["probability"]) for p in answer]

    records = trained.records()
    ranked = sorted(zip(scores(records), range(len(records)), strict=True))
    quantiles = [ranked[int((k + 0.5) * len(ranked) / ROWS)][1] for k in range(ROWS)]
    healthy = [records[i] for i in quantiles]
    shifted = [records[i] for _, i in ranked[-ROWS:]]
    unseen = [{**row, **UNSEEN} for row in healthy]
    bodies = Bodies(reference, healthy, shifted, unseen)
    for name in ("healthy", "shifted", "unseen"):
        values = scores(getattr(bodies, name))
        bodies.means[name] = sum(values) / len(values)
    return bodies


@dataclass
class Traffic:
    """The healthy client thread; its fields switch the faults it sends with it."""

    url: str
    healthy: list[dict[str, Any]]
    body: list[dict[str, Any]] | None = None  # replaces the healthy body while set
    bad_requests: bool = False
    paused: bool = False
    stop: bool = False

    def run(self) -> None:
        bad = json.dumps({"instances": [{"x": 1}]})
        with httpx.Client(base_url=self.url, timeout=30) as client:
            next_tick = time.monotonic()
            while not self.stop:
                next_tick += TICK_S
                if not self.paused:
                    client.post(PREDICT, json={"instances": self.body or self.healthy})
                    for _ in range(BAD_PER_TICK if self.bad_requests else 0):
                        client.post(PREDICT, content=bad)
                time.sleep(max(0.0, next_tick - time.monotonic()))
                next_tick = max(next_tick, time.monotonic() - TICK_S)  # no burst after a stall


class SlowClients:
    """Clients whose request bodies arrive over :data:`SLOW_BODY_S` seconds, while started."""

    def __init__(self, url: str, rows: list[dict[str, Any]]) -> None:
        self.url = url
        self.body = json.dumps({"instances": rows}).encode()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _trickled(self) -> Iterator[bytes]:
        half = len(self.body) // 2
        yield self.body[:half]  # the runtime's timer runs from the headers on
        time.sleep(SLOW_BODY_S)
        yield self.body[half:]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                client.post(PREDICT, content=self._trickled())

    def one(self) -> httpx.Response:
        """One slow request."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            return client.post(PREDICT, content=self._trickled())

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(SLOW_CLIENTS)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


@dataclass
class Watched:
    runtime: Runtime
    prometheus: Prometheus
    traffic: Traffic
    slow: SlowClients
    bodies: Bodies


@pytest.fixture(scope="module")
def watched(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    tmp = tmp_path_factory.mktemp("prometheus")
    rules = tmp / "rules.yaml"
    rules.write_text(to_yaml({"groups": rule_groups(PARAMS)}))
    runtime = Runtime(trained.path)
    prometheus = None
    thread = None
    traffic = Traffic(runtime.url, [])
    try:
        prometheus = Prometheus(tmp, [rules])
        runtime.wait_ready()
        prometheus.add_target(runtime.url, namespace="local", pod="churn-0")
        (reference,) = prometheus.query("kfp_tabular_reference_positive_rate")
        bodies = choose_bodies(trained, float(reference["value"][1]))
        traffic.healthy = bodies.healthy
        thread = threading.Thread(target=traffic.run, daemon=True)
        thread.start()
        slow = SlowClients(runtime.url, bodies.healthy)
        yield Watched(runtime, prometheus, traffic, slow, bodies)
    finally:
        traffic.stop = True
        if thread is not None:
            thread.join(timeout=30)
        if prometheus is not None:
            prometheus.stop()
        runtime.stop()


def fire_and_clear(
    watched: Watched, alert: str, inject: Callable[[], Any], remove: Callable[[], Any]
) -> tuple[float, float]:
    """Seconds from injecting the fault to the alert firing, and from removing it to clearing.

    Fails when another alert fires at the time this one does (one pending is only printed: a
    loaded machine may hold a healthy request past the latency budget, but not for the hold).
    """
    prometheus = watched.prometheus

    def state() -> str | None:
        return prometheus.alerts(**LABELS).get(alert)

    prometheus.wait_for(
        lambda: not prometheus.alerts(**LABELS), "no alert before the fault", DEADLINE_S
    )
    inject()
    try:
        fired = prometheus.wait_for(lambda: state() == "firing", f"{alert} firing", DEADLINE_S)
        active = prometheus.active_alerts(**LABELS)
    finally:
        remove()
    cleared = prometheus.wait_for(lambda: state() is None, f"{alert} cleared", DEADLINE_S)
    others = {name: a["state"] for name, a in active.items() if name != alert}
    print(
        f"\n{alert}: fired {fired:.1f} s after the fault (value {float(active[alert]['value']):.3g}"
        f"), cleared {cleared:.1f} s after its end; other alerts then: {others or 'none'}"
    )
    assert "firing" not in others.values(), f"{alert}: other alerts firing with it: {others}"
    return fired, cleared


def test_healthy_traffic_fires_nothing(watched: Watched) -> None:
    bodies, threshold = watched.bodies, PARAMS.score_mean_shift
    print(f"\nreference {bodies.reference:.3f}, mean scores {bodies.means}")
    # The faults are unambiguous by construction, checked before Prometheus is asked.
    assert abs(bodies.means["healthy"] - bodies.reference) < threshold / 3
    assert abs(bodies.means["unseen"] - bodies.reference) < threshold / 2
    assert bodies.means["shifted"] - bodies.reference > 2 * threshold
    time.sleep(13)  # a window of healthy traffic, and the hold
    prometheus = watched.prometheus
    assert prometheus.query("kfp_tabular_model_info")[0]["metric"]["model_name"] == "churn"
    assert prometheus.active_alerts(**LABELS) == {}


def test_refused_requests_fire_the_client_error_alert(watched: Watched) -> None:
    traffic = watched.traffic
    fire_and_clear(
        watched,
        "KfpTabularHighClientErrorRate",
        lambda: setattr(traffic, "bad_requests", True),
        lambda: setattr(traffic, "bad_requests", False),
    )


def test_slow_requests_fire_the_latency_alert(watched: Watched) -> None:
    # The fault holds if the runtime times a request from its headers: one slow request adds
    # at least SLOW_BODY_S to the histogram's sum (the healthy traffic adds milliseconds).
    def seconds() -> float:
        sample = "kfp_tabular_request_duration_seconds_sum"
        return value(scrape(watched.runtime), sample, protocol="v1")

    before = seconds()
    assert watched.slow.one().status_code == 200
    assert seconds() - before >= SLOW_BODY_S, "the latency histogram misses the body's read"
    fire_and_clear(watched, "KfpTabularHighLatencyP95", watched.slow.start, watched.slow.stop)


def test_shifted_inputs_fire_the_score_shift_alert(watched: Watched) -> None:
    traffic, bodies = watched.traffic, watched.bodies
    fire_and_clear(
        watched,
        "KfpTabularScoreShift",
        lambda: setattr(traffic, "body", bodies.shifted),
        lambda: setattr(traffic, "body", None),
    )


def test_unseen_categories_fire_the_unseen_values_alert(watched: Watched) -> None:
    traffic, bodies = watched.traffic, watched.bodies
    fire_and_clear(
        watched,
        "KfpTabularUnseenValues",
        lambda: setattr(traffic, "body", bodies.unseen),
        lambda: setattr(traffic, "body", None),
    )


def test_stopped_traffic_fires_the_traffic_alert(watched: Watched) -> None:
    traffic = watched.traffic
    fire_and_clear(
        watched,
        "KfpTabularTrafficStopped",
        lambda: setattr(traffic, "paused", True),
        lambda: setattr(traffic, "paused", False),
    )


# Grafana's variables as the dashboard would set them for the runtime scraped here.
GRAFANA_VARIABLES = {"$namespace": "local", "$model": "churn", "$__rate_interval": "30s"}


def test_every_dashboard_query_returns_data(watched: Watched) -> None:
    """Each panel and variable of the Grafana dashboard shows data from this real Prometheus.

    A 5xx cannot be caused (see the module's docstring), so the one panel query that selects
    ``status_class="5xx"`` must return data with ``4xx`` in its place: same metric and labels.
    """
    prometheus, runtime = watched.prometheus, watched.runtime
    odd = {**watched.bodies.healthy[0], **UNSEEN, "tenure": 999, "MonthlyCharges": None}
    assert runtime.client.post(PREDICT, json={"instances": [odd]}).status_code == 200
    assert runtime.client.post(PREDICT, json={"instances": [{"x": 1}]}).status_code == 400
    queries = {}
    # The drift panels read what the drift job pushes: tests/monitoring/test_drift_metrics.py.
    for query in (q for q in dashboard_queries() if "kfp_tabular_drift_" not in q):
        for name, setting in GRAFANA_VARIABLES.items():
            query = query.replace(name, setting)
        queries[query] = query.replace('status_class="5xx"', 'status_class="4xx"')

    def answered(query: str) -> bool:
        template = LABEL_VALUES.match(query)
        if template is None:
            return bool(prometheus.query(query))
        values = prometheus.client.get(
            f"/api/v1/label/{template['label']}/values", params={"match[]": template["selector"]}
        ).json()["data"]
        return bool(set(values) & {"local", "churn"})

    deadline = time.monotonic() + DEADLINE_S
    missing = list(queries)
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        missing = [shown for shown in missing if not answered(queries[shown])]
    assert not missing, f"no data within {DEADLINE_S:.0f} s from: {missing}"
