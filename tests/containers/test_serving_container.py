"""The serving image started exactly as the ServingRuntime tells KServe to start it.

Command, args, env, user, port, probe, limits and securityContext are read from
manifests/base/servingruntime.yaml itself (never from a copy). The bundle is trained on the host
under the strictest umask (077) and mounted read-only at /mnt/models, where KServe's storage
initializer puts it; the container runs as UID 10001 with a read-only root file system and every
capability dropped, so it can read the bundle only if the writer gave it ordinary permissions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from components._image import SERVING_IMAGE
from components._shared.bundle import Bundle, json_record, load_bundle
from components._shared.oip import v2_output, v2_request
from tests.containers.conftest import (
    IMAGE_USER,
    Container,
    container_of,
    docker,
    environment,
    manifest_documents,
    security_options,
    start_container,
    wait_for,
)
from tests.fixtures.datasets import fast_candidate, telco_spine

pytestmark = pytest.mark.slow

MODEL_NAME = "churn"
ROWS = 100


@pytest.fixture(scope="module")
def runtime_spec() -> dict[str, Any]:
    """The kserve-container of the project's ServingRuntime."""
    (runtime,) = [d for d in manifest_documents("servingruntime.yaml")]
    assert runtime["kind"] == "ServingRuntime"
    container = container_of(runtime)
    assert container["image"] == SERVING_IMAGE  # the image this test runs is the one it names
    return container


@pytest.fixture(scope="module")
def host_bundle(
    telco_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Bundle, list[dict[str, Any]], np.ndarray]:
    """A bundle written on the host under umask 077, its test rows and their host predictions."""
    old = os.umask(0o077)
    try:
        spine = telco_spine(telco_csv, tmp_path_factory.mktemp("container_bundle"))
        path = spine.train(fast_candidate("lightgbm", name="lightgbm_container"))
    finally:
        os.umask(old)
    bundle = load_bundle(str(path))
    rows = spine.test_rows().head(ROWS)
    return (
        path,
        bundle,
        [json_record(r) for r in rows.to_dict("records")],
        bundle.predict_proba_frame(rows),
    )


def _run_options(spec: dict[str, Any], bundle: Path) -> tuple[list[str], list[str], int]:
    """(docker run options, command after the image, container port) from the manifest."""
    port = spec["ports"][0]["containerPort"]
    args = [a.replace("{{.Name}}", MODEL_NAME) for a in spec.get("args", [])]
    assert f"--http_port={port}" in args, "the runtime must listen where the manifest's port says"
    options = [*security_options(spec, {}), *environment(spec)]
    options += ["-v", f"{bundle}:/mnt/models:ro"]  # the storage initializer's mount point
    command = spec.get("command", [])
    if command:  # Kubernetes' command replaces the image's ENTRYPOINT, args its CMD
        options += ["--entrypoint", command[0]]
        args = [*command[1:], *args]
    return options, args, port


@pytest.fixture(scope="module")
def served(
    serving_image: str, runtime_spec: dict[str, Any], host_bundle: tuple
) -> Iterator[tuple[Container, httpx.Client]]:
    """The serving container, ready by the manifest's readiness probe."""
    options, args, port = _run_options(runtime_spec, host_bundle[0])
    container = start_container(serving_image, options, args, port=port)
    client = httpx.Client(base_url=container.url, timeout=30)
    probe = runtime_spec["readinessProbe"]["httpGet"]
    assert probe["port"] == port
    try:
        started = time.monotonic()
        wait_for(lambda: client.get(probe["path"]).status_code == 200, 90, "readiness", container)
        container.logs_seen.append(f"ready after {time.monotonic() - started:.1f} s")
        yield container, client
    finally:
        client.close()
        container.remove()


