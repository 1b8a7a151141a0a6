"""KFP wrapper of the compare step; the work is in :mod:`components.compare.executor`."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def compare(
    candidates: Input[list[Model]],
    oof_predictions: Input[list[Dataset]],
    splits: Input[Dataset],
    challenger: Output[Model],
    leaderboard: Output[Artifact],
    leaderboard_md: Output[Markdown],
    leaderboard_html: Output[HTML],
    metrics: Output[Metrics],
    challenger_oof: Output[Dataset],
    primary_metric: str = "auc",
    champion_uri: str = "",
    ensemble_members: int = 3,
    tracking_uri: str = "",
    run_id: str = "",
):
    """Rank the candidates, and the serving champion, on the same held-out rows.

    Every bundle is scored through its own featurizer on the raw validation and test rows. The
    ranking uses the validation split, so the test split stays an unbiased judge for the gate;
    ties go to the lower single-row latency. Under cross-validation (small data: the
    candidates' out-of-fold predictions have rows) the ranking, and the metrics the gate
    judges, are the out-of-fold predictions over every row; the leaderboard names the
    evaluation. The top candidates are also combined into an ensemble row (a weighted mean of
    their probabilities, the weights fitted on validation predictions only); when it ranks
    first the challenger is an ensemble bundle holding the members' bundles.

    Args:
        candidates: The bundles of the model matrix (``dsl.Collected`` of train).
        oof_predictions: Their out-of-fold predictions (``dsl.Collected`` of train); no rows
            under holdout evaluation.
        splits: Raw split rows from featurize.
        primary_metric: Metric to rank by: auc, log_loss, accuracy, precision, recall or f1.
        champion_uri: Bundle now in production (local path or gs://), "" when there is none.
        ensemble_members: Top candidates combined into an ensemble row (weighted mean of
            probabilities, weights fitted on the valid split); 0 turns the ensemble off.
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty).
        run_id: Pipeline run id: the key of the MLflow parent run steps nest under.

    Returns:
        challenger: Copy of the best candidate's bundle (an ensemble bundle when the ensemble
            ranks first).
        leaderboard: Every bundle's validation and test metrics (JSON).
        leaderboard_md: The leaderboard for the UI (Markdown).
        leaderboard_html: The leaderboard for the UI (HTML).
        metrics: The challenger's and the champion's primary metric.
        challenger_oof: The challenger's out-of-fold predictions, which the gate judges under
            cross-validation (no rows under holdout).
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.compare.executor import main

    main(arguments)
