"""Adaptive micro-batching: concurrent requests scored together get exactly their own answers.

In process, the batcher runs on a real event loop with the real scorer; over HTTP, a real
``python -m serving --max_batch_size=32`` answers concurrent V1 and V2 requests (and a bad one),
and gRPC calls (and a bad request), each compared with the same rows scored on their own.

The latency tail of batched serving (p99 70-130 ms at concurrency 32) was Python's full garbage
collections walking the loaded heap; it is tested by what a collection walks, not by timing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from dataclasses import replace

import httpx
import numpy as np
import pytest
from kserve import InferenceGRPCClient

from components._shared.oip import v2_output, v2_request
from serving.batching import MicroBatcher
from serving.codec import Decoded, RequestError
from serving.scoring import Scorer
from serving.server import freeze_loaded_heap
from tests.serving.clients import expected_scores
from tests.serving.conftest import ROOT, Runtime, Trained
from tests.serving.test_clients_grpc import kserve_request, output

REQUESTS = 40


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> Scorer:
    return Scorer(trained.bundle, name="churn")


def rows_of(i: int) -> slice:
    """The rows of request i: 1 to 3, and 12 for every tenth (more than compiled xgboost takes:
    those go to the booster, alone or in a batch)."""
    return slice(i, i + (12 if i % 10 == 9 else 1 + i % 3))


def decoded_requests(scorer: Scorer, trained: Trained) -> list[Decoded]:
    """REQUESTS V2 requests of different rows."""
    records = trained.records(REQUESTS + 12)
    return [
        scorer.codec.decode_v2(v2_request(records[rows_of(i)], trained.bundle.schema))
        for i in range(REQUESTS)
    ]


async def score_concurrently(batcher: MicroBatcher, requests: list[Decoded]) -> list[object]:
    return await asyncio.gather(*(batcher.score(d) for d in requests), return_exceptions=True)


@pytest.mark.parametrize("wait_s", [0.0, 0.002])
def test_each_request_gets_exactly_its_unbatched_answer(
    scorer: Scorer, trained: Trained, wait_s: float
) -> None:
    requests = decoded_requests(scorer, trained)
    batcher = MicroBatcher(scorer.score_many, scorer.score, max_batch_size=16, max_wait_s=wait_s)
    results = asyncio.run(score_concurrently(batcher, requests))
    for decoded, result in zip(requests, results, strict=True):
        assert isinstance(result, np.ndarray) and result.shape == (decoded.rows,)
        np.testing.assert_array_equal(result, scorer.score(decoded))
    assert batcher.batched_requests == REQUESTS
    assert batcher.batches < REQUESTS / 3  # they were scored together, 32 rows at most
    # A 12-row request is scored as it would be alone: by the booster (compiled xgboost takes
    # up to 8 rows), even when its neighbours in the batch are compiled.
    assert scorer.evaluation.for_rows(12) is not scorer.evaluation.predict
    assert scorer.evaluation.for_rows(1) is scorer.evaluation.predict


def test_a_bad_request_fails_alone(scorer: Scorer, trained: Trained) -> None:
    requests = decoded_requests(scorer, trained)[:6]
    columns = dict(requests[2].columns)
    del columns["tenure"]  # a request the featurizer refuses: the batch fails, then each alone
    requests[2] = replace(requests[2], columns=columns)
    batcher = MicroBatcher(scorer.score_many, scorer.score, max_batch_size=64)
    results = asyncio.run(score_concurrently(batcher, requests))
    assert isinstance(results[2], RequestError) and "tenure" in str(results[2])
    for i, (decoded, result) in enumerate(zip(requests, results, strict=True)):
        if i != 2:
            np.testing.assert_array_equal(result, scorer.score(decoded))


def test_the_batcher_refuses_nonsense_settings(scorer: Scorer) -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        MicroBatcher(scorer.score_many, scorer.score, max_batch_size=1)
    with pytest.raises(ValueError, match="max_wait_s"):
        MicroBatcher(scorer.score_many, scorer.score, max_batch_size=8, max_wait_s=-1)


async def _loop_turns_until_settled(tasks: list[asyncio.Task[np.ndarray]]) -> int:
    """Turns of the event loop (``sleep(0)``) until every task is done (at most 100)."""
    turns = 0
    while not all(task.done() for task in tasks) and turns < 100:
        await asyncio.sleep(0)
        turns += 1
    return turns


def test_no_request_waits_past_the_first_batch_that_can_take_it(
    scorer: Scorer, trained: Trained
) -> None:
    """100 concurrent requests: the first is scored at once, the others in full batches closed at
    once and a remainder closed in the next loop turn, all settled within three turns (the
    requests run, the batch closes, the requests resume), never one left pending. Then lone
    requests: the first after the burst in a batch of one, the next ones at once, in the turn
    they arrive (a lone request waits for nothing)."""
    one_row = decoded_requests(scorer, trained)[0]  # rows_of(0): one row
    sizes: list[int] = []
    batcher = MicroBatcher(scorer.score_many, scorer.score, max_batch_size=32, observe=sizes.append)

    async def fire(count: int) -> tuple[int, list[np.ndarray]]:
        tasks = [asyncio.create_task(batcher.score(one_row)) for _ in range(count)]
        turns = await _loop_turns_until_settled(tasks)
        return turns, [task.result() for task in tasks]

    async def scenario() -> list[tuple[int, list[np.ndarray]]]:
        return [await fire(count) for count in (100, 1, 1, 1)]

    (burst, results), *lone = asyncio.run(scenario())
    assert sizes == [1, 32, 32, 32, 3, 1, 1, 1]
    assert burst <= 3
    assert [turns for turns, _ in lone][1:] == [1, 1] and lone[0][0] <= 3
    expected = scorer.score(one_row)
    for result in [*results, *(r for _, answers in lone for r in answers)]:
        np.testing.assert_array_equal(result, expected)


def test_full_collections_while_serving_do_not_walk_the_loaded_model(
    scorer: Scorer, trained: Trained
) -> None:
    """The tail of batched serving: a full garbage collection walked every object of the loaded
    process (the model, kserve, numpy, ...) and stopped the loop 115-140 ms; requests waiting
    in batches triggered one every few seconds. Frozen before serving, the loaded objects are
    out of the collector's sight: what a collection walks is what serving made since."""
    requests = decoded_requests(scorer, trained)
    batcher = MicroBatcher(scorer.score_many, scorer.score, max_batch_size=16)
    try:
        frozen = freeze_loaded_heap()
        for _ in range(5):
            asyncio.run(score_concurrently(batcher, requests))
        walked = len(gc.get_objects())  # every object a full collection would visit now
    finally:
        gc.unfreeze()
    assert frozen > 100_000  # this process, as the server, holds the model and its libraries
    assert walked < frozen / 20, f"a full collection would walk {walked} of {frozen} objects"