def test_the_container_runs_as_the_manifest_says(
    served: tuple[Container, httpx.Client], runtime_spec: dict[str, Any], serving_image: str
) -> None:
    container, _ = served
    assert docker("image", "inspect", "-f", "{{.Config.User}}", serving_image).stdout.strip() == (
        IMAGE_USER
    )  # runAsNonRoot: the image's own user is the manifest's, and not root
    host = docker("inspect", "-f", "{{json .HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapDrop}}", container.name).stdout.split()  # fmt: skip
    assert host == ["true", '["ALL"]']
    assert docker("exec", container.name, "id", "-u").stdout.strip() == "10001"
    wrote = docker("exec", container.name, "touch", "/opt/venv/x", check=False)
    assert wrote.returncode != 0 and "Read-only file system" in wrote.stderr
    omp = docker("exec", container.name, "printenv", "OMP_NUM_THREADS").stdout.strip()
    assert omp == runtime_spec["env"][0]["value"] == "1"


def test_v1_and_v2_predict_what_the_host_predicts(
    served: tuple[Container, httpx.Client], host_bundle: tuple
) -> None:
    _, client = served
    _, bundle, records, expected = host_bundle
    v1 = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": records})
    assert v1.status_code == 200, v1.text
    np.testing.assert_array_equal([p["probability"] for p in v1.json()["predictions"]], expected)
    body = v2_request(records, bundle.schema, request_id="container-1")
    v2 = client.post(f"/v2/models/{MODEL_NAME}/infer", json=body)
    assert v2.status_code == 200, v2.text
    assert v2.json()["id"] == "container-1" and v2.json()["model_name"] == MODEL_NAME
    np.testing.assert_array_equal(v2_output(v2.json(), "probability"), expected)


def test_health_metadata_and_metrics(
    served: tuple[Container, httpx.Client], host_bundle: tuple
) -> None:
    _, client = served
    bundle = host_bundle[1]
    assert client.get("/v2/health/live").json()["live"] is True
    assert client.get(f"/v2/models/{MODEL_NAME}/ready").json() == {
        "name": MODEL_NAME,
        "ready": True,
    }
    assert client.get(f"/v1/models/{MODEL_NAME}").json() == {"name": MODEL_NAME, "ready": True}
    metadata = client.get(f"/v2/models/{MODEL_NAME}").json()
    assert [t["name"] for t in metadata["inputs"]] == bundle.featurizer.input_columns_
    assert metadata["parameters"]["family"] == "lightgbm"
    client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": host_bundle[2][:3]})
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert f'kfp_tabular_prediction_score_count{{model_name="{MODEL_NAME}"}}' in metrics.text


def test_bad_requests_are_4xx_naming_the_problem(
    served: tuple[Container, httpx.Client], host_bundle: tuple
) -> None:
    _, client = served
    empty = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": []})
    assert empty.status_code == 400 and "instances" in empty.text
    record = dict(host_bundle[2][0], tenure="many")
    typed = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": [record]})
    assert typed.status_code == 400 and "tenure" in typed.text
    assert client.post("/v2/models/no-such-model/infer", json={"inputs": []}).status_code == 404


def test_sigterm_ends_the_server_cleanly(
    serving_image: str, runtime_spec: dict[str, Any], host_bundle: tuple, containers: list
) -> None:
    """Kubernetes stops a pod with SIGTERM: the server must exit 0, well inside the 30 s grace."""
    options, args, port = _run_options(runtime_spec, host_bundle[0])
    container = start_container(serving_image, options, args, port=port)
    containers.append(container)
    with httpx.Client(base_url=container.url, timeout=10) as client:
        wait_for(
            lambda: client.get("/v2/health/ready").status_code == 200, 90, "readiness", container
        )
    started = time.monotonic()
    docker("kill", "--signal", "TERM", container.name)
    code = docker("wait", container.name, timeout=30).stdout.strip()
    seconds = time.monotonic() - started
    assert code == "0", f"exit code {code} after SIGTERM; logs:\n{container.logs()[-3000:]}"
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert "Traceback" not in container.logs()
