"""``train_and_rollout``: from a table to a blessed challenger, deployed and rolled out.

    validate -> featurize -> train x N (dsl.ParallelFor over the model matrix) -> compare -> gate
        -> dsl.If(blessed): deploy -> rollout (canary steps; promote or roll back)
                                   -> dsl.If(strategy shadow, a champion, something serving):
                                      shadow (the challenger's answers to the champion's logs)

``deploy_target`` chooses where the blessed bundle goes: ``render`` (the default: manifests as an
artifact, nothing applied, rollout records "rendered; no rollout"), ``kubernetes`` (applied with
the kubernetes client; rollout reads Prometheus) or ``local`` (local serving processes; rollout
replays the test split to them). Every task's caching, display name, resources and Kubernetes
settings come from :mod:`pipelines.tasks`. The compiled YAML is
``compiled/train_and_rollout.yaml``.

Small data (fewer rows than ``cv_below_rows``, no time column): featurize assigns stratified
folds instead of a holdout, each train task also writes its out-of-fold predictions
(``oof_predictions``, collected for compare), compare ranks them and hands the challenger's to
the gate (``challenger_oof``), which judges them; the bundle deployed is refit on every row.

Tracking and registry (``tracking_uri`` or ``MLFLOW_TRACKING_URI``, ``registered_model_name``):
train, compare and gate log to MLflow under one parent run per pipeline run (keyed by the KFP run
id); the gate registers a blessed bundle as alias ``challenger``; deploy (approval, a direct
deploy that serves) and rollout (promote, roll back) move the alias ``champion`` that the next
run's ``champion_uri`` is resolved from.
"""

from kfp import dsl

from components.catalog import compare, deploy, featurize, gate, rollout, shadow, train, validate
from components.compare.config import CompareConfig
from components.deploy.config import DeployConfig
from components.featurize.config import FeaturizeConfig
from components.gate.config import GateConfig
from components.rollout.config import RolloutConfig
from components.shadow.config import ShadowConfig
from components.train.matrix import DEFAULT_MODEL_MATRIX
from components.validate.config import ValidateConfig
from pipelines import tasks
from pipelines.tasks import RESOURCES, credentials, place, prometheus_token, size, step

# The default of every parameter forwarded to a component is that component's config default,
# read here (tests/test_component_shape.py checks the compiled YAML against every config).
VALIDATE = ValidateConfig.defaults()
FEATURIZE = FeaturizeConfig.defaults()
COMPARE = CompareConfig.defaults()
GATE = GateConfig.defaults()
DEPLOY = DeployConfig.defaults()
ROLLOUT = RolloutConfig.defaults()
SHADOW = ShadowConfig.defaults()
DATA, TRAIN, OPS = RESOURCES["data"], RESOURCES["train"], RESOURCES["ops"]

