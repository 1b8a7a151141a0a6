"""The retrain trigger against a local stub of the KFP v2beta1 REST API (a stub, named so:
there is no KFP API server here), the CLI entry point, and the CronJob manifest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from kfp import dsl

from components._image import COMPONENT_IMAGE
from components._shared import keys
from components._shared.config import values_from_namespace
from components.drift import cli
from components.drift.config import DriftConfig
from components.drift.executor import DriftInputs, DriftOutputs, run
from components.drift.retrain import RetrainError, submit_run
from kfp_tabular.compile import compile_all
from tests.drift.conftest import TelcoDrift

ROOT = Path(__file__).resolve().parents[2]


class StubKfpApi(BaseHTTPRequestHandler):
    """Answers like KFP 2.17's API server (shapes from KFP_REST_AND_SELDON_FACTS.md 3.2)."""

    requests: ClassVar[list[dict[str, Any]]] = []
    experiments: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict[str, Any]:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        entry = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                 "authorization": self.headers.get("Authorization"), "body": body}  # fmt: skip
        self.requests.append(entry)
        return entry

    def do_GET(self) -> None:
        entry = self._record()
        if entry["path"] == "/apis/v2beta1/experiments":
            self._answer(
                200, {"experiments": self.experiments, "total_size": 1} if self.experiments else {}
            )
        else:
            self._answer(404, {"code": 5, "message": "not found", "details": []})

    def do_POST(self) -> None:
        entry = self._record()
        if entry["path"] == "/apis/v2beta1/experiments":
            experiment = {"experiment_id": "e-1", "display_name": entry["body"]["display_name"],
                          "storage_state": "AVAILABLE"}  # fmt: skip
            self.experiments.append(experiment)
            self._answer(200, experiment)
        elif entry["path"] == "/apis/v2beta1/runs":
            self._answer(200, {"run_id": "r-1", **entry["body"], "state": "PENDING"})
        else:
            self._answer(404, {"code": 5, "message": "not found", "details": []})


