"""The validate step's parameters: the data, its target, its declared columns and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.csv_format import (
    normalise_decimal,
    normalise_delimiter,
    normalise_encoding,
)
from components._shared.errors import ConfigError, expected_got

LEAKAGE_MODES = ("warning", "error", "off")
KIND_LISTS = ("categorical_columns", "numeric_columns", "datetime_columns")


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
    encoding: str = param(
        "", 'Text encoding of a CSV ("" detects it: BOM, UTF-8, else cp1252 / latin-1).'
    )
    delimiter: str = param("", 'CSV delimiter ("" sniffs it among , ; tab |).')
    decimal: str = param(
        "", 'Decimal mark of a CSV\'s numbers, "." or "," ("" detects a decimal comma).'
    )
    drop_columns: list = param(
        [], "Columns removed before anything else, e.g. ones that leak the label."
    )
    categorical_columns: list = param([], "Columns typed categorical, read as text as written.")
    numeric_columns: list = param(
        [], "Columns typed numeric (float), whatever inference would say."
    )
    datetime_columns: list = param([], "Columns typed datetime, whatever inference would say.")
    negative_labels: list = param(
        [], "Target labels that count as negative; needed when the target has over two labels."
    )
    leakage: str = param(
        "warning",
        'What a feature that predicts the label on its own is: "warning", "error" or "off".',
    )
    leakage_auc: float = param(
        0.95, "A feature whose own AUC against the label reaches this is reported as leakage."
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
        found += self._reading_problems()
        found += self._column_problems()
        if self.leakage not in LEAKAGE_MODES:
            found.append(
                expected_got("leakage", f"one of {list(LEAKAGE_MODES)}", repr(self.leakage))
            )
        if not 0.5 < self.leakage_auc <= 1.0:
            found.append(expected_got("leakage_auc", "a number in (0.5, 1]", self.leakage_auc))
        return found

    def _reading_problems(self) -> list[str]:
        found = []
        for check, value in (
            (normalise_encoding, self.encoding),
            (normalise_delimiter, self.delimiter),
            (normalise_decimal, self.decimal),
        ):
            try:
                check(value)
            except ConfigError as exc:
                found.append(str(exc))
        return found

    def _column_problems(self) -> list[str]:
        """Each column in at most one of drop/kind lists; the target and the declared roles
        neither dropped nor retyped; the positive label not among the negative ones."""
        found = []
        lists = {"drop_columns": self.drop_columns, **{k: getattr(self, k) for k in KIND_LISTS}}
        seen: dict[str, str] = {}
        for list_name, names in lists.items():
            for name in names:
                if not isinstance(name, str) or not name:
                    found.append(expected_got(list_name, "column names", repr(name)))
                elif name in seen:
                    found.append(
                        expected_got(
                            f"column {name!r}",
                            "in one of drop/kind lists",
                            f"in {seen[name]} and {list_name}",
                        )
                    )
                else:
                    seen[name] = list_name
        roles = {self.target: "target", self.time_column: "time_column"}
        roles.update({name: "id_columns" for name in self.id_columns})
        for name, list_name in seen.items():
            if name and name in roles:
                found.append(
                    expected_got(
                        list_name, f"no {roles[name]} column", f"{name!r} (the {roles[name]})"
                    )
                )
        if self.positive_label and self.positive_label in self.negative_labels:
            found.append(
                expected_got(
                    "negative_labels", "labels other than positive_label", repr(self.positive_label)
                )
            )
        return found

    @property
    def declared_kinds(self) -> dict[str, str]:
        """``{column: kind}`` from categorical_columns, numeric_columns and datetime_columns."""
        kinds = {}
        for list_name in KIND_LISTS:
            kind = list_name.removesuffix("_columns")
            kinds.update({name: kind for name in getattr(self, list_name)})
        return kinds