PIPELINE_NAME = "train-and-rollout"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description=(
        "Validate a table, featurize it, train a model matrix, rank it against the champion and "
        "gate the challenger on the test rows, deploy it and roll it out (canary with analysis, "
        "or shadow with a comparison)."
    ),
)
def train_and_rollout(
    data_uri: str,
    target: str,
    positive_label: str,
    id_columns: list = VALIDATE.id_columns,
    time_column: str = VALIDATE.time_column,
    model_matrix: list = DEFAULT_MODEL_MATRIX,
    valid_fraction: float = FEATURIZE.valid_fraction,
    test_fraction: float = FEATURIZE.test_fraction,
    seed: int = FEATURIZE.seed,
    primary_metric: str = COMPARE.primary_metric,
    ensemble_members: int = COMPARE.ensemble_members,
    champion_uri: str = COMPARE.champion_uri,
    tracking_uri: str = GATE.tracking_uri,
    registered_model_name: str = GATE.registered_model_name,
    contract_uri: str = VALIDATE.expected_schema_uri,
    max_null_fraction: float = VALIDATE.max_null_fraction,
    min_class_count: int = VALIDATE.min_class_count,
    csv_encoding: str = VALIDATE.encoding,
    csv_delimiter: str = VALIDATE.delimiter,
    drop_columns: list = VALIDATE.drop_columns,
    categorical_columns: list = VALIDATE.categorical_columns,
    numeric_columns: list = VALIDATE.numeric_columns,
    datetime_columns: list = VALIDATE.datetime_columns,
    negative_labels: list = VALIDATE.negative_labels,
    leakage: str = VALIDATE.leakage,
    leakage_auc: float = VALIDATE.leakage_auc,
    min_category_count: int = FEATURIZE.min_category_count,
    interactions: list = FEATURIZE.interactions,
    rolling: list = FEATURIZE.rolling,
    cv_below_rows: int = FEATURIZE.cv_below_rows,
    cv_folds: int = FEATURIZE.cv_folds,
    gate_min_auc: float = GATE.min_auc,
    gate_max_log_loss: float = GATE.max_log_loss,
    gate_min_accuracy: float = GATE.min_accuracy,
    gate_auc_margin: float = GATE.auc_margin,
    gate_log_loss_margin: float = GATE.log_loss_margin,
    gate_accuracy_margin: float = GATE.accuracy_margin,
    gate_require_improvement: bool = GATE.require_improvement,
    gate_min_auc_improvement: float = GATE.min_auc_improvement,
    gate_slice_columns: list = GATE.slice_columns,
    gate_min_slice_rows: int = GATE.min_slice_rows,
    gate_max_slice_degradation: float = GATE.max_slice_degradation,
    gate_confidence: float = GATE.confidence,
    gate_bootstrap_resamples: int = GATE.bootstrap_resamples,
    gate_min_test_rows: int = GATE.min_test_rows,
    gate_min_class_rows: int = GATE.min_class_rows,
    deploy_target: str = DEPLOY.target,
    deploy_platform: str = DEPLOY.platform,
    deploy_strategy: str = DEPLOY.strategy,
    deploy_mode: str = DEPLOY.deployment_mode,
    deploy_namespace: str = DEPLOY.namespace,
    inference_service_name: str = DEPLOY.inference_service_name,
    canary_percent: int = DEPLOY.canary_percent,
    mirror_percent: float = DEPLOY.mirror_percent,
    deploy_storage_uri: str = DEPLOY.storage_uri,
    serving_service_account: str = DEPLOY.service_account,
    predictor_cpu: str = DEPLOY.cpu,
    predictor_memory: str = DEPLOY.memory,
    logger_mode: str = DEPLOY.logger_mode,
    logger_url: str = DEPLOY.logger_url,
    logger_storage_path: str = DEPLOY.logger_storage_path,
    logger_storage_key: str = DEPLOY.logger_storage_key,
    logger_storage_parameters: dict = DEPLOY.logger_storage_parameters,
    deploy_approval_timeout_s: float = DEPLOY.approval_timeout_s,
    rollout_steps: list = ROLLOUT.steps,
    rollout_window_requests: int = ROLLOUT.window_requests,
    feedback_uri: str = ROLLOUT.feedback_uri,
    prometheus_url: str = ROLLOUT.prometheus_url,
    prometheus_token_file: str = ROLLOUT.prometheus_token_file,
    shadow_champion_log_uri: str = "",
    shadow_log_uri: str = SHADOW.shadow_uri,
    shadow_min_pairs: int = SHADOW.min_pairs,
    shadow_min_label_agreement: float = SHADOW.min_label_agreement,
    shadow_max_mean_abs_diff: float = SHADOW.max_mean_abs_diff,
    shadow_max_p95_abs_diff: float = SHADOW.max_p95_abs_diff,
    shadow_max_latency_ratio: float = SHADOW.max_latency_ratio,
    shadow_max_requests: int = SHADOW.max_requests,
    data_cpu_request: str = DATA.cpu_request,
    data_cpu_limit: str = DATA.cpu_limit,
    data_memory_request: str = DATA.memory_request,
    data_memory_limit: str = DATA.memory_limit,
    train_cpu_request: str = TRAIN.cpu_request,
    train_cpu_limit: str = TRAIN.cpu_limit,
    train_memory_request: str = TRAIN.memory_request,
    train_memory_limit: str = TRAIN.memory_limit,
    train_node_selector: dict = {},  # noqa: B006 - KFP reads the default from the signature
    train_tolerations: list = [],  # noqa: B006
    train_accelerator_type: str = "",
    train_accelerator_limit: str = "1",
    ops_cpu_request: str = OPS.cpu_request,
    ops_cpu_limit: str = OPS.cpu_limit,
    ops_memory_request: str = OPS.memory_request,
    ops_memory_limit: str = OPS.memory_limit,
    credentials_secret: str = tasks.CREDENTIALS_SECRET,
    prometheus_token_secret: str = tasks.PROMETHEUS_SECRET,
):
    """Train and rank a model matrix on a tabular dataset, gate, deploy and roll out the winner.

    Args:
        data_uri: CSV or Parquet, local path or gs:// URI.
        target: Label column.
        positive_label: Positive class label, as text.
        id_columns: Identifier columns, kept out of features.
        time_column: Orders rows in time; "" for a stratified random split.
        model_matrix: Candidates ``{"name", "family", "params"}``, one train task each.
        valid_fraction: Validation share (selection, early stopping).
        test_fraction: Test share (the gate's judge).
        seed: Seed of the split and the learners.
        primary_metric: Ranking metric of compare.
        ensemble_members: Top candidates compare combines into an ensemble row (weights fitted
            on valid predictions); 0 turns the ensemble off.
        champion_uri: Bundle now serving, compared on the same rows; "" for the first run.
            ``kfp-tabular run`` and ``submit`` fill it from the registry's champion of
            ``registered_model_name`` when it is "" (or a ``models:/<name>@champion`` URI).
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty). Train, compare and gate log runs nested under one parent run per
            pipeline run; deploy and rollout move the registry's champion.
        registered_model_name: MLflow registered model a blessed bundle joins as alias
            challenger; a promotion (rollout, or a direct deploy that serves) makes it the
            champion; "": no registry.
        contract_uri: Schema JSON of an earlier run (local or gs://) that the data must meet;
            "" to infer the schema.
        max_null_fraction: Null share above which validation fails.
        min_class_count: Minimum rows per class.
        csv_encoding: Text encoding of a CSV ("" detects it: BOM, UTF-8, else cp1252 / latin-1).
        csv_delimiter: CSV delimiter ("" sniffs it among , ; tab |).
        drop_columns: Columns removed before anything else, e.g. ones that leak the label.
        categorical_columns: Columns typed categorical, read as text as written.
        numeric_columns: Columns typed numeric (float), whatever inference would say.
        datetime_columns: Columns typed datetime, whatever inference would say.
        negative_labels: Target labels that count as negative; needed when the target has over
            two labels.
        leakage: What a feature that predicts the label on its own is: "warning", "error" or
            "off".
        leakage_auc: A feature whose own AUC against the label reaches this is leakage.
        min_category_count: Categories rarer than this in train share the unknown bucket.
        interactions: Named feature interactions {name, op, left, right}, e.g. a ratio.
        rolling: Rolling aggregates per entity over time windows {name, entity, time, value,
            window, agg}.
        cv_below_rows: Below this many rows (and without a time column), evaluate by stratified
            k-fold cross-validation instead of a holdout: compare ranks and the gate judges
            out-of-fold predictions over every row, the bundle is refit on every row; 0 never.
        cv_folds: Folds of that cross-validation (3 to 20).
        gate_min_auc: Floor on the challenger's test AUC (its DeLong lower bound must reach it).
        gate_max_log_loss: Ceiling on test log loss (its bootstrap upper bound must stay below).
        gate_min_accuracy: Floor on test accuracy at 0.5 (lower bound); 0 disables it.
        gate_auc_margin: Non-inferiority margin: AUC the challenger may lose to the champion.
        gate_log_loss_margin: Log loss the challenger may add over the champion.
        gate_accuracy_margin: Accuracy the challenger may lose to the champion.
        gate_require_improvement: Bless only a challenger whose AUC gain is shown.
        gate_min_auc_improvement: The AUC gain the lower bound must exceed, with the above.
        gate_slice_columns: Raw categorical/boolean columns whose values the gate checks.
        gate_min_slice_rows: Slices smaller than this are reported, not judged.
        gate_max_slice_degradation: AUC a slice may lose to the champion before it refuses.
        gate_confidence: Confidence level of the gate's intervals.
        gate_bootstrap_resamples: Paired bootstrap resamples of the gate.
        gate_min_test_rows: Fewer test rows (out-of-fold rows under cross-validation) and the
            gate cannot decide (refuses).
        gate_min_class_rows: Fewer judged rows of either class and the gate cannot decide.
        deploy_target: ``render`` (manifests only), ``kubernetes`` (apply) or ``local``.
        deploy_platform: ``kserve`` (InferenceService) or ``seldon`` (SeldonDeployment).
        deploy_strategy: ``direct``, ``canary`` or ``shadow`` (direct when there is no champion).
        deploy_mode: KServe deployment mode, ``Knative`` or ``Standard``.
        deploy_namespace: Namespace of the InferenceService.
        inference_service_name: Name of the InferenceService.
        canary_percent: Traffic share of the canary when deployed (the rollout's first step).
        mirror_percent: Share of the champion's requests Istio mirrors to the shadow, (0, 100].
        deploy_storage_uri: The bundle's URI for KServe's storage initializer; "" = the
            blessed bundle artifact's URI.
        serving_service_account: Service account of the predictor pods (gs:// credentials).
        predictor_cpu: CPU of each predictor (requests = limits), e.g. "1" or "500m".
        predictor_memory: Memory of each predictor (requests = limits), e.g. "1Gi".
        logger_mode: What KServe's payload logger sends: all, request or response.
        logger_url: CloudEvents sink of the payload logger ("" = none); shadow needs a sink.
        logger_storage_path: Blob-storage path of the payload logger ("" = none).
        logger_storage_key: Key of the payload logger's storage secret.
        logger_storage_parameters: Storage parameters of the payload logger (string values).
        deploy_approval_timeout_s: Seconds deploy waits for a person's approval of the
            bundle's registered version (``kfp-tabular approve``); -1 = no approval needed,
            0 = refuse unless approved already.
        rollout_steps: Canary traffic percents the rollout walks through, the last 100.
        rollout_window_requests: Canary requests analysed per step (local replay).
        feedback_uri: Outcomes table (request_id, label) for the rollout's A/B test ("" = none).
        prometheus_url: Prometheus HTTP API the rollout reads on a cluster.
        prometheus_token_file: Bearer token file for Prometheus ("" = none); the Secret
            ``prometheus_token_secret`` is mounted at /var/secrets/kfp-tabular/prometheus.
        shadow_champion_log_uri: The champion's payload-logger output (local or gs://) that the
            shadow step replays to the challenger; needed with strategy shadow.
        shadow_log_uri: The shadow's own logger output (Istio mirror) instead of a replay.
        shadow_min_pairs: Fewest paired requests for a shadow verdict.
        shadow_min_label_agreement: Lowest share of rows with the same label, shadow vs champion.
        shadow_max_mean_abs_diff: Highest mean |challenger - champion| score.
        shadow_max_p95_abs_diff: Highest 95th percentile of |challenger - champion|.
        shadow_max_latency_ratio: Highest challenger / champion p95 latency.
        shadow_max_requests: Most logged requests the shadow step replays.
        data_cpu_request: CPU request of validate, featurize, compare and gate.
        data_cpu_limit: CPU limit of validate, featurize, compare and gate.
        data_memory_request: Memory request of validate, featurize, compare and gate.
        data_memory_limit: Memory limit of validate, featurize, compare and gate.
        train_cpu_request: CPU request of each train task.
        train_cpu_limit: CPU limit of each train task (the learners use every core given).
        train_memory_request: Memory request of each train task.
        train_memory_limit: Memory limit of each train task.
        train_node_selector: Node labels the train pods must match, e.g. {"pool": "highcpu"}.
        train_tolerations: Tolerations of the train pods, e.g. [{"key": "dedicated",
            "operator": "Equal", "value": "ml", "effect": "NoSchedule"}].
        train_accelerator_type: Accelerator resource of train, e.g. "nvidia.com/gpu"; "" = none.
        train_accelerator_limit: Accelerators per train pod, with train_accelerator_type.
        ops_cpu_request: CPU request of deploy, rollout and shadow.
        ops_cpu_limit: CPU limit of deploy, rollout and shadow.
        ops_memory_request: Memory request of deploy, rollout and shadow.
        ops_memory_limit: Memory limit of deploy, rollout and shadow.
        credentials_secret: Optional Secret mounted in every step: key
            application_default_credentials.json (a key file for gs://), key project.
        prometheus_token_secret: Optional Secret with the Prometheus token, mounted in rollout.
    """
    data = (data_cpu_request, data_cpu_limit, data_memory_request, data_memory_limit)
    ops = (ops_cpu_request, ops_cpu_limit, ops_memory_request, ops_memory_limit)
    checked = validate(
        data_uri=data_uri,
        target=target,
        positive_label=positive_label,
        id_columns=id_columns,
        time_column=time_column,
        max_null_fraction=max_null_fraction,
        min_class_count=min_class_count,
        expected_schema_uri=contract_uri,
        encoding=csv_encoding,
        delimiter=csv_delimiter,
        drop_columns=drop_columns,
        categorical_columns=categorical_columns,
        numeric_columns=numeric_columns,
        datetime_columns=datetime_columns,
        negative_labels=negative_labels,
        leakage=leakage,
        leakage_auc=leakage_auc,
    )
    credentials(size(step(checked, "validate"), *data), credentials_secret)

    featurized = featurize(
        dataset=checked.outputs["dataset"],
        schema=checked.outputs["schema"],
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        seed=seed,
        min_category_count=min_category_count,
        interactions=interactions,
        rolling=rolling,
        cv_below_rows=cv_below_rows,
        cv_folds=cv_folds,
    )
    credentials(size(step(featurized, "featurize"), *data), credentials_secret)

    with dsl.ParallelFor(items=model_matrix, name="model-matrix") as candidate:
        trained = train(
            candidate=candidate,
            features=featurized.outputs["features"],
            splits=featurized.outputs["splits"],
            featurizer=featurized.outputs["featurizer"],
            schema=checked.outputs["schema"],
            profile=checked.outputs["profile"],
            seed=seed,
            tracking_uri=tracking_uri,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        )
        size(
            step(trained, "train"),
            train_cpu_request,
            train_cpu_limit,
            train_memory_request,
            train_memory_limit,
        )
        place(
            trained,
            node_selector=train_node_selector,
            tolerations=train_tolerations,
            accelerator_type=train_accelerator_type,
            accelerator_limit=train_accelerator_limit,
        )
        credentials(trained, credentials_secret)

    ranked = compare(
        candidates=dsl.Collected(trained.outputs["bundle"]),
        oof_predictions=dsl.Collected(trained.outputs["oof_predictions"]),
        splits=featurized.outputs["splits"],
        primary_metric=primary_metric,
        ensemble_members=ensemble_members,
        champion_uri=champion_uri,
        tracking_uri=tracking_uri,
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    )
    credentials(size(step(ranked, "compare"), *data), credentials_secret)

    gated = gate(
        challenger=ranked.outputs["challenger"],
        splits=featurized.outputs["splits"],
        leaderboard=ranked.outputs["leaderboard"],
        challenger_oof=ranked.outputs["challenger_oof"],
        champion_uri=champion_uri,
        min_auc=gate_min_auc,
        max_log_loss=gate_max_log_loss,
        min_accuracy=gate_min_accuracy,
        auc_margin=gate_auc_margin,
        log_loss_margin=gate_log_loss_margin,
        accuracy_margin=gate_accuracy_margin,
        require_improvement=gate_require_improvement,
        min_auc_improvement=gate_min_auc_improvement,
        slice_columns=gate_slice_columns,
        min_slice_rows=gate_min_slice_rows,
        max_slice_degradation=gate_max_slice_degradation,
        confidence=gate_confidence,
        bootstrap_resamples=gate_bootstrap_resamples,
        seed=seed,
        min_test_rows=gate_min_test_rows,
        min_class_rows=gate_min_class_rows,
        run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
    )
    credentials(size(step(gated, "gate"), *data), credentials_secret)

    with dsl.If(gated.outputs["Output"] == True, name="blessed"):  # noqa: E712 - a KFP condition
        deployed = deploy(
            bundle=gated.outputs["blessed_bundle"],
            blessing=gated.outputs["blessing"],
            target=deploy_target,
            platform=deploy_platform,
            strategy=deploy_strategy,
            deployment_mode=deploy_mode,
            namespace=deploy_namespace,
            inference_service_name=inference_service_name,
            canary_percent=canary_percent,
            mirror_percent=mirror_percent,
            service_account=serving_service_account,
            storage_uri=deploy_storage_uri,
            champion_storage_uri=champion_uri,
            logger_mode=logger_mode,
            logger_url=logger_url,
            logger_storage_path=logger_storage_path,
            logger_storage_key=logger_storage_key,
            logger_storage_parameters=logger_storage_parameters,
            cpu=predictor_cpu,
            memory=predictor_memory,
            tracking_uri=tracking_uri,
            registered_model_name=registered_model_name,
            approval_timeout_s=deploy_approval_timeout_s,
        )
        credentials(size(step(deployed, "deploy"), *ops), credentials_secret)

        rolled = rollout(
            deployment=deployed.outputs["deployment"],
            splits=featurized.outputs["splits"],
            steps=rollout_steps,
            window_requests=rollout_window_requests,
            seed=seed,
            feedback_uri=feedback_uri,
            prometheus_url=prometheus_url,
            prometheus_token_file=prometheus_token_file,
            tracking_uri=tracking_uri,
            registered_model_name=registered_model_name,
        )
        credentials(size(step(rolled, "rollout"), *ops), credentials_secret)
        prometheus_token(rolled, prometheus_token_secret)

        # Shadow: only a shadow that is serving (a champion given, something deployed) is compared.
        with (
            dsl.If(deploy_strategy == "shadow", name="shadow-strategy"),
            dsl.If(champion_uri != "", name="with-champion"),
            dsl.If(deploy_target != "render", name="serving"),
        ):
            compared = shadow(
                deployment=deployed.outputs["deployment"],
                champion_uri=shadow_champion_log_uri,
                shadow_uri=shadow_log_uri,
                min_pairs=shadow_min_pairs,
                min_label_agreement=shadow_min_label_agreement,
                max_mean_abs_diff=shadow_max_mean_abs_diff,
                max_p95_abs_diff=shadow_max_p95_abs_diff,
                max_latency_ratio=shadow_max_latency_ratio,
                max_requests=shadow_max_requests,
            )
            credentials(size(step(compared, "shadow"), *ops), credentials_secret)
