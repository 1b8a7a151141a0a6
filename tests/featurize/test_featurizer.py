"""The featurizer on real Telco rows and on tiny hand-computed frames."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components._shared.errors import ConfigError, DataError
from components._shared.featurizer import Featurizer, NotFittedError
from components._shared.schema import ColumnSchema, Schema

YES_NO = ("Partner", "Dependents", "PhoneService", "PaperlessBilling")  # Telco's Yes/No columns


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as a JSON client sends them: numeric strings, "Yes"/"No", None for nulls."""
    records = []
    for row in frame.to_dict("records"):
        record: dict[str, Any] = {}
        for name, value in row.items():
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                record[name] = None
            elif name in YES_NO:
                record[name] = "Yes" if value else "No"
            elif name == "SeniorCitizen":
                record[name] = int(value)
            elif name in ("MonthlyCharges", "TotalCharges"):
                record[name] = repr(float(value))  # numeric text, exactly the float
            elif name == "tenure":
                record[name] = int(value)
            else:
                record[name] = value
        records.append(record)
    return json.loads(json.dumps(records))


def _unscaled(featurizer: Featurizer, matrix: np.ndarray, name: str) -> np.ndarray:
    """A scaled continuous feature back in its raw units."""
    state = featurizer.to_dict()
    stats = {s.get("name", s.get("column")): s for s in state["interactions"] + state["rolling"]}
    stats.update({s["column"]: s for s in state["numeric"]})
    for d in state["datetime"]:
        stats.update({f"{d['column']}__{p['part']}": p for p in d["parts"]})
    column = matrix[:, featurizer.feature_names_.index(name)]
    return column * stats[name]["std"] + stats[name]["mean"]


@pytest.fixture
def awkward_rows(telco: pd.DataFrame) -> pd.DataFrame:
    """300 Telco rows (not in the fit) with nulls and a never-seen category."""
    rows = telco.iloc[5000:5300].copy().reset_index(drop=True)
    rows.loc[0, "InternetService"] = "Satellite"
    rows.loc[1, "Contract"] = None
    rows.loc[2, "MonthlyCharges"] = np.nan
    rows.loc[3, "Partner"] = pd.NA
    rows.loc[4, "tenure"] = pd.NA
    rows.loc[5, "TotalCharges"] = np.nan
    return rows


def test_frame_records_and_single_records_give_identical_features(
    telco_featurizer: Featurizer, awkward_rows: pd.DataFrame
) -> None:
    from_frame = telco_featurizer.transform_frame(awkward_rows)
    records = _json_records(awkward_rows)
    from_records = telco_featurizer.transform_records(records)
    one_by_one = np.vstack([telco_featurizer.transform_records([r]) for r in records[:40]])
    columns = {c: [r[c] for r in records] for c in telco_featurizer.input_columns_}

    assert from_frame.dtype == np.float64
    assert from_frame.shape == (300, len(telco_featurizer.feature_names_))
    assert np.array_equal(from_frame, from_records)
    assert np.array_equal(from_frame[:40], one_by_one)
    assert np.array_equal(from_frame, telco_featurizer.transform(columns))
    assert np.isfinite(from_frame).all()


