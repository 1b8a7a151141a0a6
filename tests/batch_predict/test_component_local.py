"""The batch_predict component in a tiny pipeline through kfp.local (SubprocessRunner): the
bundle imported as a Model artifact, Telco rows with broken ones scored in a real subprocess."""

# No "from __future__ import annotations" here: KFP reads the pipeline's annotations as types.

import json
from pathlib import Path

import pandas as pd
import pytest
from kfp import dsl, local

from components.catalog import batch_predict

from .conftest import telco_text

pytestmark = pytest.mark.slow


@dsl.pipeline(name="score-a-file")
def score_a_file(data_uri: str, bundle_dir: str, max_error_fraction: float = 0.1) -> None:
    bundle = dsl.importer(artifact_uri=bundle_dir, artifact_class=dsl.Model, reimport=False)
    batch_predict(
        data_uri=data_uri,
        bundle=bundle.output,
        output_format="csv",
        chunk_rows=2500,
        max_error_fraction=max_error_fraction,
    )


def _outputs(root: Path) -> dict:
    (found,) = list(root.rglob("batch-predict/executor_output.json"))
    return json.loads(found.read_text())["artifacts"]


def test_component_scores_in_a_pipeline_and_lists_broken_rows(
    broken_csv: Path, bundle: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    score_a_file(data_uri=str(broken_csv), bundle_dir=str(bundle))
    artifacts = _outputs(root)
    predictions = artifacts["predictions"]["artifacts"][0]
    errors = artifacts["errors"]["artifacts"][0]
    metrics = artifacts["metrics"]["artifacts"][0]["metadata"]
    scored = pd.read_csv(predictions["uri"])
    assert len(scored) == 7041 and predictions["metadata"]["rows"] == 7041
    refused = pd.read_csv(errors["uri"], keep_default_na=False)
    assert refused["row"].tolist() == [4, 6, 101]
    assert (metrics["rows"], metrics["scored_rows"], metrics["error_rows"]) == (7044, 7041, 3)


def test_component_failure_writes_nothing(telco_csv: Path, bundle: Path, tmp_path: Path) -> None:
    frame = telco_text(telco_csv).head(50)
    frame["tenure"] = "unknown"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    root = tmp_path / "root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    with pytest.raises(RuntimeError, match="batch-predict"):
        score_a_file(data_uri=str(bad), bundle_dir=str(bundle))
    written = [
        p for p in root.rglob("*")
        if p.is_file() and "batch-predict" in str(p) and p.name != "executor_output.json"
    ]  # fmt: skip
    assert written == [], written
