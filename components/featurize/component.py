"""KFP wrapper of the featurize step; the work is in :mod:`components.featurize.executor`."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def featurize(
    dataset: Input[Dataset],
    schema: Input[Artifact],
    featurizer: Output[Artifact],
    features: Output[Dataset],
    splits: Output[Dataset],
    summary: Output[Markdown],
    valid_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    min_category_count: int = 10,
    interactions: list = [],  # noqa: B006 - KFP reads the default from the signature
    rolling: list = [],  # noqa: B006
    cv_below_rows: int = 2000,
    cv_folds: int = 5,
):
    """Split the rows and fit the feature transform on the training split only.

    The split is stratified by target with ``seed``, or by time when the schema names a time
    column. The fitted featurizer is pure JSON, applied by the same numpy code in training,
    evaluation and serving. Below ``cv_below_rows`` rows (and without a time column) there is no
    holdout: every row gets a fold of a seeded StratifiedKFold, and later steps evaluate
    out-of-fold predictions (components/featurize/README.md, "Small data").

    Args:
        dataset: Typed rows from validate.
        schema: The data contract from validate.
        valid_fraction: Share of rows in the validation split (model selection, early stopping).
        test_fraction: Share of rows in the test split (the gate's unbiased judge).
        seed: Seed of the stratified split.
        min_category_count: Categories rarer than this in train go to the unknown bucket.
        interactions: Named feature interactions: {name, op, left, right}, e.g.
            ``{"name": "charge_per_month", "op": "ratio", "left": "TotalCharges", "right": "tenure"}``.
        rolling: Rolling aggregates per entity over time windows, e.g.
            ``{"name": "spend_30d", "entity": "id", "time": "ts", "value": "amount", "window": "30D", "agg": "sum"}``.
        cv_below_rows: Below this many rows, evaluate by stratified k-fold cross-validation
            instead of a holdout; 0 never does.
        cv_folds: Folds of that cross-validation (3 to 20).

    Returns:
        featurizer: The fitted transform (featurizer.json).
        features: Directory of train/valid/test feature tables with the 0/1 label.
        splits: Directory of the raw rows of each split (for slices, serving checks, drift),
            and under cross-validation folds.parquet (the fold of every row).
        summary: Split sizes, positive rates and features, for the UI.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.featurize.executor import main

    main(arguments)
