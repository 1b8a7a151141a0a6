"""The validate step's parameters: the data, its target, its declared columns and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got


@dataclass(frozen=True)
class ValidateConfig(ComponentConfig):
    """Where the table is, what its label is, which columns are ids or time, and the limits."""

    component = "validate"

    data_uri: str = param(help="CSV or Parquet file, local path or gs:// URI.")
    target: str = param(help="Name of the label column.")
    positive_label: str = param(help="Label value of the positive class, as text.")
    id_columns: list = param([], "Identifier columns, kept out of features.")
    time_column: str = param(
        "", 'Column ordering rows in time ("" for none); featurize then splits by time.'
    )
    max_null_fraction: float = param(0.5, "A column with a larger share of nulls fails the step.")
    min_class_count: int = param(10, "Each class needs at least this many rows.")
    expected_schema_uri: str = param(
        "",
        "The contract as a URI (local path or gs://) instead of an artifact, for pipelines that "
        'take it as a parameter; "" for none.',
    )

    def problems(self) -> list[str]:
        """A target and a positive label given; max_null_fraction in [0, 1]; min_class_count >= 1."""
        found = []
        if not self.target:
            found.append(expected_got("target", "a column name", repr(self.target)))
        if not self.positive_label:
            found.append(expected_got("positive_label", "a label", repr(self.positive_label)))
        if not 0.0 <= self.max_null_fraction <= 1.0:
            found.append(
                expected_got("max_null_fraction", "a number in [0, 1]", self.max_null_fraction)
            )
        if self.min_class_count < 1:
            found.append(expected_got("min_class_count", "an integer >= 1", self.min_class_count))
        return found
