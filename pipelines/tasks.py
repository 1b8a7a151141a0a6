"""How each pipeline task runs on a cluster: caching, display name, resources, Kubernetes settings.

The pipelines call :func:`step` on every task they create, so the policy below is written once
and compiled into both YAML files (``tests/pipeline/test_cluster_settings.py`` reads them back).

Caching (``CACHING``): a task is served from KFP's cache only when its outputs are a pure
function of its inputs. A task that reads something that can change under the same URI (the
data, the contract, the champion bundle, logged requests) or that acts on the world (deploy,
rollout, shadow) always runs: a cache hit there would report an old result or skip a side
effect. KFP keys its cache on the task's inputs, and an input artifact is keyed by the artifact
itself, so a pure step hits only when its upstream outputs are the same artifacts (a retried
run, or an upstream step that was itself cached).

Resources: requests and limits are pipeline parameters, one set per group of steps
(``RESOURCES``): ``data`` (validate, featurize, compare, gate, drift: they hold the table in
memory), ``train`` (sized on its own), ``ops`` (deploy, rollout, shadow: API calls and small
replays). Train may also get a node selector, tolerations and an accelerator. Every task mounts
the optional cloud-credentials Secret (``CREDENTIALS_DIR``); rollout also mounts the optional
Prometheus-token Secret (``PROMETHEUS_TOKEN_DIR``).

What KFP cannot set per task: the Kubernetes service account. kfp-kubernetes (2.17) has no
per-task service account, so deploy and rollout run as the run's account; README "Submit and
schedule from the command line" shows the run-level way (``kfp-tabular submit
--service-account kfp-tabular-deployer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from kfp import dsl, kubernetes
from kfp.dsl.pipeline_channel import PipelineChannel

# task name -> (served from cache?, why). The README's caching table lists the same rows
# (tests/pipeline/test_cluster_settings.py keeps them equal).
CACHING: Final[dict[str, tuple[bool, str]]] = {
    "validate": (False, "reads data_uri and the contract URI, which can change under the same URI"),
    "featurize": (True, "a pure function of validate's artifacts and its parameters"),
    "train": (True, "a pure function of featurize's artifacts, the candidate and the seed"),
    "compare": (False, "reads the champion bundle at champion_uri, replaced on each promotion"),
    "gate": (False, "reads the champion bundle; its lineage record names this run"),
    "deploy": (False, "acts: applies manifests or starts servers"),
    "rollout": (False, "acts: moves traffic, promotes or rolls back; reads live metrics"),
    "shadow": (False, "reads logged traffic and calls the live challenger"),
    "drift": (False, "reads a window of logged requests that grows under the same URI"),
}

# The UI's names for the tasks (the task names stay the component names).
DISPLAY_NAMES: Final[dict[str, str]] = {
    "validate": "validate data",
    "featurize": "featurize and split",
    "train": "train candidate",
    "compare": "compare candidates",
    "gate": "gate on the test split",
    "deploy": "deploy",
    "rollout": "roll out",
    "shadow": "shadow comparison",
    "drift": "drift check",
}


@dataclass(frozen=True)
class Resources:
    """CPU and memory requests and limits of one group of steps (Kubernetes quantities)."""

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str


RESOURCES: Final[dict[str, Resources]] = {
    "data": Resources("1", "2", "2Gi", "4Gi"),
    "train": Resources("2", "4", "4Gi", "8Gi"),
    "ops": Resources("250m", "1", "512Mi", "1Gi"),
}
GROUP: Final[dict[str, str]] = {
    "validate": "data",
    "featurize": "data",
    "compare": "data",
    "gate": "data",
    "drift": "data",
    "train": "train",
    "deploy": "ops",
    "rollout": "ops",
    "shadow": "ops",
}

# Secrets, both optional (a missing Secret mounts an empty folder and sets no variable).
CREDENTIALS_SECRET: Final = "kfp-tabular-gcp-credentials"
CREDENTIALS_DIR: Final = "/var/secrets/kfp-tabular/gcloud"
# Google's Application Default Credentials read $CLOUDSDK_CONFIG/<this key> when the file exists,
# before the metadata server (Workload Identity), so an absent Secret changes nothing.
CREDENTIALS_KEY: Final = "application_default_credentials.json"
PROJECT_KEY: Final = "project"
PROMETHEUS_SECRET: Final = "kfp-tabular-prometheus"
PROMETHEUS_TOKEN_DIR: Final = "/var/secrets/kfp-tabular/prometheus"


def step(task: dsl.PipelineTask, name: str) -> dsl.PipelineTask:
    """The task's display name and caching policy (``CACHING``)."""
    cached, _ = CACHING[name]
    return task.set_display_name(DISPLAY_NAMES[name]).set_caching_options(enable_caching=cached)


def size(task: dsl.PipelineTask, *settings: Any) -> dsl.PipelineTask:
    """CPU request and limit, memory request and limit (in that order), constants or parameters.

    The pipeline parameters are also registered as the task's inputs: KFP 2.17's resource
    setters do not, and a task inside a ``dsl.ParallelFor`` would then refer to a parameter its
    loop never receives (the backend fails to resolve it).
    """
    cpu_request, cpu_limit, memory_request, memory_limit = settings
    task.set_cpu_request(cpu_request).set_cpu_limit(cpu_limit)
    task.set_memory_request(memory_request).set_memory_limit(memory_limit)
    task.register_pipeline_channels([s for s in settings if isinstance(s, PipelineChannel)])
    return task


def place(
    task: dsl.PipelineTask,
    *,
    node_selector: Any,
    tolerations: Any,
    accelerator_type: Any,
    accelerator_limit: Any,
) -> dsl.PipelineTask:
    """Node selector (a mapping), tolerations (a list), accelerator type and count.

    An empty mapping or list adds nothing; an accelerator whose type resolves to "" is not
    requested (the KFP driver skips it).
    """
    kubernetes.add_node_selector_json(task, node_selector)
    kubernetes.add_toleration_json(task, tolerations)
    task.set_accelerator_type(accelerator_type).set_accelerator_limit(accelerator_limit)
    task.register_pipeline_channels(
        [c for c in (accelerator_type, accelerator_limit) if isinstance(c, PipelineChannel)]
    )
    return task


def credentials(task: dsl.PipelineTask, secret: Any) -> dsl.PipelineTask:
    """The optional cloud-credentials Secret: a key file for Google's ADC, and the project.

    The Secret's ``application_default_credentials.json`` (a service-account key) lands in
    ``CREDENTIALS_DIR``, which ``CLOUDSDK_CONFIG`` names; its ``project`` key becomes
    ``GOOGLE_CLOUD_PROJECT``. Without the Secret, ADC goes on to Workload Identity.
    """
    kubernetes.use_secret_as_volume(task, secret, mount_path=CREDENTIALS_DIR, optional=True)
    kubernetes.use_secret_as_env(task, secret, {PROJECT_KEY: "GOOGLE_CLOUD_PROJECT"}, optional=True)
    return task.set_env_variable("CLOUDSDK_CONFIG", CREDENTIALS_DIR)


def prometheus_token(task: dsl.PipelineTask, secret: Any) -> dsl.PipelineTask:
    """The optional Prometheus bearer-token Secret, mounted at ``PROMETHEUS_TOKEN_DIR``."""
    return kubernetes.use_secret_as_volume(
        task, secret, mount_path=PROMETHEUS_TOKEN_DIR, optional=True
    )
