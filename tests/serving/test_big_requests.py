"""Big requests: probes stay answered while a large batch is scored, and a body over the limit
gets its 413 even from a client that sends ``Connection: close``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from components._shared.oip import v2_request
from tests.serving.conftest import MODEL_NAME, Runtime, Trained


@pytest.fixture(scope="module")
def roomy(trained: Trained) -> Iterator[Runtime]:
    """A lean runtime that takes bodies up to 256 MB."""
    runtime = Runtime(trained.path, "--max_body_bytes=256000000")
    try:
        runtime.wait_ready()
        yield runtime
    finally:
        runtime.stop()


def test_health_and_readiness_answer_while_a_large_batch_is_scored(
    roomy: Runtime, trained: Trained
) -> None:
    records = trained.records()
    rows = (records * (48_000 // len(records) + 1))[:48_000]
    body = v2_request(rows, trained.bundle.schema)
    result: dict[str, object] = {}

    def score() -> None:
        started = time.perf_counter()
        response = roomy.client.post(f"/v2/models/{MODEL_NAME}/infer", json=body, timeout=120)
        result["status"], result["seconds"] = response.status_code, time.perf_counter() - started
        result["rows"] = response.json()["outputs"][0]["shape"][0]

    batch = threading.Thread(target=score)
    batch.start()
    probes = []
    while batch.is_alive():
        started = time.perf_counter()
        status = roomy.client.get("/v2/health/ready", timeout=5).status_code
        probes.append((status, time.perf_counter() - started))
        time.sleep(0.05)
    batch.join()
    assert result["status"] == 200 and result["rows"] == 48_000
    assert len(probes) >= 3, f"the batch took {result['seconds']:.2f} s: too short to probe"
    slowest = max(seconds for _, seconds in probes)
    assert all(status == 200 for status, _ in probes)
    # Kubernetes' default probe timeout is 1 s; a probe held behind the batch took as long as
    # the batch itself (about a second and more here).
    assert slowest < 1.0, (
        f"a probe took {slowest:.2f} s while a {result['seconds']:.2f} s batch ran"
    )


def test_an_oversized_body_with_connection_close_gets_its_413(runtime: Runtime) -> None:
    # The runtime fixture refuses bodies over 200 kB.
    body = b"x" * 1_000_000
    head = (
        f"POST /v2/models/{MODEL_NAME}/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=30) as sock:
        sock.sendall(head)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)  # the answer may come before the whole body went out
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"expected at most 200000 bytes" in response
    assert runtime.alive()


def test_scores_from_the_worker_thread_equal_the_event_loop_ones(
    roomy: Runtime, trained: Trained
) -> None:
    records = trained.records()
    small = v2_request(records[:5], trained.bundle.schema)
    large = v2_request((records * 200)[:2000], trained.bundle.schema)  # over 64 kB: a thread
    url = f"/v2/models/{MODEL_NAME}/infer"
    p_small = roomy.client.post(url, json=small).json()["outputs"][0]["data"]
    p_large = roomy.client.post(url, json=large).json()["outputs"][0]["data"]
    np.testing.assert_array_equal(p_small, trained.served_proba_records(records[:5]))
    np.testing.assert_array_equal(p_large, trained.served_proba_records((records * 200)[:2000]))
    # Small requests are scored by the compiled trees, large ones by the booster: the same rows
    # agree within the parity tolerance (components/_shared/compiled.py).
    assert np.max(np.abs(np.asarray(p_small) - np.asarray(p_large[:5]))) <= 1e-6
