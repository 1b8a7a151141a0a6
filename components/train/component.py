"""KFP wrapper of the train step; the work is in :mod:`components.train.executor`."""

from kfp import dsl
from kfp.dsl import (
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def train(
    candidate: dict,
    features: Input[Dataset],
    splits: Input[Dataset],
    featurizer: Input[Artifact],
    schema: Input[Artifact],
    profile: Input[Artifact],
    bundle: Output[Model],
    metrics: Output[Metrics],
    roc: Output[ClassificationMetrics],
    oof_predictions: Output[Dataset],
    feature_importance: Output[Markdown],
    seed: int = 42,
    tracking_uri: str = "",
    run_id: str = "",
):
    """Train one candidate of the model matrix and write its model bundle.

    Boosting families stop early on the validation split; every family uses all the cores the
    task is given. The test split is not touched here. When featurize assigned folds (small
    data), the candidate is also fitted once per fold, featurizer included, to predict every row
    out of fold, and the bundle is refit on every row.

    Args:
        candidate: One candidate of the model matrix: {name, family, params}, e.g.
            ``{"name": ..., "family": "xgboost" | "lightgbm" | "sklearn_logreg" |
            "sklearn_hgb" | "sklearn_rf", "params": {...}}``; params may set
            ``"class_weighting": "balanced"``.
        features: Feature tables from featurize.
        splits: Raw split rows from featurize (a raw row times single-row latency).
        featurizer: The fitted featurizer, copied into the bundle.
        schema: The data contract, recorded in the bundle manifest.
        profile: Reference statistics, copied into the bundle for drift checks.
        seed: Seed of the learner.
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty).
        run_id: Pipeline run id: the key of the MLflow parent run steps nest under.

    Returns:
        bundle: The model bundle directory (manifest with sha256 of every file).
        metrics: Validation metrics, training seconds, bundle size, single-row latency.
        roc: ROC curve and confusion matrix on the validation split.
        oof_predictions: Out-of-fold predictions of every row (oof.parquet) and their candidate
            and bundle (oof.json); no rows under holdout evaluation.
        feature_importance: Each input column's share of the importance (booster gain, or
            permutation importance on the validation rows), as a Markdown bar chart.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.train.executor import main

    main(arguments)
