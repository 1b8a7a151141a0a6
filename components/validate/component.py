"""KFP wrapper of the validate step; the work is in :mod:`components.validate.executor`."""

from typing import Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def validate(
    data_uri: str,
    target: str,
    positive_label: str,
    dataset: Output[Dataset],
    schema: Output[Artifact],
    profile: Output[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    id_columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    time_column: str = "",
    expected_schema: Optional[Input[Artifact]] = None,  # noqa: UP045 - KFP needs Optional[]
    max_null_fraction: float = 0.5,
    min_class_count: int = 10,
    expected_schema_uri: str = "",
):
    """Check a table against its data contract and profile it.

    Infers the schema (numeric, integer, boolean, categorical, datetime, identifier) or checks the
    data against ``expected_schema``; coerces numbers stored as text and counts every coerced cell;
    fails with a message naming the column, the expectation and what was found.

    Args:
        data_uri: CSV or Parquet file, local path or gs:// URI.
        target: Name of the label column.
        positive_label: Label value of the positive class, as text (e.g. "Yes").
        id_columns: Identifier columns, kept out of features.
        time_column: Column ordering rows in time ("" for none); featurize then splits by time.
        expected_schema: Data contract from an earlier run; omitted on the first run.
        max_null_fraction: A column with a larger share of nulls fails the step.
        min_class_count: Each class needs at least this many rows.
        expected_schema_uri: The contract as a URI (local path or gs://) instead of an artifact,
            for pipelines that take it as a parameter; "" for none. Not together with
            ``expected_schema``.

    Returns:
        dataset: The typed rows as Parquet.
        schema: The data contract (JSON).
        profile: Reference statistics (histograms, quantiles, value counts) as JSON.
        report: Checks, warnings and coercions, for the UI.
        metrics: Row and issue counts, positive rate.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.validate.executor import main

    main(arguments)
