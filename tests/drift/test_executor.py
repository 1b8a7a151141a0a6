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
from components.drift import executor
from tests.drift.conftest import TelcoDrift


def _config(telco: TelcoDrift, current: Path | str, **extra: object) -> executor.DriftConfig:
    return executor.make_config(bundle_uri=str(telco.bundle), current_uri=str(current), **extra)


def test_random_half_of_the_same_data_raises_no_alarm(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    outputs = {
        "metrics": dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics")),
        "report_html": dsl.HTML(name="report_html", uri=str(tmp_path / "report.html")),
        "snapshot": dsl.Artifact(name="snapshot", uri=str(tmp_path / "snapshot.json")),
        "result": dsl.Artifact(name="result", uri=str(tmp_path / "drift.json")),
        "summary": dsl.Markdown(name="summary", uri=str(tmp_path / "summary.md")),
    }
    outcome = executor.run(
        config=_config(telco_drift, telco_drift.current_csv, sample_rows=300),
        drift_detected_path=str(tmp_path / "drift_detected"),
        **outputs,  # type: ignore[arg-type]
    )
    assert outcome.result.drifted_columns == [] and not outcome.drift_detected
    assert len(outcome.result.tested) == 19 and outcome.result.current_rows == len(
        telco_drift.current
    )
    assert outcome.prediction["available"] and not outcome.prediction["drifted"]
    assert outcome.performance["available"] and not outcome.performance["drifted"]
    assert (tmp_path / "drift_detected").read_text() == "false"
    result = json.loads((tmp_path / "drift.json").read_text())
    assert result["evidently"]["current_sample_rows"] == 300
    assert "300 sampled current rows" in (tmp_path / "summary.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "300 sampled current rows" in html
    # Evidently's JavaScript bundle is ~3.5 MB of it; the data on 300 rows stays small.
    assert result["evidently"]["html_bytes"] < 5_000_000
    assert json.loads((tmp_path / "snapshot.json").read_text())["metrics"]
    assert outputs["metrics"].metadata[keys.META_DATASET_DRIFT] is False
    assert outputs["metrics"].metadata[keys.META_DISPLAY_NAME] == "drift (no drift)"


def test_shifted_contract_mix_and_scaled_charges_are_detected(telco_drift: TelcoDrift) -> None:
    outcome, _, _, _ = executor.analyse(_config(telco_drift, telco_drift.shifted_csv))
    assert set(outcome.result.drifted_columns) == {"Contract", "MonthlyCharges"}
    by_name = {c.column: c for c in outcome.result.columns}
    assert by_name["MonthlyCharges"].method == "wasserstein"
    assert by_name["MonthlyCharges"].score > 0.5  # threshold 0.1
    assert by_name["Contract"].method == "jensenshannon" and by_name["Contract"].score > 0.2
    assert outcome.prediction["drifted"] and outcome.drift_detected
    # Two of 19 columns: the dataset verdict follows drift_share.
    assert not outcome.result.dataset_drift
    low_share, _, _, _ = executor.analyse(
        _config(telco_drift, telco_drift.shifted_csv, drift_share=0.1)
    )
    assert low_share.result.dataset_drift


def test_missing_column_is_an_error_naming_it_or_reported(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    path = tmp_path / "no_tenure.csv"
    telco_drift.current.drop(columns=["tenure"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks monitored column\(s\) \['tenure'\]"):
        executor.analyse(_config(telco_drift, path))
    outcome, _, _, _ = executor.analyse(_config(telco_drift, path, missing_columns="report"))
    assert outcome.missing_columns == ["tenure"]
    assert "tenure" not in {c.column for c in outcome.result.columns}
    assert "model input column" in outcome.prediction["reason"]


def test_unseen_categories_and_unreadable_cells_are_counted(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    frame = telco_drift.current.copy()
    frame.loc[:99, "PaymentMethod"] = "Crypto"
    frame["TotalCharges"] = frame["TotalCharges"].astype(object)
    frame.loc[:4, "TotalCharges"] = "n/a-ish"
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    outcome, _, _, _ = executor.analyse(_config(telco_drift, path))
    payment = next(c for c in outcome.result.columns if c.column == "PaymentMethod")
    assert payment.unseen == {"Crypto": 100}
    assert outcome.read.coerced_cells["TotalCharges"] >= 5


def test_bad_parameters_are_named(telco_drift: TelcoDrift) -> None:
    with pytest.raises(ConfigError, match="num_method"):
        _config(telco_drift, telco_drift.current_csv, num_method="t-test")
    with pytest.raises(ConfigError, match="drift_share"):
        _config(telco_drift, telco_drift.current_csv, drift_share=0.0)
    with pytest.raises(ConfigError, match="columns"):
        executor.analyse(_config(telco_drift, telco_drift.current_csv, columns=["customerID"]))
    with pytest.raises(ConfigError, match="window_start"):
        executor.analyse(_config(telco_drift, telco_drift.current_csv, window_start="yesterday"))


def test_chunked_parquet_gives_the_same_verdicts(telco_drift: TelcoDrift, tmp_path: Path) -> None:
    path = tmp_path / "current.parquet"
    pd.read_csv(telco_drift.shifted_csv).to_parquet(path, index=False)
    whole, _, _, _ = executor.analyse(_config(telco_drift, telco_drift.shifted_csv))
    chunked, _, _, _ = executor.analyse(_config(telco_drift, path, chunk_rows=500))
    for a, b in zip(whole.result.columns, chunked.result.columns, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-12), a.column
