"""Logged inference exchanges (request + response, paired by request id) from payload-logger output.

KServe's logger (``spec.predictor.logger``, mode ``all``) emits one CloudEvent per request
(``org.kubeflow.serving.inference.request``) and one per response
(``org.kubeflow.serving.inference.response``) with the **same** event ``id``, the request id
(``X-Request-Id`` when the caller set one), plus the extensions ``inferenceservicename``,
``namespace``, ``component`` and ``endpoint``. Stored in structured mode (``.json`` /
``.jsonl``: ``{"specversion", "id", "type", "source", "time", "data" | "data_base64", ...}``),
as :mod:`components.drift.current` reads them. Istio's mirror copies the request's headers, so
the champion's and the shadow's events for one mirrored request share that id.

Batched tables (``.csv`` / ``.parquet``) hold one row per scored instance: a request id column
(``id`` or ``request_id``), the input columns, and for responses ``probability`` (and ``label``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import io
from components._shared.errors import DataReadError
from components.drift.current import EVENT_FILES, REQUEST_EVENT, RESPONSE_EVENT, TABLE_FILES

ID_COLUMNS: Final = ("id", "request_id")
SCORE_COLUMN: Final = "probability"
LABEL_COLUMN: Final = "label"


@dataclass
class Exchange:
    """One logged request and, when logged, its response."""

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


def _events(text: str) -> list[Any]:
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError:
        out: list[Any] = []
        for line in text.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append(None)
        return out


def _data(event: dict[str, Any]) -> Any:
    data = event.get("data")
    if data is None and "data_base64" in event:
        data = json.loads(base64.b64decode(event["data_base64"]))
    if isinstance(data, str):
        data = json.loads(data)
    return data


def response_scores(data: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(P(positive) per row, labels or None) from a V1 or V2 response body of this runtime.

    Raises:
        ValueError: the body is neither.
    """
    if isinstance(data, dict) and isinstance(data.get("predictions"), list):
        rows = data["predictions"]
        if all(isinstance(r, dict) for r in rows):
            labels = [r.get("label") for r in rows]
            return (
                np.array([float(r["probability"]) for r in rows]),
                None if None in labels else np.array(labels, dtype=object),
            )
        return np.array([float(r) for r in rows]), None
    if isinstance(data, dict) and isinstance(data.get("outputs"), list):
        named = {o.get("name"): o.get("data") for o in data["outputs"] if isinstance(o, dict)}
        if SCORE_COLUMN in named:
            label = named.get(LABEL_COLUMN)
            return (
                np.ravel(np.asarray(named[SCORE_COLUMN], dtype=np.float64)),
                None if label is None else np.ravel(np.asarray(label, dtype=object)),
            )
    raise ValueError(f"expected a V1 'predictions' or V2 'outputs' body, got {str(data)[:120]!r}")


def _time(value: Any) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(value).tz_convert("UTC") if value else None
    except (ValueError, TypeError):
        try:
            return pd.Timestamp(value).tz_localize("UTC")
        except (ValueError, TypeError):
            return None


def _from_events(uri: str, exchanges: dict[str, Exchange], counts: ReadCounts) -> None:
    for position, event in enumerate(_events(io.read_text(uri))):
        counts.events += 1
        where = f"{uri} event {position}"
        if not isinstance(event, dict) or not event.get("id"):
            counts.problem(f"{where}: expected a CloudEvent object with an id")
            continue
        kind = str(event.get("type") or "")
        exchange = exchanges.setdefault(str(event["id"]), Exchange(str(event["id"])))
        exchange.service = str(event.get("inferenceservicename") or exchange.service)
        try:
            data = _data(event)
        except (ValueError, TypeError):
            counts.problem(f"{where}: data is not JSON")
            continue
        if kind == REQUEST_EVENT:
            exchange.request, exchange.request_time = data, _time(event.get("time"))
        elif kind == RESPONSE_EVENT:
            try:
                exchange.scores, exchange.labels = response_scores(data)
            except (ValueError, KeyError, TypeError) as exc:
                counts.unreadable_responses += 1
                counts.problem(f"{where}: {exc}")
                continue
            exchange.response_time = _time(event.get("time"))
        else:
            counts.problem(f"{where}: unknown event type {kind!r}")


def _from_table(uri: str, exchanges: dict[str, Exchange], counts: ReadCounts) -> None:
    with io.local_copy(uri) as local:
        path = Path(local)
        frame = pd.read_parquet(path) if uri.endswith((".parquet", ".pq")) else pd.read_csv(path)
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None:
        counts.problem(
            f"{uri}: expected a request id column {ID_COLUMNS}, got {list(frame.columns)[:10]}"
        )
        return
    inputs = [
        c for c in frame.columns if c not in (*ID_COLUMNS, SCORE_COLUMN, LABEL_COLUMN, "time")
    ]
    for request_id, rows in frame.groupby(frame[id_column].astype(str), sort=False):
        counts.events += 1
        exchange = exchanges.setdefault(str(request_id), Exchange(str(request_id)))
        if inputs:
            exchange.request = {"instances": json.loads(rows[inputs].to_json(orient="records"))}
        if SCORE_COLUMN in rows:
            exchange.scores = rows[SCORE_COLUMN].to_numpy(dtype=np.float64)
            if LABEL_COLUMN in rows:
                exchange.labels = rows[LABEL_COLUMN].to_numpy(dtype=object)


def read_exchanges(uri: str) -> tuple[dict[str, Exchange], ReadCounts]:
    """Every logged exchange under ``uri`` (a file or prefix; local or gs://), by request id."""
    files = [f for f in io.list_files(uri) if not Path(f).name.startswith((".", "_"))]
    usable = [f for f in files if f.endswith(EVENT_FILES + TABLE_FILES)]
    if not usable:
        raise DataReadError(
            f"logged requests {uri!r}: no .json/.jsonl/.csv/.parquet files under it"
        )
    exchanges: dict[str, Exchange] = {}
    counts = ReadCounts()
    for file_uri in sorted(usable):
        counts.files += 1
        if file_uri.endswith(EVENT_FILES):
            _from_events(file_uri, exchanges, counts)
        else:
            _from_table(file_uri, exchanges, counts)
    return exchanges, counts


def iter_requests(exchanges: dict[str, Exchange]) -> Iterator[Exchange]:
    """Exchanges whose request was logged, in id order (deterministic replays)."""
    for key in sorted(exchanges):
        if exchanges[key].request is not None:
            yield exchanges[key]