def test_booleans_as_tokens_bools_and_numbers(telco_featurizer: Featurizer) -> None:
    template = {c: None for c in telco_featurizer.input_columns_}
    values = ["YES", " no ", True, 1, 0.0, "t", "N", "yEs", False, np.True_]
    expected = [1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    records = [{**template, "Partner": v} for v in values]
    matrix = telco_featurizer.transform_records(records)
    partner = matrix[:, telco_featurizer.feature_names_.index("Partner")]
    assert partner.tolist() == expected


def test_unseen_values_are_counted_and_go_to_the_unknown_bucket(
    telco_featurizer: Featurizer, telco: pd.DataFrame
) -> None:
    records = _json_records(telco.iloc[:3])
    records[0]["InternetService"] = "Satellite"
    records[1]["InternetService"] = "Satellite"
    records[2]["Partner"] = "maybe"
    records[2]["MonthlyCharges"] = "lots"
    unseen: dict[str, int] = {}
    matrix = telco_featurizer.transform_records(records, unseen=unseen)
    names = telco_featurizer.feature_names_

    assert unseen == {"InternetService": 2, "Partner": 1, "MonthlyCharges": 1}
    assert matrix[:2, names.index("InternetService=__unknown__")].tolist() == [1.0, 1.0]
    internet = [i for i, n in enumerate(names) if n.startswith("InternetService=")]
    assert matrix[:2, internet].sum(axis=1).tolist() == [1.0, 1.0]  # exactly one bucket


def test_fit_uses_train_rows_only(telco: pd.DataFrame, telco_contract: Schema) -> None:
    rows = telco.copy()
    rows.loc[6000:6019, "PaymentMethod"] = "Crypto"  # only outside the train rows
    rows.loc[100:104, "PaymentMethod"] = "Barter"  # in train, but rarer than 10 rows
    featurizer = Featurizer(min_category_count=10).fit(rows.iloc[:5000], telco_contract)
    names = featurizer.feature_names_
    unseen: dict[str, int] = {}
    matrix = featurizer.transform_frame(rows.iloc[6000:6020], unseen=unseen)

    assert not any("Crypto" in n or "Barter" in n for n in names)
    assert matrix[:, names.index("PaymentMethod=__unknown__")].tolist() == [1.0] * 20
    assert unseen == {"PaymentMethod": 20}
    assert featurizer.to_dict()["train_rows"] == 5000


def test_numeric_columns_are_imputed_scaled_and_flagged(
    telco_featurizer: Featurizer, telco: pd.DataFrame
) -> None:
    names = telco_featurizer.feature_names_
    train = telco_featurizer.transform_frame(telco.iloc[:5000])
    tenure = train[:, names.index("tenure")]
    blank = telco.iloc[:5000]["TotalCharges"].isna().to_numpy()

    assert abs(tenure.mean()) < 1e-9 and abs(tenure.std() - 1.0) < 1e-9
    assert blank.any()
    assert (train[:, names.index("TotalCharges__missing")] == blank).all()
    stats = telco_featurizer.to_dict()["numeric"][2]
    assert stats["column"] == "TotalCharges" and stats["missing_indicator"] is True
    imputed = (stats["median"] - stats["mean"]) / stats["std"]
    assert np.allclose(train[blank, names.index("TotalCharges")], imputed)


def test_json_round_trip_is_exact(telco_featurizer: Featurizer, awkward_rows: pd.DataFrame) -> None:
    text = telco_featurizer.to_json()
    loaded = Featurizer.from_json(text)
    assert loaded.to_json() == text
    assert loaded.to_dict() == telco_featurizer.to_dict()
    assert loaded.feature_names_ == telco_featurizer.feature_names_
    assert np.array_equal(
        loaded.transform_frame(awkward_rows), telco_featurizer.transform_frame(awkward_rows)
    )


def test_unknown_or_newer_format_versions_are_refused(telco_featurizer: Featurizer) -> None:
    for version in (2, 0, None, "1"):
        data = telco_featurizer.to_dict()
        data["format_version"] = version
        with pytest.raises(ConfigError, match="format_version"):
            Featurizer.from_dict(data)
    broken = telco_featurizer.to_dict()
    del broken["categorical"]
    with pytest.raises(ConfigError, match="categorical"):
        Featurizer.from_dict(broken)
    edited = telco_featurizer.to_dict()
    edited["feature_names"] = edited["feature_names"][:-1]
    with pytest.raises(ConfigError, match="feature_names"):
        Featurizer.from_dict(edited)


def test_not_fitted_error_names_the_way_out() -> None:
    featurizer = Featurizer()
    with pytest.raises(NotFittedError, match="This Featurizer instance is not fitted yet"):
        featurizer.transform({"a": [1.0]})
    with pytest.raises(NotFittedError, match="Call 'fit'"):
        _ = featurizer.feature_names_
    with pytest.raises(NotFittedError):
        featurizer.to_json()


def test_missing_input_column_is_named(telco_featurizer: Featurizer, telco: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"missing input column\(s\) \['tenure'\].*reads \["):
        telco_featurizer.transform_frame(telco.drop(columns="tenure"))
    records = _json_records(telco.iloc[:2])
    del records[1]["Contract"]
    with pytest.raises(DataError, match=r"record 1 has no column\(s\) \['Contract'\]"):
        telco_featurizer.transform_records(records)
    columns = {c: telco[c].to_numpy()[:3] for c in telco_featurizer.input_columns_}
    columns["tenure"] = columns["tenure"][:2]
    with pytest.raises(DataError, match="differ in length"):
        telco_featurizer.transform(columns)


# --- tiny hand-computed frames ------------------------------------------------------------------
def _tiny_schema(*columns: ColumnSchema) -> Schema:
    return Schema(
        columns=[*columns, ColumnSchema("y", "categorical", role="target")],
        target="y",
        positive_label="1",
        class_labels=["0", "1"],
    )


def test_interactions_use_imputed_unscaled_values_and_guard_ratios() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, np.nan, 0.0, 4.0], "y": ["0", "1", "0", "1"]}
    )
    schema = _tiny_schema(ColumnSchema("a", "numeric"), ColumnSchema("b", "numeric"))
    specs = [
        {"name": "a_times_b", "op": "product", "left": "a", "right": "b"},
        {"name": "a_per_b", "op": "ratio", "left": "a", "right": "b"},
        {"name": "a_minus_b", "op": "difference", "left": "a", "right": "b"},
    ]
    featurizer = Featurizer(interactions=specs).fit(frame, schema)
    matrix = featurizer.transform_frame(frame)
    names = featurizer.feature_names_

    # b's train median is 2 (of 2, 0, 4): imputed b = 2, 2, 0, 4.
    assert np.allclose(_unscaled(featurizer, matrix, "a_times_b"), [2, 4, 0, 16])
    assert np.allclose(_unscaled(featurizer, matrix, "a_minus_b"), [-1, 0, 3, 0])
    # 3 / 0 is guarded: missing, imputed with the ratio's train median (of 0.5, 1, 1).
    assert np.allclose(_unscaled(featurizer, matrix, "a_per_b"), [0.5, 1.0, 1.0, 1.0])
    assert matrix[:, names.index("a_per_b__missing")].tolist() == [0, 0, 1, 0]
    assert "a_times_b__missing" not in names


