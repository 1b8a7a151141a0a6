"""The closed loop with kfp.local and a real MLflow server: two ``kfp-tabular run``s in a row.

The first run has no champion: its blessed bundle is registered (alias challenger) and deployed
direct on the local target, which serves, so it becomes the registry's champion. The second run
is given no champion_uri: ``kfp-tabular run`` resolves the registry's champion once, compare ranks
it beside the candidate, the gate judges against it, and the second direct deploy moves the
champion to the second version. One fast candidate per run keeps this under a few minutes.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components._shared import keys, local_serving, registry
from kfp_tabular import local_run
from tests.fixtures.datasets import fast_candidate

pytestmark = pytest.mark.slow


def _run(
    telco_csv: Path,
    out: Path,
    matrix: Path,
    url: str,
    model: str,
    capsys: pytest.CaptureFixture[str],
) -> tuple[dict, str]:
    status = local_run.main(
        ["--data", str(telco_csv), "--target", "Churn", "--positive-label", "Yes",
         "--id-columns", "customerID", "--matrix", str(matrix), "--deploy-target", "local",
         "--deploy-strategy", "direct", "--param", f"tracking_uri={url}",
         "--param", f"registered_model_name={model}", "--param", "gate_bootstrap_resamples=200",
         "--quiet", "--output", str(out)]
    )  # fmt: skip
    printed, errors = capsys.readouterr()
    assert status == 0, printed + errors
    return json.loads((out / "last_run.json").read_text()), printed


def test_the_second_run_compares_against_the_first_runs_champion(
    telco_csv: Path,
    tmp_path: Path,
    mlflow_server: str,
    no_tracking_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = f"churn-{uuid.uuid4().hex[:8]}"
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([fast_candidate("xgboost")]))
    client = MlflowClient(mlflow_server)
    first_out, second_out = tmp_path / "first", tmp_path / "second"
    try:
        first, printed = _run(telco_csv, first_out, matrix, mlflow_server, model, capsys)
        assert first["champion"]["uri"] == ""
        assert f"champion    none (registered model {model!r} has no champion yet)" in printed
        assert client.get_model_version_by_alias(model, "champion").version == "1"
        first_bundle = first["artifacts"]["gate"]["blessed_bundle"]["uri"]

        second, printed = _run(telco_csv, second_out, matrix, mlflow_server, model, capsys)
    finally:
        for out in (first_out, second_out):
            if out.exists():
                local_serving.stop_all(out)
    source = f"registry: models:/{model}@champion = version 1"
    assert second["champion"] == {"uri": first_bundle, "source": source}
    assert f"champion    {source} -> {first_bundle}" in printed
    board = json.loads(Path(second["artifacts"]["compare"]["leaderboard"]["uri"]).read_text())
    assert [r["name"] for r in board["rows"] if r["role"] == keys.ROLE_CHAMPION]  # ranked beside
    blessing = json.loads(Path(second["artifacts"]["gate"]["blessing"]["uri"]).read_text())
    assert blessing[keys.BLESSING_CHAMPION], "the gate judged against the champion"
    assert client.get_model_version_by_alias(model, "champion").version == "2"
    assert "registry    model " + model + " version 2" in printed
    assert "now the champion (was version 1)" in printed
    events = [e.event for e in registry.open_registry(mlflow_server).audit_trail(model)]
    assert events.count("promoted") == 2
    runs = client.search_runs(
        [client.get_experiment_by_name("kfp-tabular").experiment_id],
        filter_string="tags.`kfp_tabular.step` = 'pipeline'",
    )
    assert len(runs) >= 2  # one parent run per pipeline run