@pytest.fixture
def stub_kfp_api() -> Iterator[str]:
    StubKfpApi.requests, StubKfpApi.experiments = [], []
    server = ThreadingHTTPServer(("localhost", 0), StubKfpApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return next(
        p for p in compile_all(tmp_path_factory.mktemp("compiled")) if p.stem == "train_and_rollout"
    )


def test_submit_run_sends_what_kfp_client_sends(stub_kfp_api: str, compiled: Path) -> None:
    run = submit_run(stub_kfp_api, str(compiled), {"data_uri": "gs://b/new.csv"},
                     run_name="retrain", experiment_name="drift", token="T")  # fmt: skip
    assert (run.run_id, run.experiment_id) == ("r-1", "e-1")
    find, create, post = StubKfpApi.requests
    assert (find["method"], find["path"]) == ("GET", "/apis/v2beta1/experiments")
    assert json.loads(find["query"]["filter"][0]) == {
        "predicates": [{"operation": 1, "key": "display_name", "stringValue": "drift"}]
    }
    assert create["body"] == {"display_name": "drift", "namespace": ""}
    assert post["authorization"] == "Bearer T"
    body = post["body"]
    assert set(body) == {"experiment_id", "display_name", "pipeline_spec", "runtime_config"}
    # With a platform spec (per-task Kubernetes settings), kfp.Client nests both documents.
    assert set(body["pipeline_spec"]) == {"pipeline_spec", "platform_spec"}
    assert body["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == "train-and-rollout"
    assert "kubernetes" in body["pipeline_spec"]["platform_spec"]["platforms"]
    assert body["runtime_config"] == {"parameters": {"data_uri": "gs://b/new.csv"}}
    # A second run finds the experiment instead of creating it, as kfp.Client does.
    submit_run(stub_kfp_api, str(compiled), {}, run_name="again", experiment_name="drift", token="")
    assert [r["method"] for r in StubKfpApi.requests[3:]] == ["GET", "POST"]


def test_submit_run_names_the_failing_request(stub_kfp_api: str, tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("a: 1\n")
    with pytest.raises(RetrainError, match="not a compiled KFP pipeline"):
        submit_run(stub_kfp_api, str(bad), {}, run_name="r")
    with pytest.raises(RetrainError, match="cannot reach"):
        submit_run(
            "http://localhost:9",
            str(ROOT / "pipelines/compiled/train_and_rollout.yaml"),
            {},
            run_name="r",
        )


def test_drift_on_labelled_data_triggers_a_retrain_run(
    telco_drift: TelcoDrift, stub_kfp_api: str, compiled: Path, tmp_path: Path
) -> None:
    config = DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(telco_drift.shifted_csv),
                         kfp_host=stub_kfp_api, retrain_pipeline_uri=str(compiled), sample_rows=200)  # fmt: skip
    result = dsl.Artifact(name="result", uri=str(tmp_path / "drift.json"))
    outputs = DriftOutputs(
        metrics=dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics")),
        report_html=dsl.HTML(name="report_html", uri=str(tmp_path / "report.html")),
        snapshot=dsl.Artifact(name="snapshot", uri=str(tmp_path / "snapshot.json")),
        result=result,
        summary=dsl.Markdown(name="summary", uri=str(tmp_path / "summary.md")),
        drift_detected=str(tmp_path / "drift_detected"),
    )
    outcome = run(DriftInputs(), outputs, config)
    assert outcome.retrain["submitted"] and outcome.retrain["run_id"] == "r-1"
    assert result.metadata[keys.META_RETRAIN_RUN_ID] == "r-1"
    params = StubKfpApi.requests[-1]["body"]["runtime_config"]["parameters"]
    assert params["data_uri"] == str(telco_drift.shifted_csv)
    assert (params["target"], params["positive_label"]) == ("Churn", "Yes")
    assert params["champion_uri"] == str(telco_drift.bundle)
    assert "Submitted train_and_rollout run `r-1`" in (tmp_path / "summary.md").read_text()


def test_cli_writes_outputs_and_exit_codes(
    telco_drift: TelcoDrift, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = cli.main(["--bundle", str(telco_drift.bundle), "--current", str(telco_drift.shifted_csv),
                     "--output", str(out), "--sample-rows", "200", "--fail-on-drift"])  # fmt: skip
    assert code == cli.EXIT_DRIFT
    assert {p.name for p in out.iterdir()} == {
        "report.html",
        "snapshot.json",
        "drift.json",
        "summary.md",
        "metrics.json",
    }
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["drift_score.MonthlyCharges"] > 0.5 and metrics["drifted_columns"] == 2
    assert "DRIFT: 2/19 columns drifted" in capsys.readouterr().out
    # The generic spellings (--bundle-uri, --current-uri) work as well.
    assert cli.main(["--bundle-uri", str(tmp_path / "nope"), "--current-uri",
                     str(telco_drift.current_csv), "--output", str(out)]) == cli.EXIT_BAD_INPUT  # fmt: skip
    assert "error:" in capsys.readouterr().err


def test_cli_options_are_the_config_parameters_with_the_earlier_spellings() -> None:
    parser = cli.build_parser()
    old = parser.parse_args(["--bundle", "b", "--current", "c", "--format", "logger", "--output",
                             "o", "--reference-data", "r", "--retrain-pipeline", "p",
                             "--columns", "tenure", "Contract"])  # fmt: skip
    new = parser.parse_args(["--bundle-uri", "b", "--current-uri", "c", "--current-format",
                             "logger", "--output", "o", "--reference-data-uri", "r",
                             "--retrain-pipeline-uri", "p", "--columns", "tenure", "Contract"])  # fmt: skip
    assert vars(old) == vars(new)
    values = values_from_namespace(old, DriftConfig)
    assert set(values) == {p.name for p in DriftConfig.parameters()}
    config = DriftConfig.from_parameters(values)
    assert (config.bundle_uri, config.current_format, config.reference_data_uri) == (
        "b",
        "logger",
        "r",
    )
    assert config.columns == ["tenure", "Contract"]
    defaults = {p.name: p.default for p in DriftConfig.parameters()}
    assert (
        config.sample_rows == defaults["sample_rows"]
        and config.chunk_rows == defaults["chunk_rows"]
    )
    parsed = parser.parse_args(["--bundle", "b", "--current", "c", "--output", "o",
                                "--per-column-method", '{"tenure": "psi"}'])  # fmt: skip
    assert parsed.per_column_method == {"tenure": "psi"}


def test_cli_answers_bad_options_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--bundle", str(tmp_path), "--current", str(tmp_path), "--output", str(tmp_path)]
    assert cli.main([*common, "--format", "kafka"]) == cli.EXIT_BAD_INPUT
    assert (
        "current_format: expected one of ['auto', 'dataset', 'logger']" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exited:
        cli.main([*common, "--per-column-threshold", "tenure=0.2"])
    assert exited.value.code == 2
    assert "per_column_threshold: expected a mapping as JSON" in capsys.readouterr().err


def test_cronjob_manifest_is_valid_non_root_and_pinned() -> None:
    import kubernetes_validate.utils as kv

    docs = list(yaml.safe_load_all((ROOT / "manifests/base/drift-cronjob.yaml").read_text()))
    for doc in docs:
        kv.validate(doc, "1.30", strict=True)
    (cron,) = [d for d in docs if d["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == COMPONENT_IMAGE and not container["image"].endswith(":latest")
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["command"] == ["python", "-m", "components.drift.cli"]
    parsed = cli.build_parser().parse_args(container["args"])
    assert parsed.current_format == "logger" and parsed.last_hours == 2


def test_drift_monitor_pipeline_compiles_with_the_drift_step(tmp_path: Path) -> None:
    (path,) = [p for p in compile_all(tmp_path) if p.stem == "drift_monitor"]
    spec = next(yaml.safe_load_all(path.read_text()))
    assert set(spec["root"]["dag"]["tasks"]) == {"drift"}
    outputs = spec["root"]["outputDefinitions"]["parameters"]
    assert outputs["Output"]["parameterType"] == "BOOLEAN"
