"""``kfp-tabular predict`` on Telco rows with a few broken ones: the same executor, progress on
stderr, the errors file beside the output, exit codes 0, 1 and 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kfp_tabular.cli import main
from kfp_tabular.predict import errors_uri

from .conftest import telco_text


def test_predict_scores_and_lists_refused_rows(
    broken_csv: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "scores.csv"
    code = main(["predict", "--bundle", str(bundle), "--data", str(broken_csv),
                 "--output", str(output), "--chunk-rows", "2000"])  # fmt: skip
    assert code == 0
    stderr = capsys.readouterr().err
    assert "kfp-tabular predict: 2,001 rows read, 1,998 scored, 3 refused" in stderr  # a chunk
    assert "scored 7,041 of 7,044 rows" in stderr and "3 refused" in stderr
    scored = pd.read_csv(output, float_precision="round_trip")  # pyarrow writes exact digits
    assert len(scored) == 7041 and list(scored.columns)[-2:] == ["probability", "label"]
    errors = pd.read_csv(tmp_path / "out" / "scores.errors.csv", keep_default_na=False)
    assert errors[["row", "column"]].values.tolist() == [
        [4, "tenure"],
        [6, "MonthlyCharges"],
        [101, ""],
    ]
    again = tmp_path / "again.parquet"
    assert main(["predict", "--bundle", str(bundle), "--data", str(broken_csv), "--output",
                 str(again), "--errors", str(tmp_path / "e.csv"), "--quiet"]) == 0  # fmt: skip
    assert "rows read" not in capsys.readouterr().err
    assert np.array_equal(pd.read_parquet(again)["probability"], scored["probability"])


def test_predict_exit_codes(
    telco_csv: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = telco_text(telco_csv).head(100)
    frame.loc[:59, "tenure"] = "n/a months"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    out = tmp_path / "out.parquet"
    assert main(["predict", "--bundle", str(bundle), "--data", str(bad), "--output", str(out)]) == 1
    assert "60 of 100 rows cannot be scored" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.errors.csv").exists()
    assert main(["predict", "--bundle", str(bundle), "--data", str(bad), "--output",
                 str(out), "--max-error-fraction", "0.7"]) == 0  # fmt: skip
    assert main(["predict", "--bundle", str(bundle), "--data", str(bad), "--output",
                 str(tmp_path / "x.xlsx")]) == 2  # fmt: skip
    assert "expected a name ending in .parquet, .pq, .csv" in capsys.readouterr().err
    assert main(["predict", "--bundle", str(tmp_path / "none"), "--data", str(bad), "--output",
                 str(out)]) == 2  # fmt: skip
    assert main(["predict", "--bundle", str(bundle), "--data", str(bad), "--output", str(out),
                 "--encoding", "utf-9"]) == 2  # fmt: skip
    assert "encoding: expected a Python codec name" in capsys.readouterr().err
    assert main(["predict", "--data", str(bad)]) == 2  # argparse: --bundle is required


def test_errors_file_sits_beside_the_output() -> None:
    assert errors_uri("gs://b/scores/today.parquet") == "gs://b/scores/today.errors.csv"
    assert errors_uri("out.csv") == "out.errors.csv"
