"""``train_and_rollout``: from a table to a blessed challenger, deployed and rolled out.

    validate -> featurize -> train x N (dsl.ParallelFor over the model matrix) -> compare -> gate
        -> dsl.If(blessed): deploy -> rollout (canary steps; promote or roll back)

``deploy_target`` chooses where the blessed bundle goes: ``render`` (the default: manifests as an
artifact, nothing applied, rollout records "rendered; no rollout"), ``kubernetes`` (applied with
the kubernetes client; rollout reads Prometheus) or ``local`` (local serving processes; rollout
replays the test split to them). The compiled YAML is ``compiled/train_and_rollout.yaml``.
"""

from kfp import dsl

from components.catalog import compare, deploy, featurize, gate, rollout, train, validate
from components.compare.config import CompareConfig
from components.deploy.config import DeployConfig
from components.featurize.config import FeaturizeConfig
from components.gate.config import GateConfig
from components.rollout.config import RolloutConfig
from components.train.matrix import DEFAULT_MODEL_MATRIX
from components.validate.config import ValidateConfig

# The default of every parameter forwarded to a component is that component's config default,
# read here (tests/test_component_shape.py checks the compiled YAML against every config).
VALIDATE = ValidateConfig.defaults()
FEATURIZE = FeaturizeConfig.defaults()
COMPARE = CompareConfig.defaults()
GATE = GateConfig.defaults()
DEPLOY = DeployConfig.defaults()
ROLLOUT = RolloutConfig.defaults()

PIPELINE_NAME = "train-and-rollout"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description=(
        "Validate a table, featurize it, train a model matrix, rank it against the champion and "
        "gate the challenger on the test rows, deploy it and roll it out."
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
    champion_uri: str = COMPARE.champion_uri,
    contract_uri: str = VALIDATE.expected_schema_uri,
    max_null_fraction: float = VALIDATE.max_null_fraction,
    min_class_count: int = VALIDATE.min_class_count,
    min_category_count: int = FEATURIZE.min_category_count,
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
    deploy_strategy: str = DEPLOY.strategy,
    deploy_mode: str = DEPLOY.deployment_mode,
    deploy_namespace: str = DEPLOY.namespace,
    inference_service_name: str = DEPLOY.inference_service_name,
    canary_percent: int = DEPLOY.canary_percent,
    rollout_steps: list = ROLLOUT.steps,
    rollout_window_requests: int = ROLLOUT.window_requests,
    prometheus_url: str = ROLLOUT.prometheus_url,
):
    """Train and rank a model matrix on a tabular dataset.

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
        champion_uri: Bundle now serving, compared on the same rows; "" for the first run.
        contract_uri: Schema JSON of an earlier run (local or gs://) that the data must meet;
            "" to infer the schema.
        max_null_fraction: Null share above which validation fails.
        min_class_count: Minimum rows per class.
        min_category_count: Categories rarer than this in train share the unknown bucket.
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
        gate_min_test_rows: Fewer test rows and the gate cannot decide (refuses).
        gate_min_class_rows: Fewer test rows of either class and the gate cannot decide.
        deploy_target: ``render`` (manifests only), ``kubernetes`` (apply) or ``local``.
        deploy_strategy: ``direct``, ``canary`` or ``shadow`` (direct when there is no champion).
        deploy_mode: KServe deployment mode, ``Knative`` or ``Standard``.
        deploy_namespace: Namespace of the InferenceService.
        inference_service_name: Name of the InferenceService.
        canary_percent: Traffic share of the canary when deployed (the rollout's first step).
        rollout_steps: Canary traffic percents the rollout walks through, the last 100.
        rollout_window_requests: Canary requests analysed per step (local replay).
        prometheus_url: Prometheus HTTP API the rollout reads on a cluster.
    """
    checked = validate(
        data_uri=data_uri,
        target=target,
        positive_label=positive_label,
        id_columns=id_columns,
        time_column=time_column,
        max_null_fraction=max_null_fraction,
        min_class_count=min_class_count,
        expected_schema_uri=contract_uri,
    ).set_display_name("validate")

    featurized = featurize(
        dataset=checked.outputs["dataset"],
        schema=checked.outputs["schema"],
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        seed=seed,
        min_category_count=min_category_count,
    ).set_display_name("featurize")

    with dsl.ParallelFor(items=model_matrix, name="model-matrix") as candidate:
        trained = train(
            candidate=candidate,
            features=featurized.outputs["features"],
            splits=featurized.outputs["splits"],
            featurizer=featurized.outputs["featurizer"],
            schema=checked.outputs["schema"],
            profile=checked.outputs["profile"],
            seed=seed,
        ).set_display_name("train")

    ranked = compare(
        candidates=dsl.Collected(trained.outputs["bundle"]),
        splits=featurized.outputs["splits"],
        primary_metric=primary_metric,
        champion_uri=champion_uri,
    ).set_display_name("compare")

    gated = gate(
        challenger=ranked.outputs["challenger"],
        splits=featurized.outputs["splits"],
        leaderboard=ranked.outputs["leaderboard"],
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
    ).set_display_name("gate")

    with dsl.If(gated.outputs["Output"] == True, name="blessed"):  # noqa: E712 - a KFP condition
        deployed = deploy(
            bundle=gated.outputs["blessed_bundle"],
            blessing=gated.outputs["blessing"],
            target=deploy_target,
            strategy=deploy_strategy,
            deployment_mode=deploy_mode,
            namespace=deploy_namespace,
            inference_service_name=inference_service_name,
            canary_percent=canary_percent,
            champion_storage_uri=champion_uri,
        ).set_display_name("deploy")
        rollout(
            deployment=deployed.outputs["deployment"],
            splits=featurized.outputs["splits"],
            steps=rollout_steps,
            window_requests=rollout_window_requests,
            seed=seed,
            prometheus_url=prometheus_url,
        ).set_display_name("rollout")
