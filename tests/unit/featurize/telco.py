"""A typed Telco frame and its hand-written Schema, as ``validate`` will produce them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components._shared.schema import ColumnSchema, Schema

YES_NO = ("Partner", "Dependents", "PhoneService", "PaperlessBilling")
NUMERIC = ("MonthlyCharges", "TotalCharges")


def telco_frame(csv: Path) -> pd.DataFrame:
    """The Telco CSV typed per the validate contract (TotalCharges has 11 blanks -> NaN)."""
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame = pd.DataFrame(index=raw.index)
    for name in raw.columns:
        if name in NUMERIC:
            frame[name] = pd.to_numeric(raw[name].str.strip(), errors="coerce").astype("float64")
        elif name == "tenure":
            frame[name] = pd.to_numeric(raw[name]).astype("Int64")
        elif name == "SeniorCitizen":
            frame[name] = raw[name].map({"1": True, "0": False}).astype("boolean")
        elif name in YES_NO:
            frame[name] = raw[name].map({"Yes": True, "No": False}).astype("boolean")
        else:
            frame[name] = raw[name].astype(object)
    return frame


def telco_schema(frame: pd.DataFrame, *, time_column: str | None = None) -> Schema:
    """The Telco contract: customerID id, Churn target, typed features."""
    columns = []
    for name in frame.columns:
        if name == "customerID":
            columns.append(ColumnSchema(name, "identifier", role="id"))
        elif name == "Churn":
            columns.append(
                ColumnSchema(name, "categorical", role="target", categories=["No", "Yes"])
            )
        elif name == time_column:
            columns.append(ColumnSchema(name, "datetime", role="time"))
        elif name == "SeniorCitizen":
            columns.append(ColumnSchema(name, "boolean", true_values=["1"], false_values=["0"]))
        elif name in YES_NO:
            columns.append(ColumnSchema(name, "boolean", true_values=["Yes"], false_values=["No"]))
        elif name == "tenure":
            columns.append(ColumnSchema(name, "integer"))
        elif name in NUMERIC:
            columns.append(ColumnSchema(name, "numeric", stored_as_text=name == "TotalCharges"))
        elif pd.api.types.is_datetime64_any_dtype(frame[name]):
            columns.append(ColumnSchema(name, "datetime"))
        else:
            categories = sorted(frame[name].dropna().unique().tolist())
            columns.append(ColumnSchema(name, "categorical", categories=categories))
    return Schema(
        columns=columns,
        target="Churn",
        positive_label="Yes",
        class_labels=["No", "Yes"],
        id_columns=["customerID"],
        time_column=time_column,
    )
