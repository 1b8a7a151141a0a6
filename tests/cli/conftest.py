"""Fixtures for the CLI tests: an isolated KFP environment, the REST stub, a CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp.client import client as kfp_client

from kfp_tabular.cli import main
from tests.cli.kfp_stub import KfpRestStub

ROOT = Path(__file__).resolve().parents[2]
COMPILED = ROOT / "pipelines" / "compiled" / "train_and_rollout.yaml"
TOKEN = "s3cr3t-Tok3n.value"  # distinctive, so a leak cannot hide in other text

ENVIRONMENT = (
    "KFP_HOST",
    "KFP_TOKEN",
    "KFP_NAMESPACE",
    "KF_PIPELINES_ENDPOINT",
    "KF_PIPELINES_UI_ENDPOINT",
    "KF_PIPELINES_DEFAULT_EXPERIMENT_NAME",
    "KF_PIPELINES_OVERRIDE_EXPERIMENT_NAME",
    "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID",
    "KF_PIPELINES_APP_OAUTH2_CLIENT_ID",
    "KF_PIPELINES_APP_OAUTH2_CLIENT_SECRET",
    "KUBERNETES_SERVICE_HOST",
)


@pytest.fixture(autouse=True)
def isolated_kfp_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No KFP settings from the developer's machine: env, ~/.config/kfp, kubeconfig, SA token.

    kfp.Client reads ``~/.config/kfp/context.json`` (its path fixed at import), which would
    change the calls it makes (no healthz when it names a namespace).
    """
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(tmp_path / "absent-sa-token"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent-kubeconfig"))
    monkeypatch.setattr(
        kfp_client.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "absent-context.json")
    )


@pytest.fixture
def stub() -> Iterator[KfpRestStub]:
    """A started KfpRestStub (a stub of the KFP v2beta1 REST API, not a server)."""
    with KfpRestStub() as started:
        yield started


@dataclass
class Result:
    """What one ``kfp-tabular ...`` invocation returned and printed."""

    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``kfp-tabular <args>`` in-process through ``kfp_tabular.cli.main``."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def sent_spec(path: Path) -> dict[str, Any]:
    """What kfp.Client sends as a run's ``pipeline_spec`` for a compiled package: with a
    platform spec (the per-task Kubernetes settings), both documents under their names."""
    spec, *platform = yaml.safe_load_all(path.read_text())
    return {"pipeline_spec": spec, "platform_spec": platform[0]} if platform else spec


@pytest.fixture(scope="session")
def compiled_spec() -> dict[str, Any]:
    """The ``pipeline_spec`` a run of the committed train_and_rollout.yaml sends."""
    return sent_spec(COMPILED)


@pytest.fixture
def params_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a parameter file (name, text) and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


CHURN_PARAMS = """\
data_uri: gs://bucket/churn.csv
target: Churn
positive_label: "Yes"
id_columns: [customerID]
seed: 7
"""
