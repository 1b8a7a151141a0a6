"""Logged inference exchanges (request + scored response, paired by request id).

The payload-logger output is read by :mod:`components._shared.payload_log` (CloudEvents in
structured or binary-header form, request and response events paired by their shared id;
batched ``.csv`` / ``.parquet`` tables). Istio's mirror copies the request's headers, so the
champion's and the shadow's events for one mirrored request share that id. Here each response
becomes the scores this runtime answered (V1 or V2).

Batched tables hold one row per scored instance: a request id column (``id`` or
``request_id``), the input columns, and for responses ``probability`` (and ``label``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components._shared import payload_log
from components._shared.errors import DataReadError
from components._shared.payload_log import (
    ID_COLUMNS,
    LABEL_OUTPUT,
    SCORE_OUTPUT,
    TIME_COLUMN,
    response_scores,
)


@dataclass
class Exchange:
    """One logged request and, when logged, its response's scores."""

    request_id: str
    request: Any = None
    request_time: pd.Timestamp | None = None
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    response_time: pd.Timestamp | None = None
    service: str = ""
    client_latency_ms: float | None = None

    @property
    def latency_ms(self) -> float | None:
        """Measured by the replay client, else response minus request event time (the
        logger's clock)."""
        if self.client_latency_ms is not None:
            return self.client_latency_ms
        if self.request_time is None or self.response_time is None:
            return None
        return (self.response_time - self.request_time).total_seconds() * 1000.0


@dataclass
class ReadCounts:
    """What reading saw and skipped (nothing silently)."""

    files: int = 0
    events: int = 0
    malformed: int = 0
    unreadable_responses: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.malformed += 1
        if len(self.problems) < 20:
            self.problems.append(text)


def read_exchanges(uri: str) -> tuple[dict[str, Exchange], ReadCounts]:
    """Every logged exchange under ``uri`` (a file or prefix; local or gs://), by request id."""
    usable = [f for f in payload_log.log_files(uri) if payload_log.is_log_file(f)]
    if not usable:
        raise DataReadError(
            f"logged requests {uri!r}: no .json/.jsonl/.csv/.parquet files under it"
        )
    counts = ReadCounts(files=len(usable))
    pairs: dict[str, payload_log.Exchange] = {}
    for file_uri in usable:
        if payload_log.is_event_file(file_uri):
            _pair_events(file_uri, pairs, counts)
    exchanges = {key: _scored(pair, counts) for key, pair in pairs.items()}
    for file_uri in usable:
        if not payload_log.is_event_file(file_uri):
            _from_table(file_uri, exchanges, counts)
    return exchanges, counts


def iter_requests(exchanges: dict[str, Exchange]) -> Iterator[Exchange]:
    """Exchanges whose request was logged, in id order (deterministic replays)."""
    for key in sorted(exchanges):
        if exchanges[key].request is not None:
            yield exchanges[key]


def _pair_events(uri: str, pairs: dict[str, payload_log.Exchange], counts: ReadCounts) -> None:
    events = payload_log.read_events(uri)
    if events is None:
        counts.problem(f"{uri}: not JSON, a JSON array or JSON Lines")
        return
    counts.events += len(events)
    where = (f"{uri} event {position}" for position in range(len(events)))
    payload_log.pair_by_id(zip(where, events, strict=True), pairs, counts.problem)


def _scored(pair: payload_log.Exchange, counts: ReadCounts) -> Exchange:
    """The exchange with its response body read as scores (an unreadable one is counted)."""
    exchange = Exchange(pair.request_id, pair.request, pair.request_time, service=pair.service)
    if pair.response is None:
        return exchange
    try:
        exchange.scores, exchange.labels = response_scores(pair.response)
    except (ValueError, KeyError, TypeError) as exc:
        counts.unreadable_responses += 1
        counts.problem(f"{pair.response_where}: {exc}")
        return exchange
    exchange.response_time = pair.response_time
    return exchange


def _from_table(uri: str, exchanges: dict[str, Exchange], counts: ReadCounts) -> None:
    frame = payload_log.read_table(uri)
    id_column = payload_log.id_column(frame)
    if id_column is None:
        counts.problem(
            f"{uri}: expected a request id column {ID_COLUMNS}, got {list(frame.columns)[:10]}"
        )
        return
    outputs = (*ID_COLUMNS, SCORE_OUTPUT, LABEL_OUTPUT, TIME_COLUMN)
    inputs = [c for c in frame.columns if c not in outputs]
    for request_id, rows in frame.groupby(frame[id_column].astype(str), sort=False):
        counts.events += 1
        exchange = exchanges.setdefault(str(request_id), Exchange(str(request_id)))
        if inputs:
            exchange.request = {"instances": json.loads(rows[inputs].to_json(orient="records"))}
        if SCORE_OUTPUT in rows:
            exchange.scores = rows[SCORE_OUTPUT].to_numpy(dtype=np.float64)
            if LABEL_OUTPUT in rows:
                exchange.labels = rows[LABEL_OUTPUT].to_numpy(dtype=object)