def test_rolling_aggregates_use_only_earlier_rows_of_the_same_entity() -> None:
    day = pd.Timestamp("2024-01-01")
    frame = pd.DataFrame(
        {
            "user": ["u", "u", "u", "v", "u", "u"],
            "at": [
                day,
                day + pd.Timedelta(days=1),
                day + pd.Timedelta(days=1),  # same instant as the row above: not history
                day + pd.Timedelta(days=2),
                day + pd.Timedelta(days=39),  # sees only the row below (day 30.5)
                day + pd.Timedelta(days=30, hours=12),  # the first row is just outside 30D
            ],
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0, 1.0],
            "y": ["0", "1", "0", "1", "0", "1"],
        }
    )
    schema = _tiny_schema(
        ColumnSchema("user", "identifier", role="id"),
        ColumnSchema("at", "datetime", role="time"),
        ColumnSchema("amount", "numeric"),
    )
    specs = [
        {"name": f"amount_{agg}_30d", "entity": "user", "time": "at", "value": "amount"}
        | {"window": "30D", "agg": agg}
        for agg in ("mean", "sum", "count")
    ]
    featurizer = Featurizer(rolling=specs).fit(frame, schema)
    matrix = featurizer.transform_frame(frame)
    names = featurizer.feature_names_

    assert featurizer.input_columns_ == ["user", "at", "amount"]
    assert np.allclose(_unscaled(featurizer, matrix, "amount_sum_30d"), [0, 10, 10, 0, 1, 50])
    assert np.allclose(_unscaled(featurizer, matrix, "amount_count_30d"), [0, 1, 1, 0, 1, 2])
    no_history = matrix[:, names.index("amount_mean_30d__missing")]
    assert no_history.tolist() == [1, 0, 0, 1, 0, 0]
    mean = _unscaled(featurizer, matrix, "amount_mean_30d")
    assert np.allclose(mean[[1, 2, 4, 5]], [10, 10, 1, 25])

    # Serving: a request with the entity's history gives the same row as the batch.
    records = [
        {"user": user, "at": when.isoformat(), "amount": str(amount)}
        for user, when, amount in zip(frame["user"], frame["at"], frame["amount"], strict=True)
    ]
    assert np.array_equal(featurizer.transform_records(records), matrix)
    alone = featurizer.transform_records(records[5:])  # no history sent: no history seen
    assert alone[0, names.index("amount_count_30d")] == matrix[0, names.index("amount_count_30d")]


