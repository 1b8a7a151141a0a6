"""A real MLflow tracking server for the tracking and registry tests.

``mlflow_server`` (session) starts ``mlflow server`` from its own virtualenv (``.venv-mlflow``,
``make mlflow-server``: the full mlflow pins pyarrow<26, the project has 26) with a sqlite backend
and a local artifact root on 127.0.0.1 and a free port, and stops it after the session. Without
that virtualenv the tests skip with the reason; CI sets ``KFP_TABULAR_REQUIRE_MLFLOW=1``, and a
missing server then fails instead.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = ROOT / ".venv-mlflow" / "bin" / "mlflow"
REQUIRE_ENV = "KFP_TABULAR_REQUIRE_MLFLOW"
STARTUP_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            output = log.read().decode("utf-8", "replace")[-4000:]
            raise RuntimeError(
                f"mlflow server did not answer on {url} within {STARTUP_TIMEOUT_S:.0f} s "
                f"(exit code {process.poll()}):\n{output}"
            )
        time.sleep(0.2)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of an MLflow tracking server (sqlite, local artifacts)."""
    if not MLFLOW.exists():
        reason = f"{MLFLOW.relative_to(ROOT)} missing (make mlflow-server)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it")
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination", str(home / "artifacts"),
    ]  # fmt: skip
    # The server must not inherit a tracking URI or the tests' own environment quirks.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # No background job runners (huey consumers for GenAI evaluation jobs): nothing here uses
    # them, and each is a process importing mlflow.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    with (home / "server.log").open("w+b") as log:
        # Its own session: the server's workers are its children, stopped with it as a group.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=home, env=env, start_new_session=True
        )
        try:
            _wait(url, process, log)
            yield url
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def no_tracking_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``MLFLOW_TRACKING_URI`` in the environment (tests that pass the URI explicitly)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
