"""Names that cross a step boundary: artifact file names, metadata keys, metric names.

Every producer and consumer imports the constant instead of spelling the string, so a rename is
one edit and a typo is an ImportError instead of a silently missing key.
"""

from typing import Final

# --- files inside artifacts -------------------------------------------------------------------
SCHEMA_FILE: Final = "schema.json"
PROFILE_FILE: Final = "profile.json"
FEATURIZER_FILE: Final = "featurizer.json"
MANIFEST_FILE: Final = "manifest.json"
MODEL_CARD_FILE: Final = "model_card.md"
LEADERBOARD_FILE: Final = "leaderboard.json"

# Split tables inside the ``features`` and ``splits`` dataset directories.
SPLITS: Final = ("train", "valid", "test")
TRAIN: Final = "train"
VALID: Final = "valid"
TEST: Final = "test"


def split_file(split: str) -> str:
    """File name of one split's table inside a features or splits directory."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return f"{split}.parquet"


# Column holding the 0/1 label in feature tables (raw split tables keep the original target).
LABEL_COLUMN: Final = "__label__"

# Model files inside a bundle, by family (the library's own safe format).
MODEL_FILES: Final = {
    "xgboost": "model.ubj",
    "lightgbm": "model.txt",
    "sklearn": "model.skops",
    "sklearn_logreg": "model.skops",
    "sklearn_hgb": "model.skops",
    "sklearn_rf": "model.skops",
}
# Model families a candidate may name (``components/_shared/families``).
FAMILIES: Final = ("xgboost", "lightgbm", "sklearn_logreg", "sklearn_hgb", "sklearn_rf")

# Top-level fields of a bundle's manifest.json (components/_shared/bundle.py).
MANIFEST_BUNDLE_FORMAT: Final = "bundle_format"
MANIFEST_FAMILY: Final = "family"
MANIFEST_CANDIDATE: Final = "candidate"
MANIFEST_PARAMS: Final = "params"
MANIFEST_LIBRARY_VERSIONS: Final = "library_versions"
MANIFEST_SCHEMA: Final = "schema"
MANIFEST_TARGET: Final = "target"
MANIFEST_POSITIVE_LABEL: Final = "positive_label"
MANIFEST_CLASS_LABELS: Final = "class_labels"
MANIFEST_METRICS: Final = "metrics"
MANIFEST_TRAINING_DATA: Final = "training_data"
MANIFEST_CODE_VERSION: Final = "code_version"
MANIFEST_CREATED_AT: Final = "created_at"
MANIFEST_FILES: Final = "files"

# Candidate dicts (train input, manifest ``candidate``, leaderboard rows).
CANDIDATE_NAME: Final = "name"
CANDIDATE_FAMILY: Final = "family"
CANDIDATE_PARAMS: Final = "params"
# Optional candidate param: "balanced" re-weights classes (class_weight / scale_pos_weight).
PARAM_CLASS_WEIGHTING: Final = "class_weighting"

# --- artifact metadata keys (shown in the KFP UI, read by later steps) --------------------------
META_DISPLAY_NAME: Final = "display_name"
META_ROWS: Final = "rows"
META_COLUMNS: Final = "columns"
META_CONTENT_SHA256: Final = "content_sha256"
META_SOURCE_URI: Final = "source_uri"
META_FAMILY: Final = "family"
META_CANDIDATE: Final = "candidate"
META_PRIMARY_METRIC: Final = "primary_metric"
META_BUNDLE_FORMAT: Final = "bundle_format"
# Written by featurize on its featurizer / features / splits outputs.
META_N_FEATURES: Final = "n_features"
META_INPUT_COLUMNS: Final = "input_columns"
META_SPLIT_METHOD: Final = "split_method"
META_TRAIN_ROWS: Final = "train_rows"
META_VALID_ROWS: Final = "valid_rows"
META_TEST_ROWS: Final = "test_rows"
# Split methods recorded under META_SPLIT_METHOD.
SPLIT_STRATIFIED: Final = "stratified"
SPLIT_TIME: Final = "time"
# Small data: every row is evaluated out of fold by stratified k-fold cross-validation
# (featurize decides by row count; train, compare and gate follow). FOLDS_FILE sits in featurize's
# splits directory: one FOLD_COLUMN value per row of the train split (which then holds every row).
SPLIT_KFOLD: Final = "stratified_kfold"
FOLDS_FILE: Final = "folds.parquet"
FOLD_COLUMN: Final = "__fold__"
META_EVALUATION: Final = "evaluation"
META_FOLDS: Final = "folds"
EVALUATION_HOLDOUT: Final = "holdout"
# A train task's out-of-fold predictions (a directory): OOF_FILE rows (OOF_ROW = position in the
# train split, FOLD_COLUMN, LABEL_COLUMN, OOF_PROBA) and OOF_INFO JSON (candidate, evaluation,
# folds, rows, the bundle's manifest sha256). Empty (no rows) under holdout evaluation.
OOF_FILE: Final = "oof.parquet"
OOF_INFO: Final = "oof.json"
OOF_ROW: Final = "row"
OOF_PROBA: Final = "proba"
OOF_BUNDLE_SHA256: Final = "bundle_manifest_sha256"


def cv_evaluation(folds: int, rows: int) -> str:
    """How a cross-validated evaluation is named in leaderboards, blessings and model cards."""
    return f"stratified {folds}-fold cross-validation on {rows} rows"


# --- metric names (Metrics artifacts, manifests, leaderboards) -------------------------------
METRIC_AUC: Final = "auc"
METRIC_LOG_LOSS: Final = "log_loss"
METRIC_ACCURACY: Final = "accuracy"
METRIC_PRECISION: Final = "precision"
METRIC_RECALL: Final = "recall"
METRIC_F1: Final = "f1"
CLASSIFICATION_METRICS: Final = (
    METRIC_AUC,
    METRIC_LOG_LOSS,
    METRIC_ACCURACY,
    METRIC_PRECISION,
    METRIC_RECALL,
    METRIC_F1,
)
# Metrics where a smaller value is better (used to sort leaderboards).
LOWER_IS_BETTER: Final = frozenset({METRIC_LOG_LOSS})

METRIC_TRAIN_SECONDS: Final = "train_seconds"
METRIC_BUNDLE_BYTES: Final = "bundle_bytes"
METRIC_PREDICT_LATENCY_MS: Final = "single_row_predict_ms"
# Largest |p(raw rows through the loaded bundle) - p(feature table through the trained model)|
# on valid: training/serving parity, measured by train on every bundle it writes.
METRIC_PARITY_MAX_ABS_DIFF: Final = "serving_parity_max_abs_diff"
METRIC_CANDIDATES: Final = "candidates"

# validate (data checks; logged on the validate step's Metrics artifact)
METRIC_ROWS: Final = "rows"
METRIC_COLUMNS: Final = "columns"
METRIC_ERRORS: Final = "errors"
METRIC_WARNINGS: Final = "warnings"
METRIC_COERCED_CELLS: Final = "coerced_cells"
METRIC_NULL_CELLS: Final = "null_cells"
METRIC_DUPLICATE_ROWS: Final = "duplicate_rows"
METRIC_POSITIVE_RATE: Final = "positive_rate"
METRIC_POSITIVE_ROWS: Final = "positive_rows"
METRIC_NEGATIVE_ROWS: Final = "negative_rows"
# batch_predict metrics (rows read = METRIC_ROWS; positive predictions = METRIC_POSITIVE_ROWS)
METRIC_SCORED_ROWS: Final = "scored_rows"
METRIC_ERROR_ROWS: Final = "error_rows"
METRIC_UNSEEN_PREFIX: Final = "unseen."  # + column: values never seen in training (scored)
# Artifact metadata written by validate.
META_TARGET: Final = "target"
META_POSITIVE_LABEL: Final = "positive_label"
META_FORMAT_VERSION: Final = "format_version"
METRIC_CHAMPION_AHEAD: Final = "champion_ahead"

# --- leaderboard (compare output, read by gate) -------------------------------------------------
LEADERBOARD_ROWS: Final = "rows"
LEADERBOARD_PRIMARY_METRIC: Final = "primary_metric"
LEADERBOARD_CHAMPION_AHEAD: Final = "champion_ahead"
LEADERBOARD_CHALLENGER: Final = "challenger"
LEADERBOARD_EVALUATION: Final = "evaluation"  # "holdout", or keys.cv_evaluation(...)
ROLE_CANDIDATE: Final = "candidate"
ROLE_CHAMPION: Final = "champion"
META_CHAMPION_AHEAD: Final = "champion_ahead"

# --- gate (blessing, lineage record; read by deploy) ------------------------------------------
VERDICT_BLESSED: Final = "blessed"
VERDICT_REFUSED: Final = "refused"
VERDICT_CANNOT_DECIDE: Final = "cannot_decide"
BLESSING_BLESSED: Final = "blessed"
BLESSING_VERDICT: Final = "verdict"
BLESSING_RULE_VERSION: Final = "rule_version"
BLESSING_REASONS: Final = "reasons"
BLESSING_SUMMARY: Final = "summary"
BLESSING_CHALLENGER: Final = "challenger"
BLESSING_CHAMPION: Final = "champion"
BLESSING_BUNDLE_URI: Final = "bundle_uri"
BLESSING_THRESHOLDS: Final = "thresholds"
BLESSING_EVIDENCE: Final = "evidence"
BLESSING_INFRA: Final = "infra"
BLESSING_EVALUATION: Final = "evaluation"  # "holdout", or keys.cv_evaluation(...)
META_BLESSED: Final = "blessed"
META_VERDICT: Final = "verdict"
META_RULE_VERSION: Final = "rule_version"
# Lineage record (run manifest) written by gate; deploy fills LINEAGE_DEPLOYED_REVISION.
LINEAGE_FORMAT: Final = "lineage_format"
LINEAGE_RUN: Final = "run"
LINEAGE_DATA: Final = "data"
LINEAGE_TEST_SPLIT: Final = "test_split"
LINEAGE_CANDIDATES: Final = "candidates"
LINEAGE_CHALLENGER: Final = "challenger"
LINEAGE_CHAMPION: Final = "champion"
LINEAGE_THRESHOLDS: Final = "thresholds"
LINEAGE_DECISION: Final = "decision"
LINEAGE_BLESSED_BUNDLE: Final = "blessed_bundle"
LINEAGE_DEPLOYED_REVISION: Final = "deployed_revision"
# The registered model version deployed, its approval and champion move (deploy, rollout).
LINEAGE_REGISTRY: Final = "registry"
# Metrics logged by gate (besides test_<metric>, test_<metric>_low/_high, delta_<metric>).
METRIC_BLESSED: Final = "blessed"
METRIC_DELONG_P: Final = "delong_p_value"
METRIC_MCNEMAR_P: Final = "mcnemar_p_value"
METRIC_GATE_SECONDS: Final = "gate_seconds"
METRIC_SERVING_MAX_ABS_DIFF: Final = "serving_max_abs_diff"

# --- deploy (deployment record; read by rollout, shadow and `make stop`) -----------------------
DEPLOY_TARGETS: Final = ("kubernetes", "render", "local")
DEPLOY_TARGET_KUBERNETES: Final = "kubernetes"
DEPLOY_TARGET_RENDER: Final = "render"
DEPLOY_TARGET_LOCAL: Final = "local"
DEPLOY_STRATEGIES: Final = ("direct", "canary", "shadow")
DEPLOY_STRATEGY_DIRECT: Final = "direct"
DEPLOY_STRATEGY_CANARY: Final = "canary"
DEPLOY_STRATEGY_SHADOW: Final = "shadow"
DEPLOY_MODES: Final = ("Knative", "Standard")
DEPLOY_MODE_KNATIVE: Final = "Knative"
DEPLOY_MODE_STANDARD: Final = "Standard"
# Serving platform of the rendered manifests: KServe InferenceService(s) or a Seldon Core v1
# SeldonDeployment (the record's DEPLOY_PLATFORM; rollout patches the matching object).
DEPLOY_PLATFORMS: Final = ("kserve", "seldon")
DEPLOY_PLATFORM_KSERVE: Final = "kserve"
DEPLOY_PLATFORM_SELDON: Final = "seldon"
DEPLOY_PLATFORM: Final = "platform"
# Roles of the served sides (stable = what serves now: the champion, or the challenger alone).
DEPLOY_ROLE_STABLE: Final = "stable"
DEPLOY_ROLE_CANARY: Final = "canary"
DEPLOY_ROLE_SHADOW: Final = "shadow"
# Deployment record JSON (deploy's `deployment` output). `make stop` finds records by file name.
DEPLOY_RECORD_FORMAT: Final = "record_format"
DEPLOY_RECORD_FORMAT_PREFIX: Final = "kfp-tabular-deployment/"
DEPLOY_RECORD_FORMAT_VERSION: Final = "kfp-tabular-deployment/1"
DEPLOY_RECORD_FILE_NAMES: Final = frozenset({"deployment", "deployment.json"})
DEPLOY_TARGET: Final = "target"
DEPLOY_STRATEGY: Final = "strategy"
DEPLOY_REQUESTED_STRATEGY: Final = "requested_strategy"
DEPLOY_MODE: Final = "mode"
DEPLOY_NAMESPACE: Final = "namespace"
DEPLOY_NAME: Final = "name"
DEPLOY_CANARY_PERCENT: Final = "canary_percent"
DEPLOY_MIRROR_PERCENT: Final = "mirror_percent"
DEPLOY_SIDES: Final = "sides"
DEPLOY_SIDE_ROLE: Final = "role"
DEPLOY_SIDE_BUNDLE_URI: Final = "bundle_uri"
DEPLOY_SIDE_URL: Final = "url"
DEPLOY_SIDE_PID: Final = "pid"
DEPLOY_SIDE_PORT: Final = "port"
DEPLOY_SIDE_MODEL_NAME: Final = "model_name"
DEPLOY_SIDE_LOG_PATH: Final = "log_path"
DEPLOY_SIDE_INFERENCE_SERVICE: Final = "inference_service"
DEPLOY_SIDE_PREDICTOR_NAME: Final = "predictor_name"
DEPLOY_MANIFESTS: Final = "manifests"
DEPLOY_CLUSTER_STATUS: Final = "cluster_status"
DEPLOY_NOTES: Final = "notes"
DEPLOY_DEPLOYED_AT: Final = "deployed_at"
# Files inside deploy's `manifests` output directory (besides one YAML file per document).
DEPLOY_ALL_MANIFESTS_FILE: Final = "all.yaml"
META_DEPLOY_TARGET: Final = "target"
META_DEPLOY_STRATEGY: Final = "strategy"
META_DEPLOY_MODE: Final = "mode"
META_DEPLOY_URLS: Final = "urls"
META_DEPLOY_DOCUMENTS: Final = "documents"

# --- drift (drift component outputs, read by drift_monitor users and dashboards) ---------------
DRIFT_RESULT_FILE: Final = "drift.json"
DRIFT_REPORT_HTML_FILE: Final = "report.html"
DRIFT_SNAPSHOT_FILE: Final = "snapshot.json"
DRIFT_SUMMARY_FILE: Final = "summary.md"
DRIFT_METRICS_FILE: Final = "metrics.json"
# Name of the model-score pseudo column in drift results.
DRIFT_SCORE_COLUMN: Final = "__prediction__"
METRIC_DATASET_DRIFT: Final = "dataset_drift"
METRIC_DRIFT_SHARE: Final = "drift_share"
METRIC_DRIFTED_COLUMNS: Final = "drifted_columns"
METRIC_TESTED_COLUMNS: Final = "tested_columns"
METRIC_CURRENT_ROWS: Final = "current_rows"
METRIC_PREDICTION_DRIFT: Final = "prediction_drift"
METRIC_PREDICTION_DRIFT_SCORE: Final = "prediction_drift_score"
METRIC_PERFORMANCE_DRIFT: Final = "performance_drift"
METRIC_DRIFT_SCORE_PREFIX: Final = "drift_score."
META_DATASET_DRIFT: Final = "dataset_drift"
META_SAMPLE_ROWS: Final = "sample_rows"
META_HTML_BYTES: Final = "html_bytes"
META_RETRAIN_RUN_ID: Final = "retrain_run_id"

# --- rollout and shadow (decision trails, shadow comparisons) --------------------------------
# Decision trail (rollout output) and shadow comparison files.
ROLLOUT_TRAIL_FILE: Final = "trail.json"
SHADOW_RESULT_FILE: Final = "shadow.json"
DECISION_PROMOTE: Final = "promote"
DECISION_ROLLBACK: Final = "rollback"
DECISION_NONE: Final = "none"
# Feedback datasets (labels that arrive later) are joined to predictions by request id.
FEEDBACK_REQUEST_ID: Final = "request_id"
FEEDBACK_LABEL: Final = "label"
# Metrics logged by rollout and shadow.
METRIC_PROMOTED: Final = "promoted"
METRIC_ROLLOUT_STEPS: Final = "steps_completed"
METRIC_ROLLOUT_SECONDS: Final = "rollout_seconds"
METRIC_SHADOW_PASSED: Final = "shadow_passed"
METRIC_SHADOW_PAIRS: Final = "paired_requests"
METRIC_SHADOW_AGREEMENT: Final = "label_agreement"
META_DECISION: Final = "decision"
META_PASSED: Final = "passed"

# The bundle's own digest (sha256 of manifest.json) as deploy hands it to the runtime: an env var
# of the predictor container (the runtime refuses another manifest) and an InferenceService
# annotation (what a person or a policy reads on the cluster).
MANIFEST_SHA256_ENV: Final = "KFP_TABULAR_MANIFEST_SHA256"
MANIFEST_SHA256_ANNOTATION: Final = "kfp-tabular.io/manifest-sha256"
BLESSING_BUNDLE_MANIFEST_SHA256: Final = "bundle_manifest_sha256"
DEPLOY_MANIFEST_SHA256: Final = "manifest_sha256"