def test_datetime_parts_from_datetimes_and_iso_text() -> None:
    frame = pd.DataFrame(
        {
            "signup": pd.to_datetime(["2024-01-06 13:30", "2024-03-04 08:00", None]),
            "y": ["0", "1", "0"],
        }
    )
    featurizer = Featurizer().fit(frame, _tiny_schema(ColumnSchema("signup", "datetime")))
    matrix = featurizer.transform_frame(frame)
    text = featurizer.transform_records(
        [{"signup": "2024-01-06T13:30:00"}, {"signup": "2024-03-04 08:00"}, {"signup": ""}]
    )
    # Saturday 13h in January; Monday 8h in March; the missing row takes the medians.
    assert np.allclose(_unscaled(featurizer, matrix, "signup__hour")[:2], [13, 8])
    assert np.allclose(_unscaled(featurizer, matrix, "signup__dayofweek")[:2], [5, 0])
    assert np.allclose(_unscaled(featurizer, matrix, "signup__month")[:2], [1, 3])
    assert np.allclose(_unscaled(featurizer, matrix, "signup__is_weekend")[:2], [1, 0])
    assert matrix[:, featurizer.feature_names_.index("signup__missing")].tolist() == [0, 0, 1]
    assert np.array_equal(matrix, text)


def test_categorical_missing_bucket_and_null_looking_text() -> None:
    frame = pd.DataFrame(
        {"plan": ["None", "basic", None, "basic", "None"], "y": ["0", "1", "0", "1", "0"]}
    )
    featurizer = Featurizer(min_category_count=1).fit(
        frame, _tiny_schema(ColumnSchema("plan", "categorical"))
    )
    names = featurizer.feature_names_
    assert names == ["plan=None", "plan=basic", "plan=__unknown__", "plan=__missing__"]
    matrix = featurizer.transform_records(
        [{"plan": "None"}, {"plan": None}, {"plan": "  "}, {"plan": float("nan")}, {"plan": "x"}]
    )
    assert matrix.argmax(axis=1).tolist() == [0, 3, 3, 3, 2]


def test_bad_specs_and_parameters_are_named() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": ["0", "1"]})
    schema = _tiny_schema(ColumnSchema("a", "numeric"))
    bad_op = [{"name": "x", "op": "power", "left": "a", "right": "a"}]
    with pytest.raises(ConfigError, match=r"interactions\[0\]\.op"):
        Featurizer(interactions=bad_op).fit(frame, schema)
    bad_side = [{"name": "x", "op": "product", "left": "a", "right": "y"}]
    with pytest.raises(ConfigError, match=r"interactions\[0\]\.right"):
        Featurizer(interactions=bad_side).fit(frame, schema)
    bad_window = [
        {"name": "r", "entity": "a", "time": "a", "value": "a", "window": "soon", "agg": "sum"}
    ]
    with pytest.raises(ConfigError, match="rolling window"):
        Featurizer(rolling=bad_window).fit(frame, schema)
    with pytest.raises(ConfigError, match="min_category_count"):
        Featurizer(min_category_count=0).fit(frame, schema)
    with pytest.raises(DataError, match=r"missing input column\(s\) \['a'\]"):
        Featurizer().fit(frame.drop(columns="a"), schema)


def test_one_derived_feature_is_imputed_and_flagged_exactly_on_every_call(
    telco: pd.DataFrame, telco_contract: Schema
) -> None:
    """One interaction alone is a one-column block: numpy 2.4's ``isfinite(out=)`` wrote wrong
    marks into such a strided view, so missing flags (and imputed values) varied from call to
    call. Every call must give the same features, and the flag must be exactly tenure == 0."""
    rows = telco.iloc[:3000]
    interaction = {"name": "charge_per_month", "op": "ratio"}
    interaction |= {"left": "TotalCharges", "right": "tenure"}
    fitted = Featurizer(interactions=[interaction]).fit(rows, telco_contract)
    first, second = fitted.transform_frame(rows), fitted.transform_frame(rows)
    assert np.array_equal(first, second)
    names = fitted.feature_names_
    flag = first[:, names.index("charge_per_month__missing")]
    guarded = (rows["tenure"].fillna(0).to_numpy() == 0) | rows["TotalCharges"].isna().to_numpy()
    assert np.array_equal(flag == 1.0, guarded)
