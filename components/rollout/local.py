"""The ``local`` target: replay the test split to the two local servers, then act on them.

The record's stable and canary are local ``python -m serving`` processes (deploy's ``local``
target). Each step replays raw test rows split between them (:mod:`traffic`) and scrapes each
server's ``/metrics`` before and after (:mod:`prometheus`): error rate and latency are what the
client saw, the score histogram is the ``/metrics`` delta. With a feedback table, every scored
prediction so far also feeds the labelled A/B test. Promotion stops the old stable server (the
canary serves on); rollback stops the canary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from components._shared import io, keys, local_serving
from components._shared.errors import DataError
from components._shared.schema import Schema
from components._shared.tables import read_table
from components.rollout import analysis, prometheus, traffic
from components.rollout.analysis import Bounds, Check, SideWindow
from components.rollout.config import RolloutConfig
from components.rollout.prometheus import SCORE_BOUNDS
from components.rollout.record import side_of
from components.rollout.trail import step_record, walk


def roll_out(
    record: dict[str, Any],
    rows: list[dict[str, Any]],
    config: RolloutConfig,
    trail: dict[str, Any],
) -> tuple[bool, list[str]]:
    """Every step on the local servers, each recorded in ``trail``; (passed, reasons)."""
    replay = LocalReplay.start(record, rows, config)
    return walk(config.percents, replay.step, trail)


def act(record: dict[str, Any], promote: bool, config: RolloutConfig) -> dict[str, Any]:
    """Promotion stops the old stable server (the canary serves on); rollback stops the canary."""
    replaced = side_of(record, keys.DEPLOY_ROLE_STABLE if promote else keys.DEPLOY_ROLE_CANARY)
    serving = side_of(record, keys.DEPLOY_ROLE_CANARY if promote else keys.DEPLOY_ROLE_STABLE)
    action: dict[str, Any] = {
        "kind": "promote: canary serves all traffic"
        if promote
        else "rollback: stable serves all traffic",
        "serving": {k: serving.get(k) for k in (keys.DEPLOY_SIDE_URL, keys.DEPLOY_SIDE_BUNDLE_URI)},
        "replaced": {k: replaced.get(k) for k in (keys.DEPLOY_SIDE_URL, keys.DEPLOY_SIDE_PID)},
    }
    pid = replaced.get(keys.DEPLOY_SIDE_PID)
    if config.stop_replaced and isinstance(pid, int):
        try:
            local_serving.stop_server(pid)
            action["stopped_pid"] = pid
        except local_serving.LocalServingError as exc:
            action["stop_refused"] = str(exc)
    return action


def read_feedback(uri: str, schema: Schema) -> dict[str, int]:
    """{request id: 0/1 outcome} from a feedback table (``request_id``, ``label``)."""
    frame = read_table(uri)
    missing = [c for c in (keys.FEEDBACK_REQUEST_ID, keys.FEEDBACK_LABEL) if c not in frame]
    if missing:
        raise DataError(
            f"feedback {uri!r}: expected columns {keys.FEEDBACK_REQUEST_ID!r} and "
            f"{keys.FEEDBACK_LABEL!r}, missing {missing}; got {list(frame.columns)[:10]}"
        )
    labels = frame[keys.FEEDBACK_LABEL]
    positive = labels.astype(str).str.strip().isin({schema.positive_label, "1", "True", "true"})
    return dict(zip(frame[keys.FEEDBACK_REQUEST_ID].astype(str), positive.astype(int), strict=True))


@dataclass
class Ledger:
    """Every scored prediction so far: (side, request id, score), for the labelled A/B test."""

    sides: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, window: traffic.ReplayWindow) -> None:
        for e in window.exchanges:
            if e.score is not None:
                self.sides.append(e.side)
                self.ids.append(e.request_id)
                self.scores.append(e.score)

    def ab(self, feedback: dict[str, int], bounds: Bounds) -> Check:
        """The A/B test on every prediction whose request id has an outcome in ``feedback``.

        A replayed row (id ``<row id>#<cycle>``) is the same customer again, so it takes its
        row's outcome when the feedback has no entry for the replay's own id.
        """
        arms = {}
        for side in (keys.DEPLOY_ROLE_STABLE, keys.DEPLOY_ROLE_CANARY):
            pairs = []
            for d, request_id, score in zip(self.sides, self.ids, self.scores, strict=True):
                label = feedback.get(request_id, feedback.get(request_id.split("#")[0]))
                if d == side and label is not None:
                    pairs.append((label, score))
            arms[side] = (
                np.array([p[0] for p in pairs], dtype=np.int64),
                np.array([p[1] for p in pairs], dtype=np.float64),
            )
        s_labels, s_scores = arms[keys.DEPLOY_ROLE_STABLE]
        c_labels, c_scores = arms[keys.DEPLOY_ROLE_CANARY]
        return analysis.ab_test(s_labels, s_scores, c_labels, c_scores, bounds)


@dataclass
class LocalReplay:
    """The replay's state across steps: the two servers, the rows, stable's windows so far."""

    stable: traffic.Endpoint
    canary: traffic.Endpoint
    schema: Schema
    source: traffic.ReplaySource
    rng: np.random.Generator
    config: RolloutConfig
    bounds: Bounds
    feedback: dict[str, int] | None
    ledger: Ledger = field(default_factory=Ledger)
    stable_windows: list[SideWindow] = field(default_factory=list)

    @classmethod
    def start(
        cls, record: dict[str, Any], rows: list[dict[str, Any]], config: RolloutConfig
    ) -> LocalReplay:
        """The record's two local servers (checked to be local), the rows in seeded order."""
        stable_side = side_of(record, keys.DEPLOY_ROLE_STABLE)
        canary_side = side_of(record, keys.DEPLOY_ROLE_CANARY)
        stable = _endpoint(keys.DEPLOY_ROLE_STABLE, stable_side)
        canary = _endpoint(keys.DEPLOY_ROLE_CANARY, canary_side)
        schema = _schema_of(stable_side[keys.DEPLOY_SIDE_BUNDLE_URI])
        source = traffic.ReplaySource(rows, traffic.row_ids(rows, schema), config.seed)
        rng = np.random.default_rng(config.seed)
        feedback = read_feedback(config.feedback_uri, schema) if config.feedback_uri else None
        return cls(stable, canary, schema, source, rng, config, Bounds.of(config), feedback)

    def step(self, percent: int) -> dict[str, Any]:
        """One step: replay its window at ``percent``, compare the sides, record the step."""
        started = time.perf_counter()
        stable, canary, config = self.stable, self.canary, self.config
        before = {e.side: prometheus.scrape(e.url) for e in (stable, canary)}
        # The canary gets window_requests at every step, whatever its share: each step judges it
        # on the same evidence (at 10%, 300 canary requests mean ~3,000 in all).
        total = int(np.ceil(config.window_requests * 100 / percent))
        window = traffic.replay(
            self.source,
            self.schema,
            stable,
            canary,
            canary_percent=percent,
            requests=total,
            max_seconds=config.window_seconds,
            concurrency=config.concurrency,
            timeout_s=config.request_timeout_s,
            rng=self.rng,
        )
        after = {e.side: prometheus.scrape(e.url) for e in (stable, canary)}
        windows = {
            e.side: side_window(e.side, window, before[e.side], after[e.side], e.model_name)
            for e in (stable, canary)
        }
        self.stable_windows.append(windows[stable.side])
        baseline = analysis.merge(stable.side, self.stable_windows)
        checks = analysis.analyse_step(
            baseline, windows[canary.side], self.bounds, same_window=windows[stable.side]
        )
        self.ledger.add(window)
        if self.feedback is not None:
            checks.append(self.ledger.ab(self.feedback, self.bounds))
        sent = {
            "sent": len(window.exchanges),
            "planned": total,
            "stopped_by": window.stopped_by,
            "seconds": round(window.seconds, 3),
        }
        step = step_record(
            percent, windows[stable.side], baseline, windows[canary.side], checks, {"traffic": sent}
        )
        step["seconds"] = round(time.perf_counter() - started, 3)
        return step


def side_window(
    side: str, window: traffic.ReplayWindow, before: Any, after: Any, model_name: str
) -> SideWindow:
    """One side's part of a replay window: the client's view plus its server's /metrics delta."""
    mine = [e for e in window.exchanges if e.side == side]
    scores = np.array([e.score for e in mine if e.score is not None], dtype=np.float64)
    out = SideWindow(
        side=side,
        requests=len(mine),
        errors=sum(1 for e in mine if e.score is None),
        latencies_ms=np.array([e.latency_ms for e in mine], dtype=np.float64),
        latency_source="client-observed",
        score_bounds=SCORE_BOUNDS,
        scores=scores,
        error_examples=[f"HTTP {e.status or 'no answer'} {e.error}"[:160] for e in mine if e.error][
            :3
        ],
    )
    if before is not None and after is not None:
        d = prometheus.delta(before, after, model_name)
        if d.score_counts.size == SCORE_BOUNDS.size:
            out.score_counts = d.score_counts
        out.extra = {
            "metrics_source": "/metrics delta",
            "server_predictions": int(d.predictions),
            # KServe's request_predict_seconds buckets start at 5 ms, so this interpolated p95
            # cannot tell sub-millisecond models apart; the client's p95 decides locally.
            "server_latency_p95_ms": None
            if d.latency_p95_ms is None
            else round(d.latency_p95_ms, 4),
        }
    else:
        out.extra = {"metrics_source": "/metrics unreachable (scrape failed)"}
    if out.score_counts is None and scores.size and before is not None and after is not None:
        out.score_counts = analysis.bucket_counts(scores, SCORE_BOUNDS)
    return out


def _endpoint(role: str, side: dict[str, Any]) -> traffic.Endpoint:
    return traffic.Endpoint(
        role, traffic.check_local(side["url"]), side[keys.DEPLOY_SIDE_MODEL_NAME]
    )


def _schema_of(bundle_uri: str) -> Schema:
    manifest = io.read_json(io.join(bundle_uri, keys.MANIFEST_FILE))
    return Schema.from_dict(manifest[keys.MANIFEST_SCHEMA])
