"""KFP wrapper of the deploy step; the work is in :mod:`components.deploy.executor`."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Model, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def deploy(
    bundle: Input[Model],
    blessing: Input[Artifact],
    deployment: Output[Artifact],
    manifests: Output[Artifact],
    summary: Output[Markdown],
    target: str = "render",
    platform: str = "kserve",
    strategy: str = "canary",
    deployment_mode: str = "Knative",
    namespace: str = "kfp-tabular",
    inference_service_name: str = "kfp-tabular",
    canary_percent: int = 10,
    mirror_percent: float = 100.0,
    service_account: str = "kfp-tabular-serving",
    storage_uri: str = "",
    champion_storage_uri: str = "",
    logger_mode: str = "all",
    logger_url: str = "",
    logger_storage_path: str = "",
    logger_storage_key: str = "",
    logger_storage_parameters: dict = {},  # noqa: B006 - KFP reads the default from the signature
    cpu: str = "1",
    memory: str = "1Gi",
    storage_initializer_image: str = "kserve/storage-initializer:v0.20.0",
    ready_timeout_s: float = 600.0,
    tracking_uri: str = "",
    registered_model_name: str = "",
    approval_timeout_s: float = -1.0,
):
    """Deploy the gate's blessed bundle to KServe or Seldon (applied or rendered) or locally.

    Refuses a bundle whose blessing is not blessed. Every manifest is validated against the
    strict KServe/Istio/Seldon CRD schemas before anything is applied, written or started.

    Args:
        bundle: The gate's blessed bundle (the challenger).
        blessing: The gate's blessing JSON; must say ``blessed: true``.
        target: Where to deploy: kubernetes (apply, wait until ready), render (write the
            manifests only) or local (serve on localhost). ``kubernetes`` applies with the
            kubernetes client; ``local`` serves each side as a local server.
        platform: Serving platform of the manifests: kserve (InferenceService) or seldon
            (SeldonDeployment, Seldon Core v1). ``seldon``: the serving image as a V2 custom
            server in a SeldonDeployment; canary = two predictors with ``traffic``, shadow = a
            predictor with ``shadow: true`` (Seldon's Istio or Ambassador mirrors to it).
        strategy: How the challenger meets traffic: direct, canary or shadow (direct when there
            is no champion). ``direct``: the challenger takes all traffic; ``canary``: the
            challenger beside the champion with ``canary_percent`` of traffic; ``shadow``: the
            challenger in its own InferenceService, mirrored ``mirror_percent`` of the
            champion's traffic by Istio, both with payload loggers. Without a champion (first
            deployment) canary and shadow deploy direct, and the record says so.
        deployment_mode: KServe deployment mode: Knative or Standard. ``Knative``: canary =
            ``canaryTrafficPercent``; ``Standard``: canary = a named ``spec.canary[]`` entry
            (KServe 0.20+).
        namespace: Namespace of the InferenceService(s).
        inference_service_name: Name of the InferenceService (DNS label, at most 40 characters).
        canary_percent: Traffic share of the canary, 1..99.
        mirror_percent: Share of the champion's requests mirrored to the shadow, (0, 100].
        service_account: Service account of the predictor pods (gs:// credentials).
        storage_uri: The bundle's URI for KServe's storage initializer; "" = the artifact's URI.
        champion_storage_uri: The champion bundle (the stable side of canary and shadow); "" for
            a first deployment.
        logger_mode: What the payload logger sends: all, request or response.
        logger_url: CloudEvents sink of the payload logger ("" = no URL logger).
        logger_storage_path: Blob-storage path of the payload logger ("" = none); needs
            ``logger_storage_key`` and ``logger_storage_parameters``.
        logger_storage_key: Key of the storage secret of the payload logger.
        logger_storage_parameters: Storage parameters of the payload logger (string values).
        cpu: CPU of each predictor (requests = limits), e.g. "1" or "500m".
        memory: Memory of each predictor (requests = limits), e.g. "1Gi".
        storage_initializer_image: Init container that fetches the bundle into /mnt/models
            (platform seldon).
        ready_timeout_s: Seconds to wait for readiness (kubernetes; local waits at most 120).
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty).
        registered_model_name: MLflow registered model of the bundle (the gate registers it): a
            direct deploy that serves makes its version the champion; "": none.
        approval_timeout_s: Seconds to wait for a person's approval of the bundle's registered
            version before deploying; -1 = no approval needed, 0 = refuse unless approved
            already. A rejection, or no approval in time, fails the step naming the version;
            approve with ``kfp-tabular approve`` or the tag ``approval=approved`` in MLflow.

    Returns:
        deployment: The deployment record JSON: target, strategy, mode, namespace, name, and
            per side role (stable/canary/shadow), bundle URI, URL, pid, port, model name.
        manifests: Directory of the validated YAML documents, one per file, and ``all.yaml``.
        summary: Markdown for the UI: sides, URLs, cluster status, notes.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.deploy.executor import main

    main(arguments)
