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
    encoding: str = "",
    delimiter: str = "",
    decimal: str = "",
    drop_columns: list = [],  # noqa: B006
    categorical_columns: list = [],  # noqa: B006
    numeric_columns: list = [],  # noqa: B006
    datetime_columns: list = [],  # noqa: B006
    negative_labels: list = [],  # noqa: B006
    leakage: str = "warning",
    leakage_auc: float = 0.95,
):
    """Check a table against its data contract and profile it.

    Infers the schema (numeric, integer, boolean, categorical, datetime, identifier) or checks the
    data against ``expected_schema``; coerces numbers stored as text and counts every coerced cell;
    fails with a message naming the column, the expectation and what was found. A CSV's encoding
    and delimiter are detected unless declared, and the null tokens it was read with are recorded
    in the schema.

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
        encoding: Text encoding of a CSV ("" detects it: BOM, UTF-8, else cp1252 / latin-1);
            any Python codec name ("latin-1", "cp1250"); text that does not decode is an error
            naming the line and byte.
        delimiter: CSV delimiter ("" sniffs it among , ; tab |); "tab" for a tab.
        decimal: Decimal mark of a CSV's numbers, "." or "," ("" detects a decimal comma). A
            comma is detected in files not separated by commas whose numbers read ``70,35``.
        drop_columns: Columns removed before anything else, e.g. ones that leak the label.
        categorical_columns: Columns typed categorical, read as text as written (integer codes
            such as education levels; "007" stays "007").
        numeric_columns: Columns typed numeric (float), whatever inference would say.
        datetime_columns: Columns typed datetime, whatever inference would say.
        negative_labels: Target labels that count as negative; needed when the target has over
            two labels (every label must then be positive_label or one of these).
        leakage: What a feature that predicts the label on its own is: "warning", "error" or
            "off".
        leakage_auc: A feature whose own AUC against the label reaches this is reported as
            leakage (as is one far above every other feature).

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
