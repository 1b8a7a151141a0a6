"""The project's images, run the way Kubernetes and KFP run them, on this machine's Docker engine.

Every test here needs a Docker engine and the images of ``make images`` (tagged with the package
version, components/_image.py). Without an engine or an image the tests skip and say why; with
``KFP_TABULAR_REQUIRE_DOCKER=1`` (set by .ci/run) a missing engine or image fails the run
instead. Containers get names starting with ``kfp-tabular-test-`` and are removed by the tests
that start them; every published port is bound to 127.0.0.1.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components._image import COMPONENT_IMAGE, SERVING_IMAGE

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests" / "base"
REQUIRE_ENV = "KFP_TABULAR_REQUIRE_DOCKER"
# What the images were built as (images/build.sh tags them with the package version).
IMAGE_USER = "10001:10001"


def docker_required() -> bool:
    """True under CI's switch: a missing engine or image is a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false")


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail with it under KFP_TABULAR_REQUIRE_DOCKER=1."""
    if docker_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1: containers must run here)", pytrace=False)
    pytest.skip(reason)


def docker_cli() -> str | None:
    """A docker client on the PATH (any version runs containers; building is images/build.sh's)."""
    return os.environ.get("DOCKER") or shutil.which("docker")


def engine_problem() -> str | None:
    """Why no container can run here, or None when the engine answers."""
    cli = docker_cli()
    if cli is None:
        return "no docker client on the PATH: install Docker (Debian: apt-get install docker.io)"
    try:
        result = subprocess.run(
            [cli, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the Docker engine does not answer ({cli} info: {exc})"
    if result.returncode != 0:
        return f"no Docker engine answers ({cli} info: {result.stderr.strip()[:200]})"
    return None


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker client; CalledProcessError (with its stderr) when ``check`` and it fails."""
    cli = docker_cli()
    assert cli is not None
    result = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} ...: {result.stderr.strip()}")
    return result


@pytest.fixture(scope="session")
def engine() -> str:
    """The docker client, once the engine answers (skip or fail otherwise)."""
    problem = engine_problem()
    if problem:
        unavailable(problem)
    cli = docker_cli()
    assert cli is not None
    return cli


SOURCE_LABEL = "io.kfp-tabular.source-sha256"
# Run the tests on an image built from an older tree (a tree others edit while images build).
ANY_SOURCE_ENV = "KFP_TABULAR_ANY_IMAGE_SOURCE"


def tree_hash() -> str:
    """The working tree's source hash, as images/build.sh labels the images with it."""
    return runpy.run_path(str(ROOT / "images" / "source_hash.py"))["source_hash"]()


def _image(engine: str, tag: str) -> str:
    label = '{{index .Config.Labels "' + SOURCE_LABEL + '"}}'
    found = docker("image", "inspect", "-f", label, tag, check=False)
    if found.returncode != 0:
        unavailable(f"image {tag} is not built here: run `make images` (or `make base images`)")
    if found.stdout.strip() != tree_hash() and not os.environ.get(ANY_SOURCE_ENV):
        unavailable(
            f"image {tag} was built from other source than this tree: run `make images` "
            f"({ANY_SOURCE_ENV}=1 runs it anyway)"
        )
    return tag


@pytest.fixture(scope="session")
def component_image(engine: str) -> str:
    """The component image's tag (components/_image.py), built by ``make images``."""
    return _image(engine, COMPONENT_IMAGE)


@pytest.fixture(scope="session")
def serving_image(engine: str) -> str:
    """The serving image's tag (components/_image.py), built by ``make images``."""
    return _image(engine, SERVING_IMAGE)


def manifest_documents(name: str) -> list[dict[str, Any]]:
    """The YAML documents of ``manifests/base/<name>`` as the cluster would get them."""
    return [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]


def container_of(document: dict[str, Any]) -> dict[str, Any]:
    """The first container of a ServingRuntime or a CronJob."""
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["containers"][0]


def pod_security(document: dict[str, Any]) -> dict[str, Any]:
    """The pod-level securityContext of a CronJob ({} for a ServingRuntime: KServe sets none)."""
    if document["kind"] != "CronJob":
        return {}
    return document["spec"]["jobTemplate"]["spec"]["template"]["spec"].get("securityContext", {})


def _cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


def _bytes(quantity: str) -> str:
    units = {"Ki": "k", "Mi": "m", "Gi": "g"}
    for suffix, docker_unit in units.items():
        if quantity.endswith(suffix):
            return quantity[: -len(suffix)] + docker_unit
    return quantity


def security_options(container: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    """``docker run`` options for what the manifest's securityContext and limits say.

    The user and group, a read-only root file system, the dropped capabilities, no privilege
    escalation, the default seccomp profile (Docker's is the runtime default), and the CPU and
    memory limits. Anything the manifest asks for that has no translation here fails the test.
    """
    context = {**pod, **container.get("securityContext", {})}
    user, group = context.get("runAsUser"), context.get("runAsGroup")
    assert user is not None, "the manifest sets no runAsUser: the image's user would decide"
    options = ["--user", f"{user}:{group if group is not None else user}"]
    if context.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    for capability in context.get("capabilities", {}).get("drop", []):
        options += ["--cap-drop", capability]
    for capability in context.get("capabilities", {}).get("add", []):
        options += ["--cap-add", capability]
    if context.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    seccomp = context.get("seccompProfile", {}).get("type", "RuntimeDefault")
    assert seccomp == "RuntimeDefault", f"seccompProfile {seccomp} has no docker translation here"
    if "fsGroup" in context:
        options += ["--group-add", str(context["fsGroup"])]
    limits = container.get("resources", {}).get("limits", {})
    if "cpu" in limits:
        options += ["--cpus", _cpus(limits["cpu"])]
    if "memory" in limits:
        options += ["--memory", _bytes(limits["memory"])]
    return options


def environment(container: dict[str, Any]) -> list[str]:
    """``-e NAME=VALUE`` for every literal env entry of the manifest's container."""
    options = []
    for entry in container.get("env", []):
        assert "value" in entry, f"env {entry['name']}: only literal values are translated"
        options += ["-e", f"{entry['name']}={entry['value']}"]
    return options


@dataclass
class Container:
    """A detached container started by a test; ``stop`` or ``remove`` it in a finally block."""

    name: str
    host_port: int | None = None
    logs_seen: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def logs(self) -> str:
        result = docker("logs", self.name, check=False)
        return result.stdout + result.stderr

    def state(self) -> dict[str, Any]:
        import json

        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name).stdout)

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)


def start_container(
    image: str, options: Sequence[str], command: Sequence[str] = (), *, port: int | None = None
) -> Container:
    """``docker run -d`` with ``options``; ``port`` (the container's) published on 127.0.0.1."""
    name = f"kfp-tabular-test-{uuid.uuid4().hex[:10]}"
    publish = ["-p", f"127.0.0.1::{port}"] if port else []
    docker("run", "-d", "--name", name, *publish, *options, image, *command)
    container = Container(name)
    if port:
        mapping = docker("port", name, f"{port}/tcp").stdout.split()[0]
        container.host_port = int(mapping.rsplit(":", 1)[1])
    return container


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    """Containers a test starts go in this list; they are removed however the test ends."""
    started: list[Container] = []
    try:
        yield started
    finally:
        for container in started:
            container.remove()


def wait_for(check: Any, timeout: float, what: str, container: Container) -> Any:
    """Poll ``check()`` until it returns a truthy value; fail with the container's logs if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # not up yet: refused connections, resets
            value = None
        if value:
            return value
        if not container.state().get("Running", False):
            break
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s; logs:\n{container.logs()[-4000:]}")
