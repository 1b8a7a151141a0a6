"""Local traffic: a replay of the test split, split between stable and canary by a client.

There is no gateway on one machine, so the split a gateway would make is made here: every
request goes to the canary with probability ``canary_percent / 100`` (seeded), to stable
otherwise. Each request is one raw test row as a V2 request
(``components._shared.oip.v2_request``), its ``id`` the row's id column (a replayed row gets
``#<cycle>``), so labels that arrive later can be joined to it. Windows are bounded in requests and in seconds, every request has a
timeout, and only localhost is ever contacted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson

from components._shared.errors import ConfigError, expected_got
from components._shared.oip import v2_output, v2_request
from components._shared.schema import Schema

LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
SCORE_OUTPUT: Final = "probability"


def check_local(url: str) -> str:
    """``url`` if it points at this machine; the replay never sends data elsewhere."""
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise ConfigError(expected_got("local server url", f"a host in {sorted(LOCAL_HOSTS)}", url))
    return url.rstrip("/")


@dataclass(frozen=True)
class Endpoint:
    """A local server of one side."""

    side: str
    url: str
    model_name: str

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{self.model_name}/infer"


@dataclass
class Exchange:
    """One request: where it went, how it went (status 0: no HTTP answer), what came back."""

    side: str
    request_id: str
    status: int
    latency_ms: float
    score: float | None = None
    error: str = ""


@dataclass
class ReplaySource:
    """The test rows in a seeded order, handed out across steps; wraps around with a cycle."""

    records: list[dict[str, Any]]
    ids: list[str]
    seed: int
    cursor: int = 0
    order: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not self.records:
            raise ConfigError("rollout replay: the test split has no rows")
        self.order = np.random.default_rng(self.seed).permutation(len(self.records))

    def take(self) -> tuple[dict[str, Any], str]:
        """The next row and its request id."""
        cycle, position = divmod(self.cursor, len(self.records))
        self.cursor += 1
        index = int(self.order[position])
        row_id = self.ids[index]
        return self.records[index], row_id if cycle == 0 else f"{row_id}#{cycle}"


def row_ids(records: Sequence[Mapping[str, Any]], schema: Schema) -> list[str]:
    """Request ids: the first id column's value, else the row's position in the split."""
    column = next((c for c in schema.id_columns if records and c in records[0]), None)
    if column is None:
        return [f"row-{i}" for i in range(len(records))]
    return [str(r[column]) for r in records]


def _send(client: httpx.Client, endpoint: Endpoint, body: bytes, request_id: str) -> Exchange:
    start = time.perf_counter()
    try:
        response = client.post(
            endpoint.infer_url, content=body, headers={"content-type": "application/json"}
        )
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - start) * 1000.0
        return Exchange(endpoint.side, request_id, 0, elapsed, error=f"{type(exc).__name__}")
    elapsed = (time.perf_counter() - start) * 1000.0
    if response.status_code != 200:
        text = response.text[:200]
        return Exchange(endpoint.side, request_id, response.status_code, elapsed, error=text)
    try:
        score = float(v2_output(orjson.loads(response.content), SCORE_OUTPUT).ravel()[0])
    except (ValueError, KeyError, IndexError, orjson.JSONDecodeError) as exc:
        return Exchange(endpoint.side, request_id, 200, elapsed, error=f"bad response: {exc}")
    return Exchange(endpoint.side, request_id, 200, elapsed, score=score)


@dataclass
class ReplayWindow:
    """What one window sent."""

    exchanges: list[Exchange]
    seconds: float
    stopped_by: str  # "requests" or "time"


def replay(
    source: ReplaySource,
    schema: Schema,
    stable: Endpoint,
    canary: Endpoint,
    *,
    canary_percent: int,
    requests: int,
    max_seconds: float,
    concurrency: int,
    timeout_s: float,
    rng: np.random.Generator,
) -> ReplayWindow:
    """Send up to ``requests`` requests (or until ``max_seconds``), split by ``canary_percent``.

    Requests are sent ``concurrency`` at a time from a thread pool; the time bound is checked
    between batches, so a window stops at most one batch (``8 * concurrency`` requests) late.
    """
    for endpoint in (stable, canary):
        check_local(endpoint.url)
    # Exactly round(percent * requests / 100) canary requests, in a seeded random order: the
    # proportion is the configured one, not a coin's approximation of it.
    to_canary = rng.permutation(requests) < round(canary_percent * requests / 100)
    columns = [c for c in schema.column_names if c != schema.target]
    deadline = time.monotonic() + max_seconds
    exchanges: list[Exchange] = []
    start = time.perf_counter()
    stopped_by = "requests"
    limits = httpx.Limits(max_connections=concurrency * 2)
    with (
        httpx.Client(timeout=timeout_s, limits=limits) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        sent = 0
        while sent < requests:
            if time.monotonic() >= deadline:
                stopped_by = "time"
                break
            batch = []
            # Submit in small batches so the time bound is checked while traffic flows.
            for _ in range(min(concurrency * 8, requests - sent)):
                record, request_id = source.take()
                endpoint = canary if to_canary[sent] else stable
                present = [c for c in columns if c in record]
                body = orjson.dumps(
                    v2_request([record], schema, columns=present, request_id=request_id)
                )
                batch.append(pool.submit(_send, client, endpoint, body, request_id))
                sent += 1
            exchanges += [future.result() for future in batch]
    return ReplayWindow(exchanges, time.perf_counter() - start, stopped_by)
