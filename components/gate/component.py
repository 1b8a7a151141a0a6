"""KFP wrapper of the gate step; the work is in :mod:`components.gate.executor`."""

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
def gate(
    challenger: Input[Model],
    splits: Input[Dataset],
    leaderboard: Input[Artifact],
    blessing: Output[Artifact],
    rationale: Output[Markdown],
    metrics: Output[Metrics],
    blessed_bundle: Output[Model],
    lineage: Output[Artifact],
    roc: Output[ClassificationMetrics],
    challenger_oof: Input[Dataset] = None,  # type: ignore[assignment]
    champion_uri: str = "",
    min_auc: float = 0.75,
    max_log_loss: float = 0.6931,
    min_accuracy: float = 0.0,
    auc_margin: float = 0.02,
    log_loss_margin: float = 0.02,
    accuracy_margin: float = 0.02,
    require_improvement: bool = False,
    min_auc_improvement: float = 0.0,
    slice_columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    min_slice_rows: int = 100,
    max_slice_degradation: float = 0.05,
    confidence: float = 0.95,
    bootstrap_resamples: int = 1000,
    seed: int = 42,
    min_test_rows: int = 200,
    min_class_rows: int = 30,
    infra_sample_rows: int = 200,
    run_name: str = "",
    run_id: str = "",
    tracking_uri: str = "",
    registered_model_name: str = "",
) -> bool:
    """Bless the challenger only if it has earned it on the test rows; record why.

    Decision rule ``gate-rule/1`` (components/gate/README.md): enough test rows of each class, a
    bundle that verifies and serves the same predictions, floors met by the confidence bound,
    and, with a champion, paired non-inferiority (or shown improvement) of AUC (DeLong), log loss
    and accuracy (paired bootstrap), and no slice significantly worse by more than
    ``max_slice_degradation``. Under cross-validation (small data) the same rule judges the
    challenger's out-of-fold predictions over every row, its ``min_test_rows`` and
    ``min_class_rows`` applied to them.

    Args:
        challenger: compare's challenger bundle.
        splits: featurize's raw split rows (the test split is the judge).
        leaderboard: compare's leaderboard (the challenger's test metrics, the candidates).
        challenger_oof: compare's out-of-fold predictions of the challenger, judged instead of
            the test split when the leaderboard's evaluation is cross-validation (small data).
        champion_uri: Bundle now serving (local path or gs://), "" for the first deployment.
        min_auc: Floor on test AUC, met by its DeLong lower bound.
        max_log_loss: Ceiling on test log loss, met by its bootstrap upper bound.
        min_accuracy: Floor on test accuracy at 0.5, met by its lower bound; 0 disables it.
        auc_margin: Non-inferiority margin: AUC the challenger may lose to the champion.
        log_loss_margin: Log loss the challenger may add over the champion.
        accuracy_margin: Accuracy the challenger may lose to the champion.
        require_improvement: Bless only a challenger whose AUC gain is shown (lower bound).
        min_auc_improvement: The AUC gain the lower bound must exceed when improvement is required.
        slice_columns: Raw categorical/boolean columns whose values are checked one by one.
        min_slice_rows: Slices smaller than this are reported, not judged.
        max_slice_degradation: AUC a slice may lose to the champion before it can refuse.
        confidence: Two-sided confidence level of every interval.
        bootstrap_resamples: Paired bootstrap resamples.
        seed: Seed of the bootstrap and of the serving sample.
        min_test_rows: Fewer test rows means "cannot decide".
        min_class_rows: Fewer positives or negatives means "cannot decide".
        infra_sample_rows: Test rows sent through the serving runtime's request path.
        run_name: Pipeline run name, for the lineage record.
        run_id: Pipeline run id, for the lineage record.
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty).
        registered_model_name: MLflow registered model a blessed bundle joins as alias
            challenger; "": none.

    Returns:
        blessing: JSON: blessed, verdict, rule version, every reason with its numbers.
        rationale: Markdown for the UI: reasons, metrics with intervals, p-values, slices.
        metrics: Test metrics with bounds, differences to the champion, p-values, blessed (0/1).
        blessed_bundle: The challenger with its model card completed and re-sealed.
        lineage: Run manifest JSON: data and test rows with hashes, code version, candidates,
            champion, thresholds, decision.
        roc: The challenger's ROC curve and confusion matrix (at 0.5) on the test rows judged.
        Output: True when the challenger is blessed: the ``blessed`` flag the executor put on
            the blessing's metadata (the pipeline's ``dsl.If`` reads it).
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.gate.executor import main

    return main(arguments)
