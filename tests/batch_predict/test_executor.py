"""batch_predict on the real Telco CSV: scores equal the pipeline's and V1/V2 serving's, broken
rows reported one by one, other encodings and delimiters, Parquet and gs://, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import io, keys
from components._shared.bundle import json_record, load_bundle
from components._shared.errors import BundleError, ConfigError, DataError
from components._shared.tables import read_table
from components.batch_predict.config import BatchPredictConfig
from components.batch_predict.executor import (
    BatchPredictInputs,
    BatchPredictOutputs,
    main,
    run,
)
from components.validate.validation import validate_frame
from kfp_tabular.predict import _Output
from serving.selfcheck import predict_via_v1, predict_via_v2
from tests.fixtures.user_files import decimal_comma

from .conftest import telco_text


def _outputs(folder: Path) -> BatchPredictOutputs:
    return BatchPredictOutputs(
        predictions=dsl.Dataset(name="predictions", uri=str(folder / "predictions")),
        errors=dsl.Dataset(name="errors", uri=str(folder / "errors")),
        metrics=dsl.Metrics(name="metrics", uri=str(folder / "metrics")),
    )


def _score(data: Path | str, bundle: Path, folder: Path, **params: Any) -> Any:
    outputs = _outputs(folder)
    config = BatchPredictConfig(data_uri=str(data), bundle_uri=str(bundle), **params)
    result = run(BatchPredictInputs(), outputs, config, progress=lambda *_: None)
    return result, outputs


def _predictions(outputs: BatchPredictOutputs, fmt: str = "parquet") -> pd.DataFrame:
    path = outputs.predictions.path
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, float_precision="round_trip")  # pyarrow writes exact digits


def _nothing_written(folder: Path) -> None:
    left = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    assert left == [], left


def test_scores_equal_the_pipeline_and_v1_v2_serving(
    telco_csv: Path, bundle: Path, tmp_path: Path
) -> None:
    result, outputs = _score(telco_csv, bundle, tmp_path)
    scored = _predictions(outputs)
    assert (result.rows, result.scored, result.errors) == (7043, 7043, 0)
    assert scored["row"].tolist() == list(range(1, 7044))
    assert list(scored.columns) == ["row", "customerID", "probability", "label"]
    # The pipeline: validate's typing of the same CSV, the bundle's own featurizer and model.
    loaded = load_bundle(str(bundle))
    typed = validate_frame(
        read_table(str(telco_csv)), target="Churn", positive_label="Yes",
        id_columns=["customerID"], time_column="", expected=None,
        max_null_fraction=0.5, min_class_count=10,
    ).frame  # fmt: skip
    pipeline = loaded.predict_proba_frame(typed)
    assert np.array_equal(scored["probability"].to_numpy(), pipeline)
    # V1 and V2 serving, on the first 500 rows as a client sends them.
    records = [json_record(r) for r in typed.head(500).to_dict("records")]
    assert np.array_equal(
        scored["probability"].to_numpy()[:500], predict_via_v1(str(bundle), records)
    )
    assert np.array_equal(
        scored["probability"].to_numpy()[:500], predict_via_v2(str(bundle), records)
    )
    assert set(scored["label"]) == {"Yes", "No"}
    assert result.positive == int((scored["label"] == "Yes").sum())
    assert Path(outputs.errors.path).read_text() == '"row","column","reason"\n'
    meta = outputs.predictions.metadata
    assert meta[keys.META_ROWS] == 7043 and meta["read_as"].startswith("CSV, utf-8 (detected)")
    metrics = outputs.metrics.metadata
    assert metrics[keys.METRIC_SCORED_ROWS] == 7043 and metrics[keys.METRIC_ERROR_ROWS] == 0


def test_broken_rows_are_reported_one_by_one(
    broken_csv: Path, bundle: Path, telco_csv: Path, tmp_path: Path
) -> None:
    result, outputs = _score(broken_csv, bundle, tmp_path, chunk_rows=1000)
    errors = pd.read_csv(outputs.errors.path, keep_default_na=False)
    assert errors["row"].tolist() == [4, 6, 101]
    assert errors["column"].tolist() == ["tenure", "MonthlyCharges", ""]
    assert errors["reason"][0] == "expected a whole number or null, got str 'abc'"
    assert "got str '1e999'" in errors["reason"][1]
    assert errors["reason"][2] == "line 102: expected 21 fields, found 3 ('only,three,fields')"
    scored = _predictions(outputs)
    assert (result.rows, result.scored, result.errors) == (7044, 7041, 3)
    assert not {4, 6, 101} & set(scored["row"]) and len(scored) == 7041
    assert scored["row"].max() == 7044  # numbering goes on past the short line
    # Every other row scores exactly as in the clean file (same row number, same score).
    _, clean = _score(telco_csv, bundle, tmp_path / "clean")
    reference = _predictions(clean).set_index("row")["probability"]
    untouched = scored[~scored["row"].isin([8, 10])].copy()
    shifted = untouched["row"].where(untouched["row"] < 101, untouched["row"] - 1)
    assert np.array_equal(untouched["probability"].to_numpy(), reference.loc[shifted].to_numpy())
    assert outputs.metrics.metadata[f"{keys.METRIC_UNSEEN_PREFIX}Contract"] == 1


def test_latin1_semicolon_parquet_and_chunking_score_the_same(
    telco_csv: Path, bundle: Path, tmp_path: Path
) -> None:
    frame = telco_text(telco_csv)
    frame["customerID"] = frame["customerID"].str.replace("A", "Ä")  # kept text, accented
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(frame.to_csv(index=False, sep=";").encode("latin-1"))
    result, outputs = _score(latin1, bundle, tmp_path / "a", chunk_rows=777, output_format="csv")
    scored = _predictions(outputs, "csv")
    assert result.read_as == "CSV, cp1252 (detected), semicolon ';' (sniffed)"
    assert scored["customerID"].str.contains("Ä").sum() > 0  # text, never bytes
    _, clean = _score(telco_csv, bundle, tmp_path / "b")
    reference = _predictions(clean)
    assert np.array_equal(scored["probability"], reference["probability"])
    # Parquet of the typed rows (validate's dataset) scores the same too.
    typed = validate_frame(
        read_table(str(telco_csv)), target="Churn", positive_label="Yes",
        id_columns=["customerID"], time_column="", expected=None,
        max_null_fraction=0.5, min_class_count=10,
    ).frame  # fmt: skip
    parquet = tmp_path / "typed.parquet"
    typed.to_parquet(parquet, index=False)
    _, from_parquet = _score(parquet, bundle, tmp_path / "c", chunk_rows=2000)
    assert np.array_equal(_predictions(from_parquet)["probability"], reference["probability"])


def test_decimal_comma_file_scores_as_the_original(
    telco_csv: Path, bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(decimal_comma(telco_csv.read_text()))
    result, outputs = _score(path, bundle, tmp_path / "eu")
    assert result.read_as.endswith("semicolon ';' (sniffed), decimal comma (detected)")
    _, clean = _score(telco_csv, bundle, tmp_path / "clean")
    reference = _predictions(clean)["probability"].to_numpy()
    assert result.errors == 0
    assert np.array_equal(_predictions(outputs)["probability"].to_numpy(), reference)


def test_gcs_in_and_out(telco_csv: Path, bundle: Path, gcs_bucket: str, tmp_path: Path) -> None:
    data = f"{gcs_bucket}/score/in.csv"
    io.write_bytes(data, telco_csv.read_bytes())
    io.upload_dir(bundle, f"{gcs_bucket}/bundle")
    # Outputs whose path is a gs:// URI, as the command line passes them (a KFP artifact's path
    # is a local /gcs/ mount instead).
    outputs = BatchPredictOutputs(
        predictions=_Output(f"{gcs_bucket}/score/out.parquet"),
        errors=_Output(f"{gcs_bucket}/score/out.errors.csv"),
        metrics=_Output(""),
    )
    config = BatchPredictConfig(data_uri=data, bundle_uri=f"{gcs_bucket}/bundle")
    result = run(BatchPredictInputs(), outputs, config, progress=lambda *_: None)
    assert result.scored == 7043
    with io.local_copy(f"{gcs_bucket}/score/out.parquet") as local:
        assert len(pd.read_parquet(local)) == 7043
    assert io.read_text(f"{gcs_bucket}/score/out.errors.csv") == '"row","column","reason"\n'


def test_too_many_refused_rows_fail_and_write_nothing(
    telco_csv: Path, bundle: Path, tmp_path: Path
) -> None:
    frame = telco_text(telco_csv).head(200)
    frame.loc[:49, "tenure"] = "unknown"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    with pytest.raises(DataError) as caught:
        _score(path, bundle, out, max_error_fraction=0.2)
    message = str(caught.value)
    assert "50 of 200 rows cannot be scored (25.0%, max_error_fraction 0.2)" in message
    assert "row 1 tenure: expected a whole number or null, got str 'unknown'" in message
    _nothing_written(out)
    result, _ = _score(path, bundle, tmp_path / "ok", max_error_fraction=0.3)
    assert (result.scored, result.errors) == (150, 50)


def test_bad_input_is_named(telco_csv: Path, bundle: Path, tmp_path: Path) -> None:
    frame = telco_text(telco_csv).drop(columns=["tenure", "Contract"]).head(20)
    path = tmp_path / "narrow.csv"
    frame.to_csv(path, index=False, sep=";")
    with pytest.raises(DataError, match=r"missing column\(s\) \['tenure', 'Contract'\]"):
        _score(path, bundle, tmp_path / "a")
    with pytest.raises(DataError, match=r"hint: the file was read as one column"):
        _score(path, bundle, tmp_path / "b", delimiter=",")
    with pytest.raises(DataError, match=r"missing column\(s\) \['account'\]"):
        _score(telco_csv, bundle, tmp_path / "c", keep_columns=["account"])
    with pytest.raises(ConfigError, match="bundle: expected a bundle artifact or bundle_uri"):
        run(BatchPredictInputs(), _outputs(tmp_path / "d"), BatchPredictConfig(data_uri="x.csv"))
    with pytest.raises(ConfigError, match="bundle and bundle_uri are both set"):
        main({"data_uri": str(telco_csv), "bundle": dsl.Model(name="b", uri=str(bundle)),
              "bundle_uri": str(bundle), **_outputs(tmp_path / "e").__dict__})  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        BatchPredictConfig(data_uri="", threshold=2.0, chunk_rows=0, output_format="xlsx")
    for part in ["data_uri", "threshold", "chunk_rows", "output_format"]:
        assert part in str(caught.value)
    with pytest.raises(BundleError):
        _score(telco_csv, tmp_path, tmp_path / "f")  # not a bundle
    for folder in "abcdf":
        _nothing_written(tmp_path / folder)
