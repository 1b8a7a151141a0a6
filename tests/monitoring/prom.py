"""Prometheus binaries for the tests: found on the PATH, or a visible skip.

CI sets ``KFP_TABULAR_REQUIRE_PROMETHEUS=1`` (tests/monitoring/ci_setup.sh installs Debian's
``prometheus`` package, which brings ``promtool``): a missing binary then fails the test instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

REQUIRE_ENV = "KFP_TABULAR_REQUIRE_PROMETHEUS"


class Pushgateway:
    """A real Prometheus Pushgateway on 127.0.0.1 (Debian's ``prometheus-pushgateway``), where
    batch jobs such as the drift run push their metrics; stopped by :meth:`stop`."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "pushgateway.log"
        self._handle = self.log.open("w")
        self.process = subprocess.Popen(
            [binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"pushgateway exited {self.process.returncode}:\n{self.log.read_text()}"
                )
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"pushgateway not ready after 30 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._handle.close()


def binary(name: str) -> str:
    """The binary's path; skip (or fail under KFP_TABULAR_REQUIRE_PROMETHEUS=1) when missing."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = "prometheus-pushgateway" if "pushgateway" in name else "prometheus"
    reason = f"{name} not installed (apt-get install {package}; tests/monitoring/ci_setup.sh)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it")
    pytest.skip(reason)


class Prometheus:
    """A real Prometheus on 127.0.0.1 scraping file-discovered targets every second.

    Targets are added while it runs (:meth:`add_target`, file service discovery); rules are
    read from ``rule_files``. Stopped (and its data deleted with ``tmp``) by :meth:`stop`.
    """

    def __init__(self, tmp: Path, rule_files: list[Path] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets_file = tmp / "targets.json"
        self.targets_file.write_text("[]")
        self._targets: list[dict[str, Any]] = []
        config = {
            "global": {
                "scrape_interval": "1s",
                "evaluation_interval": "1s",
                "scrape_timeout": "900ms",
            },
            "rule_files": [str(p) for p in rule_files or []],
            "scrape_configs": [
                {
                    "job_name": "kfp-tabular",
                    # Pushed metrics keep their own labels (a Pushgateway is scraped so); the
                    # runtimes' metrics carry no labels that clash with the target's.
                    "honor_labels": True,
                    "file_sd_configs": [
                        {"files": [str(self.targets_file)], "refresh_interval": "1s"}
                    ],
                }
            ],
        }
        (tmp / "prometheus.yml").write_text(json.dumps(config))
        self.log = tmp / "prometheus.log"
        self._handle = self.log.open("w")
        self.process = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=self._handle,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=self.url, timeout=10)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if self.client.get("/-/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"prometheus not ready after 60 s:\n{self.log.read_text()}")

    def add_target(self, url: str, **labels: str) -> None:
        """Scrape ``url`` (``http://host:port``) with these target labels, and wait for it."""
        self._targets.append({"targets": [url.split("://", 1)[1]], "labels": labels})
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._targets))
        tmp.replace(self.targets_file)
        self.wait_for(
            lambda: any(
                t["scrapeUrl"].startswith(url) and t["health"] == "up"
                for t in self.client.get("/api/v1/targets").json()["data"]["activeTargets"]
            ),
            f"target {url} up",
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        body = self.client.get("/api/v1/query", params={"query": promql}).json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def alerts(self, **labels: str) -> dict[str, str]:
        """State (pending, firing) per alert name of the active alerts with these labels."""
        return {name: a["state"] for name, a in self.active_alerts(**labels).items()}

    def active_alerts(self, **labels: str) -> dict[str, dict[str, Any]]:
        """The active alerts with these labels (``/api/v1/alerts`` entries) by alert name."""
        found = self.client.get("/api/v1/alerts").json()["data"]["alerts"]
        return {a["labels"]["alertname"]: a for a in found if labels.items() <= a["labels"].items()}

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 90.0) -> float:
        """Seconds until ``condition()`` holds; fails after ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if condition():
                return time.monotonic() - start
            time.sleep(0.25)
        pytest.fail(f"not within {timeout:.0f} s: {what}")

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._handle.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
