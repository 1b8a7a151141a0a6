"""The drift job on real Telco data: no false alarm on a random half, clear detection on a
shifted half, and every kind of bad input answered with a clear error or a counted handling."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.errors import ConfigError, DataError
from components._shared.payload_log import Window
from components.drift.analysis import analyse, compute, read_reference
from components.drift.config import DriftConfig
from components.drift.current import ReadReport
from components.drift.executor import main
from components.drift.verdicts import ColumnTests
from tests.drift.conftest import TelcoDrift, shift


def _config(telco: TelcoDrift, current: Path | str, **extra: object) -> DriftConfig:
    return DriftConfig(bundle_uri=str(telco.bundle), current_uri=str(current), **extra)  # type: ignore[arg-type]


def test_random_half_of_the_same_data_raises_no_alarm(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    outputs = {
        "metrics": dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics")),
        "report_html": dsl.HTML(name="report_html", uri=str(tmp_path / "report.html")),
        "snapshot": dsl.Artifact(name="snapshot", uri=str(tmp_path / "snapshot.json")),
        "result": dsl.Artifact(name="result", uri=str(tmp_path / "drift.json")),
        "summary": dsl.Markdown(name="summary", uri=str(tmp_path / "summary.md")),
        "drift_detected": str(tmp_path / "drift_detected"),
    }
    # The component's own entry: every parameter by name, as component.py hands them over.
    main(
        {
            "bundle_uri": str(telco_drift.bundle),
            "current_uri": str(telco_drift.current_csv),
            "sample_rows": 300,
            **outputs,
        }
    )
    result = json.loads((tmp_path / "drift.json").read_text())
    tested = [c for c in result["columns"] if c["status"] == "tested"]
    assert result["drifted_columns"] == [] and not result["drift_detected"]
    assert len(tested) == 19 and result["current_rows"] == len(telco_drift.current)
    assert result["prediction"]["available"] and not result["prediction"]["drifted"]
    assert result["performance"]["available"] and not result["performance"]["drifted"]
    assert (tmp_path / "drift_detected").read_text() == "false"
    assert result["evidently"]["current_sample_rows"] == 300
    assert "300 sampled current rows" in (tmp_path / "summary.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "300 sampled current rows" in html
    # Evidently's JavaScript bundle is ~3.5 MB of it; the data on 300 rows stays small.
    assert result["evidently"]["html_bytes"] < 5_000_000
    assert json.loads((tmp_path / "snapshot.json").read_text())["metrics"]
    assert outputs["metrics"].metadata[keys.META_DATASET_DRIFT] is False  # type: ignore[union-attr]
    assert outputs["metrics"].metadata[keys.META_DISPLAY_NAME] == "drift (no drift)"  # type: ignore[union-attr]


def test_shifted_contract_mix_and_scaled_charges_are_detected(telco_drift: TelcoDrift) -> None:
    analysis = analyse(_config(telco_drift, telco_drift.shifted_csv))
    assert set(analysis.result.drifted_columns) == {"Contract", "MonthlyCharges"}
    by_name = {c.column: c for c in analysis.result.columns}
    assert by_name["MonthlyCharges"].method == "wasserstein"
    assert by_name["MonthlyCharges"].score > 0.5  # threshold 0.1
    assert by_name["Contract"].method == "jensenshannon" and by_name["Contract"].score > 0.2
    assert analysis.prediction["drifted"] and analysis.drift_detected
    # Two of 19 columns: the dataset verdict follows drift_share.
    assert not analysis.result.dataset_drift
    low_share = analyse(_config(telco_drift, telco_drift.shifted_csv, drift_share=0.1))
    assert low_share.result.dataset_drift


def test_missing_column_is_an_error_naming_it_or_reported(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    path = tmp_path / "no_tenure.csv"
    telco_drift.current.drop(columns=["tenure"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks monitored column\(s\) \['tenure'\]"):
        analyse(_config(telco_drift, path))
    analysis = analyse(_config(telco_drift, path, missing_columns="report"))
    assert analysis.missing_columns == ["tenure"]
    assert "tenure" not in {c.column for c in analysis.result.columns}
    assert "model input column" in analysis.prediction["reason"]


def test_unseen_categories_and_unreadable_cells_are_counted(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    frame = telco_drift.current.copy()
    frame.loc[:99, "PaymentMethod"] = "Crypto"
    frame["TotalCharges"] = frame["TotalCharges"].astype(object)
    frame.loc[:4, "TotalCharges"] = "n/a-ish"
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    analysis = analyse(_config(telco_drift, path))
    payment = next(c for c in analysis.result.columns if c.column == "PaymentMethod")
    assert payment.unseen == {"Crypto": 100}
    assert analysis.read.coerced_cells["TotalCharges"] >= 5


def test_bad_parameters_are_named(telco_drift: TelcoDrift) -> None:
    with pytest.raises(ConfigError, match="num_method"):
        _config(telco_drift, telco_drift.current_csv, num_method="t-test")
    with pytest.raises(ConfigError, match="drift_share"):
        _config(telco_drift, telco_drift.current_csv, drift_share=0.0)
    with pytest.raises(ConfigError, match="columns"):
        analyse(_config(telco_drift, telco_drift.current_csv, columns=["customerID"]))
    with pytest.raises(ConfigError, match="window_start"):
        analyse(_config(telco_drift, telco_drift.current_csv, window_start="yesterday"))


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        DriftConfig.from_parameters(
            {
                "bundle_uri": "b",
                "current_uri": "c",
                "current_format": "kafka",
                "cat_method": "ks",
                "per_column_threshold": {"tenure": -1},
                "missing_columns": "ignore",
                "sample_rows": -1,
                "chunk_rows": 0,
                "window_end": "soon",
            }
        )
    message = str(caught.value)
    assert message.startswith("drift config: ")
    for name in ("current_format", "cat_method", "per_column_threshold['tenure']",
                 "missing_columns", "sample_rows", "chunk_rows", "window_end"):  # fmt: skip
        assert f"{name}: expected" in message, name


def test_column_tests_from_the_config_read_empty_and_zero_as_evidently_defaults() -> None:
    config = DriftConfig(bundle_uri=" b ", current_uri="c", num_threshold=0.2,
                         per_column_method={"tenure": "psi"})  # fmt: skip
    tests = ColumnTests.from_config(config)
    assert config.bundle_uri == "b"  # pasted URIs lose stray spaces
    assert (tests.num_method, tests.cat_method, tests.cat_threshold) == (None, None, None)
    assert tests.num_threshold == 0.2 and tests.drift_share == config.drift_share
    assert tests.method_for("tenure", "numeric") == "psi"
    assert tests.threshold_for("Contract", "categorical", "jensenshannon") == 0.1


def test_compute_on_in_memory_chunks_matches_reading_the_file(telco_drift: TelcoDrift) -> None:
    """The pure part sees typed frames only: the same rows in memory give the same verdicts."""
    config = _config(telco_drift, telco_drift.shifted_csv)
    from_file = analyse(config)
    reference = read_reference(config)
    typed = shift(telco_drift.current)  # the rows of shifted_csv, typed by validate
    chunks = (typed.iloc[start : start + 700] for start in range(0, len(typed), 700))
    in_memory = compute(reference, chunks, ReadReport(), Window(), config)
    assert in_memory.result.drifted_columns == from_file.result.drifted_columns
    for a, b in zip(in_memory.result.columns, from_file.result.columns, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-9), a.column
    with pytest.raises(DataError, match="no current rows"):
        compute(reference, iter([]), ReadReport(), Window(), config)


def test_chunked_parquet_gives_the_same_verdicts(telco_drift: TelcoDrift, tmp_path: Path) -> None:
    path = tmp_path / "current.parquet"
    pd.read_csv(telco_drift.shifted_csv).to_parquet(path, index=False)
    whole = analyse(_config(telco_drift, telco_drift.shifted_csv))
    chunked = analyse(_config(telco_drift, path, chunk_rows=500))
    for a, b in zip(whole.result.columns, chunked.result.columns, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-12), a.column


def test_an_all_null_monitored_column_is_flagged_in_the_verdict(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    """A feed that stopped sending a column (every value null) is drift, not "no drift"."""
    current = telco_drift.current.copy()
    current["MonthlyCharges"] = None
    current["Contract"] = None
    path = tmp_path / "current.csv"
    current.to_csv(path, index=False)
    outcome = analyse(_config(telco_drift, path))
    result = outcome.result
    assert sorted(result.all_null_columns) == ["Contract", "MonthlyCharges"]
    charges = next(c for c in result.columns if c.column == "MonthlyCharges")
    assert (charges.status, charges.drifted, charges.score) == ("all_null", True, None)
    assert charges.current_nulls == len(current)
    assert f"all {len(current)} current values are null" in charges.note
    assert set(result.all_null_columns) <= set(result.drifted_columns)
    assert outcome.drift_detected  # flagged, even below the dataset drift share
    assert not result.dataset_drift