GRPC_REQUESTS = 8


async def _fire_grpc(runtime: Runtime, trained: Trained) -> list[np.ndarray]:
    """GRPC_REQUESTS concurrent ModelInfer calls of the first 1..GRPC_REQUESTS test rows."""
    async with InferenceGRPCClient(f"127.0.0.1:{runtime.grpc_port}", retries=0) as client:
        calls = [client.infer(kserve_request(trained, n, raw=n % 2 == 0)) for n in _grpc_rows()]
        return [output(response, "probability") for response in await asyncio.gather(*calls)]


def _grpc_rows() -> range:
    return range(1, GRPC_REQUESTS + 1)


async def _fire_all(
    runtime: Runtime, trained: Trained
) -> tuple[list[httpx.Response], list[np.ndarray]]:
    rest, grpc = await asyncio.gather(_fire(runtime, trained), _fire_grpc(runtime, trained))
    return rest, grpc


async def _fire(runtime: Runtime, trained: Trained) -> list[httpx.Response]:
    records = trained.records(REQUESTS + 12)
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=runtime.url, timeout=30, limits=limits) as client:
        calls = []
        for i in range(REQUESTS):
            rows = records[rows_of(i)]
            if i == 7:
                body = v2_request(rows, trained.bundle.schema)
                body["inputs"][0]["data"] = ["not a column value"] * (len(rows) + 1)
                calls.append(client.post(f"/v2/models/{runtime.name}/infer", json=body))
            elif i % 2:
                calls.append(
                    client.post(f"/v1/models/{runtime.name}:predict", json={"instances": rows})
                )
            else:
                body = v2_request(rows, trained.bundle.schema)
                calls.append(client.post(f"/v2/models/{runtime.name}/infer", json=body))
        return list(await asyncio.gather(*calls))


def test_the_batching_server_answers_each_request_as_alone(trained: Trained) -> None:
    runtime = Runtime(
        trained.path, "--max_batch_size=32", "--max_batch_wait_ms=5", "--enable_grpc=true"
    )
    try:
        runtime.wait_ready()
        responses, grpc_scores = asyncio.run(_fire_all(runtime, trained))
        for n, scores in zip(_grpc_rows(), grpc_scores, strict=True):
            np.testing.assert_array_equal(scores, expected_scores(trained, n))
        records = trained.records(REQUESTS + 12)
        for i, response in enumerate(responses):
            if i == 7:
                assert response.status_code == 400 and "mismatched shapes" in response.text
                continue
            assert response.status_code == 200, response.text
            payload = response.json()
            scores = (
                [p["probability"] for p in payload["predictions"]]
                if i % 2
                else v2_output(payload, "probability")
            )
            expected = trained.served_proba_records(records[rows_of(i)])
            np.testing.assert_array_equal(np.asarray(scores), expected)
        metrics = runtime.client.get("/metrics").text
    finally:
        runtime.stop()
    count = _sample(metrics, "kfp_tabular_micro_batch_requests_count")
    total = _sample(metrics, "kfp_tabular_micro_batch_requests_sum")
    # Every good request, REST or gRPC, went through the batcher.
    assert count >= 1 and total == REQUESTS - 1 + GRPC_REQUESTS
    assert count < total, "no two concurrent requests were ever scored together"
    log = runtime.log.read_text()
    assert "micro-batching up to 32 rows" in log
    assert "objects of the loaded model and libraries frozen" in log


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_the_benchmarks_grpc_load_generator(runtime: Runtime, trained: Trained) -> None:
    """tests/perf/serving_bench/grpc_load.py (the benchmark's gRPC load) against the server."""
    body = kserve_request(trained, 1, raw=False).to_grpc().SerializeToString()
    path = runtime.log.parent / "grpc-body.bin"
    path.write_bytes(body)
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "perf" / "serving_bench" / "grpc_load.py"),
            f"--target=127.0.0.1:{runtime.grpc_port}",
            f"--body={path}",
            "--concurrency=4",
            "--duration=1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["requests"] > 10 and result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
