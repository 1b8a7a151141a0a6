"""The batch_predict step's parameters: the data, the bundle, how to read, what to write."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.csv_format import (
    normalise_decimal,
    normalise_delimiter,
    normalise_encoding,
)
from components._shared.errors import ConfigError, expected_got

OUTPUT_FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class BatchPredictConfig(ComponentConfig):
    """Which rows to score with which bundle, how to read them and what to write."""

    component = "batch_predict"

    data_uri: str = param(help="CSV or Parquet file to score, local path or gs:// URI.")
    bundle_uri: str = param(
        "", 'The model bundle as a URI (local or gs://) instead of an artifact; "" for none.'
    )
    encoding: str = param(
        "", 'Text encoding of a CSV ("" detects it: BOM, UTF-8, else cp1252 / latin-1).'
    )
    delimiter: str = param("", 'CSV delimiter ("" sniffs it among , ; tab |).')
    decimal: str = param(
        "", 'Decimal mark of a CSV\'s numbers, "." or "," ("" detects a decimal comma).'
    )
    keep_columns: list = param(
        [], "Input columns copied beside each prediction; [] keeps the schema's id columns."
    )
    threshold: float = param(0.5, "P(positive) from which the predicted label is the positive one.")
    chunk_rows: int = param(10000, "Rows read and scored at a time (bounds memory).")
    output_format: str = param("parquet", 'Format of the predictions: "parquet" or "csv".')
    max_error_fraction: float = param(
        0.1, "The step fails, writing nothing, when a larger share of rows cannot be scored."
    )

    def problems(self) -> list[str]:
        """A data URI; codec and delimiter known; threshold and max_error_fraction in [0, 1];
        chunk_rows >= 1; a known output format."""
        found = []
        if not self.data_uri:
            found.append(expected_got("data_uri", "a CSV or Parquet file", repr(self.data_uri)))
        for check, value in (
            (normalise_encoding, self.encoding),
            (normalise_delimiter, self.delimiter),
            (normalise_decimal, self.decimal),
        ):
            try:
                check(value)
            except ConfigError as exc:
                found.append(str(exc))
        if not 0.0 <= self.threshold <= 1.0:
            found.append(expected_got("threshold", "a probability in [0, 1]", self.threshold))
        if self.chunk_rows < 1:
            found.append(expected_got("chunk_rows", "an integer >= 1", self.chunk_rows))
        if self.output_format not in OUTPUT_FORMATS:
            found.append(
                expected_got(
                    "output_format", f"one of {list(OUTPUT_FORMATS)}", repr(self.output_format)
                )
            )
        if not 0.0 <= self.max_error_fraction <= 1.0:
            found.append(
                expected_got("max_error_fraction", "a number in [0, 1]", self.max_error_fraction)
            )
        return found
