"""Submit a ``train_and_rollout`` run to Kubeflow Pipelines when drift is found.

:func:`maybe_retrain` decides (a Kubeflow host configured, drift found, labelled dataset rows
as current data) and never fails the drift step: a refused submission is reported instead.

The import rules keep kfp out of every module but ``component.py`` (executors must import in a
kfp-free image), so this module speaks the KFP v2beta1 REST API directly, sending exactly the
requests ``kfp.Client(host).create_run_from_pipeline_package(...)`` 2.17 sends (recorded in
``kfp_client_2.17.0_trace.jsonl``): find the experiment by display name
(``GET /apis/v2beta1/experiments?filter=...&namespace=``), create it when missing
(``POST /apis/v2beta1/experiments``), then ``POST /apis/v2beta1/runs`` with the compiled
pipeline spec and the run's parameters. Authentication is kfp.Client's: a bearer token from
``KF_PIPELINES_SA_TOKEN_PATH`` (default ``/var/run/secrets/kubeflow/pipelines/token``, the
projected service-account token in a KFP pod) when that file exists.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from components._shared import io
from components._shared.errors import KfpTabularError
from components.drift.current import DATASET

if TYPE_CHECKING:
    from components.drift.analysis import Analysis
    from components.drift.config import DriftConfig

API: Final = "/apis/v2beta1"
TOKEN_PATH_ENV: Final = "KF_PIPELINES_SA_TOKEN_PATH"
DEFAULT_TOKEN_PATH: Final = "/var/run/secrets/kubeflow/pipelines/token"
TIMEOUT_S: Final = 30.0
# Where the compiled retrain pipeline sits in a source checkout and in the component image.
BUNDLED_RETRAIN_PIPELINE: Final = str(
    Path(__file__).resolve().parents[2] / "pipelines" / "compiled" / "train_and_rollout.yaml"
)


class RetrainError(KfpTabularError):
    """The Kubeflow Pipelines API refused or could not be reached; names the request."""


@dataclass(frozen=True)
class SubmittedRun:
    """The run created in Kubeflow Pipelines."""

    run_id: str
    experiment_id: str
    display_name: str
    url: str


def maybe_retrain(config: DriftConfig, analysis: Analysis) -> dict[str, Any]:
    """Submit a retrain run when the config and the analysis call for one; what happened."""
    if not config.kfp_host:
        return {"submitted": False, "reason": "no Kubeflow host configured"}
    if not analysis.drift_detected:
        return {"submitted": False, "reason": "no drift"}
    labelled = bool(analysis.performance.get("available"))
    if analysis.read.source_kind != DATASET or not labelled:
        return {
            "submitted": False,
            "reason": "retraining needs a labelled dataset as current data (got "
            f"{analysis.read.source_kind} data, labels: {labelled})",
        }
    schema = analysis.schema
    arguments = {
        "data_uri": config.current_uri,
        "target": schema.target,
        "champion_uri": config.bundle_uri,
        "positive_label": schema.positive_label,
        "id_columns": list(schema.id_columns or []),
        "time_column": schema.time_column or "",
    }
    name = f"drift-retrain {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')}"
    try:
        run = submit_run(
            config.kfp_host,
            config.retrain_pipeline_uri or BUNDLED_RETRAIN_PIPELINE,
            arguments,
            run_name=name,
            experiment_name=config.retrain_experiment,
            namespace=config.kfp_namespace,
        )
    except KfpTabularError as exc:  # RetrainError included
        # The drift report is worth keeping even when the trigger fails: say so loudly instead.
        print(f"drift: retrain trigger failed: {exc}", file=sys.stderr)
        return {"submitted": False, "reason": f"failed: {exc}", "arguments": arguments}
    return {"submitted": True, "run_id": run.run_id, "experiment_id": run.experiment_id,
            "url": run.url, "arguments": arguments}  # fmt: skip


def submit_run(
    host: str,
    pipeline_uri: str,
    arguments: Mapping[str, Any],
    *,
    run_name: str,
    experiment_name: str = "Default",
    namespace: str = "",
    token: str | None = None,
) -> SubmittedRun:
    """Create a run of a compiled pipeline, as ``kfp.Client.create_run_from_pipeline_package``.

    Args:
        host: KFP API endpoint, e.g. ``http://ml-pipeline.kubeflow.svc.cluster.local:8888``.
        pipeline_uri: Compiled pipeline YAML (local or gs://).
        arguments: Pipeline parameters.
        run_name: The run's display name.
        experiment_name: Experiment to file the run under (created when missing).
        namespace: Kubeflow profile namespace ("" in single-user mode).
        token: Bearer token; default: the KFP service-account token file when present.

    Raises:
        RetrainError: naming the request and the server's answer.
    """
    documents = list(yaml.safe_load_all(io.read_text(pipeline_uri)))
    if not documents or not isinstance(documents[0], dict) or "root" not in documents[0]:
        raise RetrainError(f"{pipeline_uri!r} is not a compiled KFP pipeline (no 'root')")
    spec = documents[0]
    platform = next((d for d in documents[1:] if isinstance(d, dict) and "platforms" in d), None)
    token = token if token is not None else _service_account_token()
    base = host.rstrip("/")

    predicate = {
        "predicates": [{"operation": 1, "key": "display_name", "stringValue": experiment_name}]
    }
    query = urllib.parse.urlencode({"filter": json.dumps(predicate), "namespace": namespace})
    found = _call(base, "GET", f"{API}/experiments?{query}", None, token)
    experiments = found.get("experiments") or []
    if experiments:
        experiment_id = str(experiments[0]["experiment_id"])
    else:
        body: dict[str, Any] = {"display_name": experiment_name, "namespace": namespace}
        experiment_id = str(_call(base, "POST", f"{API}/experiments", body, token)["experiment_id"])

    run: dict[str, Any] = {
        "experiment_id": experiment_id,
        "display_name": run_name,
        "pipeline_spec": {"pipeline_spec": spec, "platform_spec": platform} if platform else spec,
        "runtime_config": {"parameters": dict(arguments)},
    }
    created = _call(base, "POST", f"{API}/runs", run, token)
    run_id = str(created.get("run_id", ""))
    if not run_id:
        raise RetrainError(f"POST {base}{API}/runs answered without a run_id: {str(created)[:300]}")
    return SubmittedRun(
        run_id=run_id,
        experiment_id=experiment_id,
        display_name=run_name,
        url=f"{base}/#/runs/details/{run_id}",
    )


def _service_account_token() -> str | None:
    path = os.environ.get(TOKEN_PATH_ENV, DEFAULT_TOKEN_PATH)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _call(base: str, method: str, path: str, body: Any, token: str | None) -> dict[str, Any]:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    what = f"{method} {base}{path.split('?')[0]}"
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise RetrainError(f"{what}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RetrainError(f"{what}: cannot reach the Kubeflow Pipelines API: {exc}") from None
    try:
        answer = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        raise RetrainError(f"{what}: answered non-JSON: {text[:200]!r}") from None
    if not isinstance(answer, dict):
        raise RetrainError(f"{what}: expected a JSON object, got {type(answer).__name__}")
    return answer
