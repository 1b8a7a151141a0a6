"""KFP wrapper of the batch_predict step; the work is in :mod:`components.batch_predict.executor`."""

from typing import Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def batch_predict(
    data_uri: str,
    predictions: Output[Dataset],
    errors: Output[Dataset],
    metrics: Output[Metrics],
    bundle: Optional[Input[Model]] = None,  # noqa: UP045 - KFP needs Optional[]
    bundle_uri: str = "",
    encoding: str = "",
    delimiter: str = "",
    decimal: str = "",
    keep_columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    threshold: float = 0.5,
    chunk_rows: int = 10000,
    output_format: str = "parquet",
    max_error_fraction: float = 0.1,
):
    """Score a CSV or Parquet file with a model bundle, through the serving scorer.

    Each chunk of rows goes through the same decode -> featurize -> predict code as a V1 or V2
    request to the KServe runtime, so a batch score equals the served one. A row that cannot be
    scored is listed in ``errors`` (row, column, reason), never dropped silently.

    Args:
        data_uri: CSV or Parquet file to score, local path or gs:// URI.
        bundle: The model bundle (a train, compare or gate output); or give bundle_uri.
        bundle_uri: The model bundle as a URI (local or gs://) instead of an artifact; "" for
            none. Not together with ``bundle``.
        encoding: Text encoding of a CSV ("" detects it: BOM, UTF-8, else cp1252 / latin-1).
        delimiter: CSV delimiter ("" sniffs it among , ; tab |); "tab" for a tab.
        decimal: Decimal mark of a CSV's numbers, "." or "," ("" detects a decimal comma). A
            comma is detected in files not separated by commas whose numbers read ``70,35``.
        keep_columns: Input columns copied beside each prediction; [] keeps the schema's id
            columns.
        threshold: P(positive) from which the predicted label is the positive one.
        chunk_rows: Rows read and scored at a time (bounds memory).
        output_format: Format of the predictions: "parquet" or "csv".
        max_error_fraction: The step fails, writing nothing, when a larger share of rows cannot
            be scored.

    Returns:
        predictions: One row per scored row: row (1 = the first data row), the kept columns,
            probability (P(positive)) and label.
        errors: CSV of the rows that could not be scored: row, column, reason.
        metrics: rows, scored_rows, error_rows, positive_rows, unseen.<column>.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.batch_predict.executor import main

    main(arguments)
