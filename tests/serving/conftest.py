"""A tiny bundle trained in this session from the real Telco data, and the runtime serving it.

The bundle is made by the project's own executors (validate -> featurize -> train), as a pipeline
run makes it; nothing is checked in. ``runtime`` is the real ``python -m serving`` process on a
free localhost port (the lean server); ``kserve_runtime`` the same model under KServe's own
ModelServer (``--server kserve``). Both are started once per session, in parallel; the lean one
also serves the V2 gRPC API on ``Runtime.grpc_port``.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from components._shared import compiled
from components._shared.bundle import Bundle, json_record, load_bundle
from tests.fixtures.datasets import fast_candidate, telco_spine

ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "churn"
START_TIMEOUT_S = 60


@dataclass
class Trained:
    """The bundle directory, the loaded bundle and the raw typed test rows."""

    path: Path
    bundle: Bundle
    test_rows: pd.DataFrame

    @functools.cached_property
    def evaluation(self) -> compiled.Evaluation:
        """How the runtime evaluates this bundle's trees (compiled: checked within 1e-6 of the
        booster, ``tests/serving/test_compiled.py``)."""
        return compiled.choose(self.bundle.predictor, self.bundle.manifest, self.bundle.parity_rows)

    def served_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """What the runtime answers for raw typed rows sent in one request: the featurizer, then
        the trees as it evaluates a request of that size."""
        predict = self.evaluation.for_rows(len(frame))
        return predict(self.bundle.featurizer.transform_frame(frame))

    def served_proba_records(self, records: list[dict]) -> np.ndarray:
        """What the runtime answers for raw records (JSON-like dicts) sent in one request."""
        predict = self.evaluation.for_rows(len(records))
        return predict(self.bundle.featurizer.transform_records(records))

    def records(self, n: int | None = None) -> list[dict]:
        """Raw rows as a client sends them (JSON-like dicts), target and id included."""
        frame = self.test_rows if n is None else self.test_rows.head(n)
        return [json_record(r) for r in frame.to_dict("records")]


@pytest.fixture(scope="session")
def trained(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """validate -> featurize -> train (xgboost, fast params) on the bundled Telco CSV."""
    spine = telco_spine(telco_csv, tmp_path_factory.mktemp("serving_bundle"))
    path = spine.train(fast_candidate("xgboost", name="xgboost_serving_test"))
    return Trained(path, load_bundle(str(path)), spine.test_rows())


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Runtime:
    """A started ``python -m serving`` process and a client for it."""

    def __init__(self, bundle_dir: Path, *extra: str, name: str = MODEL_NAME) -> None:
        self.port = free_port()
        self.grpc_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        self.log = bundle_dir.parent / f"serving-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "serving",
            f"--model_dir={bundle_dir}",
            f"--model_name={name}",
            f"--http_port={self.port}",
            "--host=127.0.0.1",
            f"--grpc_port={self.grpc_port}",
            "--enable_grpc=false",
            *extra,
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self._handle = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._handle, stderr=subprocess.STDOUT, env=env
        )
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self) -> None:
        """Poll readiness until the model answers, or fail with the server's log."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if self.client.get("/v2/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"server not ready after {START_TIMEOUT_S}s:\n{self.log.read_text()}")

    def alive(self) -> bool:
        """The process runs and answers liveness."""
        return self.process.poll() is None and self.client.get("/v2/health/live").status_code == 200

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._handle.close()


@pytest.fixture(scope="session")
def servers(trained: Trained) -> Iterator[dict[str, Runtime]]:
    """Both runtimes, started together (each spends seconds importing its libraries)."""
    started = {
        "lean": Runtime(trained.path, "--max_body_bytes=200000", "--enable_grpc=true"),
        "kserve": Runtime(trained.path, "--server=kserve"),
    }
    try:
        for runtime in started.values():
            runtime.wait_ready()
        yield started
    finally:
        for runtime in started.values():
            runtime.stop()


@pytest.fixture(scope="session")
def runtime(servers: dict[str, Runtime]) -> Runtime:
    """The lean server (the default of ``python -m serving``), body limit 200 kB, gRPC on."""
    return servers["lean"]


@pytest.fixture(scope="session")
def kserve_runtime(servers: dict[str, Runtime]) -> Runtime:
    """The same model under KServe's ModelServer."""
    return servers["kserve"]
