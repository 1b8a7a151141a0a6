"""``train_and_rollout``: from a table to a ranked challenger (gate, deploy, rollout follow).

    validate -> featurize -> train x N (dsl.ParallelFor over the model matrix) -> compare

The gate, the ``dsl.If(blessed)`` deploy branch and the canary rollout attach after ``compare``
(see the marked place below); the compiled YAML is ``compiled/train_and_rollout.yaml``.
"""

from kfp import dsl

from components.catalog import compare, featurize, train, validate
from components.train.matrix import DEFAULT_MODEL_MATRIX

PIPELINE_NAME = "train-and-rollout"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Validate a table, featurize it, train a model matrix and rank it against the champion.",
)
def train_and_rollout(
    data_uri: str,
    target: str,
    positive_label: str,
    id_columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    time_column: str = "",
    model_matrix: list = DEFAULT_MODEL_MATRIX,
    valid_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    primary_metric: str = "auc",
    champion_uri: str = "",
    contract_uri: str = "",
    max_null_fraction: float = 0.5,
    min_class_count: int = 10,
    min_category_count: int = 10,
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

    # Gate, dsl.If(blessed) -> deploy, and rollout attach here, after `ranked`.
    del ranked
