"""Adaptive micro-batching: concurrent requests scored in one featurizer and model call.

As KServe's batcher (``maxBatchSize``, ``maxLatency``) and MLServer's adaptive batching
(``max_batch_size``, ``max_batch_time``), with one difference that suits a one-loop server: a
batch is closed when the event loop has run every callback that was ready when the first request
of the batch arrived (``loop.call_soon``), so the requests whose bytes came in together are
batched. A request with no sign of concurrency (no batch open, the last batch held one request,
and no request was scored earlier in this turn of the loop) is scored at once, as unbatched: a
lone request waits for nothing, not even the loop turn and future a batch costs. ``max_wait_s``
> 0 adds a timer instead: the batch closes after that long or at ``max_batch_size`` rows,
whichever comes first.

Each request is decoded and encoded on its own (its errors stay its own); only the featurizer
and the trees run once per batch. A request's rows are evaluated exactly as they would be alone
(both are row-wise), so its answer does not depend on its neighbours. If the batch's scoring
fails, each request is scored on its own, so one request's bad row never fails another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np

from serving.codec import Decoded

ScoreMany = Callable[[Sequence[Decoded]], list[np.ndarray]]
Score = Callable[[Decoded], np.ndarray]

# On by default: at 1-row concurrency 32 on one core it doubles the requests/s of unbatched
# serving with a lower p99, and a lone request is scored at once (serving/README.md, "Speed").
DEFAULT_MAX_BATCH_SIZE: Final = 32
DEFAULT_MAX_WAIT_S: Final = 0.0

logger = logging.getLogger("serving")


class MicroBatcher:
    """Collects decoded requests and scores them together.

    Args:
        score_many: Scores several decoded requests in one call (``Scorer.score_many``).
        score_one: Scores one request (``Scorer.score``): the fallback when a batch fails.
        max_batch_size: Rows at which a batch is closed at once (at least 2).
        max_wait_s: 0: close the batch once the loop has run what was ready; > 0: this long.
        observe: Receives the number of requests of every batch (a Prometheus histogram).
    """

    def __init__(
        self,
        score_many: ScoreMany,
        score_one: Score,
        *,
        max_batch_size: int,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch_size < 2:
            raise ValueError(f"max_batch_size: expected at least 2, got {max_batch_size}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s: expected 0 or more seconds, got {max_wait_s}")
        self.score_many = score_many
        self.score_one = score_one
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.observe = observe
        self._pending: list[tuple[Decoded, asyncio.Future[np.ndarray]]] = []
        self._rows = 0
        self._handle: asyncio.Handle | asyncio.TimerHandle | None = None
        self._concurrent = False  # the last batch held 2 requests or more
        # The loop in whose current turn a request was scored at once (None: no such request).
        self._scored_in: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # batches scored, and the requests in them (for tests and logs)
        self.batched_requests = 0

    async def score(self, decoded: Decoded) -> np.ndarray:
        """P(positive) of ``decoded``'s rows, scored with whatever else is pending."""
        loop = asyncio.get_running_loop()
        alone = not (self.max_wait_s or self._pending or self._concurrent)
        if alone and self._scored_in is not loop:
            return self._score_at_once(loop, decoded)
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((decoded, future))
        self._rows += decoded.rows
        if self._rows >= self.max_batch_size:
            self._flush()
        elif self._handle is None:
            if self.max_wait_s > 0:
                self._handle = loop.call_later(self.max_wait_s, self._flush)
            else:
                self._handle = loop.call_soon(self._flush)
        return await future

    def _score_at_once(self, loop: asyncio.AbstractEventLoop, decoded: Decoded) -> np.ndarray:
        """Score a request alone, now; a request arriving later in this loop turn batches."""
        self._scored_in = loop
        loop.call_soon(self._new_turn)
        self._count([decoded])
        return self.score_one(decoded)

    def _new_turn(self) -> None:
        self._scored_in = None

    def _count(self, batch: Sequence[object]) -> None:
        self.batches += 1
        self.batched_requests += len(batch)
        if self.observe is not None:
            self.observe(len(batch))

    def _flush(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        batch, self._pending, self._rows = self._pending, [], 0
        batch = [(decoded, future) for decoded, future in batch if not future.cancelled()]
        if not batch:
            return
        self._concurrent = len(batch) > 1
        self._count(batch)
        try:
            results = self.score_many([decoded for decoded, _ in batch])
        except Exception:  # one request's rows failed the batch: score each on its own
            for decoded, future in batch:
                self._settle_one(decoded, future)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _settle_one(self, decoded: Decoded, future: asyncio.Future[np.ndarray]) -> None:
        try:
            future.set_result(self.score_one(decoded))
        except Exception as exc:  # this request's own error (a 400, or a bug: a 500)
            future.set_exception(exc)
