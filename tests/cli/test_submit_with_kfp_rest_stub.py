"""``kfp-tabular submit`` through the real kfp.Client 2.17 against KfpRestStub (a REST stub).

The stub stands in for the KFP API server, which cannot run here; these tests check what the
command sends (spec, parameters, experiment, run name) and how it follows a run.
"""

from __future__ import annotations

import re

from kfp import compiler

from kfp_tabular.compile import PIPELINES
from tests.cli.conftest import CHURN_PARAMS, COMPILED, TOKEN, sent_spec
from tests.cli.kfp_stub import API, KfpRestStub

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_submit_sends_the_compiled_spec_parameters_experiment_and_run_name(
    stub, cli, params_file, compiled_spec
):
    path = params_file("churn.yaml", CHURN_PARAMS)
    result = cli(
        "submit",
        "--host",
        stub.url,
        "-f",
        str(path),
        "--param",
        "seed=11",
        "--param",
        "max_null_fraction=0.25",
        "-e",
        "churn",
        "-n",
        "churn-1",
    )
    assert result.code == 0, result.err
    # The calls kfp.Client 2.17 makes for create_experiment + create_run_from_pipeline_package
    # (trace: healthz at start-up, experiment lookup, create as it is missing, the run).
    assert stub.calls() == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    lookup = stub.requests[1]
    assert lookup.query["filter"] == [
        '{"predicates": [{"operation": 1, "key": "display_name", "stringValue": "churn"}]}'
    ]
    assert lookup.query["namespace"] == [""]
    assert stub.bodies("POST", f"{API}/experiments") == [{"display_name": "churn", "namespace": ""}]
    (experiment_id,) = stub.experiments
    (run,) = stub.bodies("POST", f"{API}/runs")
    assert set(run) == {"experiment_id", "display_name", "pipeline_spec", "runtime_config"}
    assert run["pipeline_spec"] == compiled_spec
    assert run["runtime_config"] == {
        "parameters": {
            "data_uri": "gs://bucket/churn.csv",
            "target": "Churn",
            "positive_label": "Yes",
            "id_columns": ["customerID"],
            "seed": 11,  # --param overrides the file, read as NUMBER_INTEGER
            "max_null_fraction": 0.25,
        }
    }
    assert run["experiment_id"] == experiment_id
    assert run["display_name"] == "churn-1"
    (run_id,) = stub.runs
    assert f"run_id: {run_id}" in result.out.splitlines()
    assert f"experiment_id: {experiment_id}" in result.out.splitlines()
    assert re.search(rf"^{TIMESTAMP}  connecting to Kubeflow Pipelines", result.err, re.M)
    assert f"Run details: {stub.url}/#/runs/details/{run_id}" in result.err


def test_an_existing_experiment_is_reused_and_options_reach_the_run(stub, cli, params_file):
    path = params_file("churn.json", '{"data_uri": "d.csv", "target": "y", "positive_label": "1"}')
    common = ("submit", "--host", stub.url, "-f", str(path), "-e", "churn")
    assert cli(*common).code == 0
    stub.requests.clear()
    result = cli(*common, "--service-account", "pipeline-runner", "--pipeline-root", "gs://b/r")
    assert result.code == 0, result.err
    # Found by name: no second POST /experiments.
    assert stub.calls() == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    (run,) = stub.bodies("POST", f"{API}/runs")
    assert run["experiment_id"] == next(iter(stub.experiments))
    assert run["service_account"] == "pipeline-runner"
    assert run["runtime_config"]["pipeline_root"] == "gs://b/r"
    assert run["display_name"].startswith("train-and-rollout ")  # default: <pipeline> <time>


def test_a_registry_name_is_compiled_now_and_sent(stub, cli, tmp_path):
    fresh = tmp_path / "fresh.yaml"
    compiler.Compiler().compile(PIPELINES["train_and_rollout"], package_path=str(fresh))
    result = cli(
        "submit",
        "train_and_rollout",
        "--host",
        stub.url,
        "--param",
        "data_uri=gs://b/d.csv",
        "--param",
        "target=y",
        "--param",
        "positive_label=1",  # STRING: stays text
        "--param",
        "id_columns=[a, b]",  # LIST: read as YAML flow
    )
    assert result.code == 0, result.err
    assert "compiling train_and_rollout: done in" in result.err
    (run,) = stub.bodies("POST", f"{API}/runs")
    assert run["pipeline_spec"] == sent_spec(fresh)
    assert run["runtime_config"]["parameters"] == {
        "data_uri": "gs://b/d.csv",
        "target": "y",
        "positive_label": "1",
        "id_columns": ["a", "b"],
    }


def test_token_namespace_and_kfp_host_env(stub, cli, params_file, monkeypatch):
    monkeypatch.setenv("KFP_HOST", stub.url)
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "-f", str(path), "--namespace", "team-a", "--token", TOKEN, "-e", "e")
    assert result.code == 0, result.err
    assert {r.headers.get("authorization") for r in stub.requests} == {f"Bearer {TOKEN}"}
    assert stub.requests[1].query["namespace"] == ["team-a"]
    assert stub.bodies("POST", f"{API}/experiments") == [
        {"display_name": "e", "namespace": "team-a"}
    ]
    assert TOKEN not in result.output
    assert "the token from --token" in result.err


def test_token_file_and_projected_service_account_token(
    stub, cli, params_file, tmp_path, monkeypatch
):
    path = params_file("p.yaml", CHURN_PARAMS)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = cli("submit", "--host", stub.url, "-f", str(path), "--token-file", str(token_file))
    assert result.code == 0, result.err
    assert stub.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"

    # In a pod: KFP's ServiceAccountTokenVolumeCredentials reads the projected token.
    sa_token = tmp_path / "sa-token"
    sa_token.write_text("projected-sa-t0ken")
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(sa_token))
    stub.requests.clear()
    result = cli("submit", "--host", stub.url, "-f", str(path))
    assert result.code == 0, result.err
    assert {r.headers.get("authorization") for r in stub.requests} == {"Bearer projected-sa-t0ken"}
    assert f"service-account token {sa_token}" in result.err
    assert "projected-sa-t0ken" not in result.output


def test_wait_streams_state_changes_until_succeeded(stub, cli, params_file):
    stub.run_states = ["PENDING", "PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "--host", stub.url, "-f", str(path), "--wait", "--poll-seconds", "0.01")
    assert result.code == 0, result.err
    (run_id,) = stub.runs
    states = re.findall(rf"^{TIMESTAMP}  run {run_id} (\w+) \(\+", result.err, re.M)
    assert states == ["PENDING", "RUNNING", "SUCCEEDED"]  # changes only, in order
    assert stub.calls().count(("GET", f"{API}/runs/{run_id}")) == 4


def test_wait_on_a_failed_run_exits_1_with_its_error(stub, cli, params_file):
    stub.run_states = ["PENDING", "RUNNING", "FAILED"]
    stub.run_error = {"code": 2, "message": "task train-3 failed: exit status 1"}
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "--host", stub.url, "-f", str(path), "--wait", "--poll-seconds", "0.01")
    assert result.code == 1
    (run_id,) = stub.runs
    assert f"run {run_id} FAILED: task train-3 failed: exit status 1" in result.out


def test_wait_on_a_canceled_run_exits_1(stub, cli, params_file):
    # kfp's own wait_for_run_completion would poll a CANCELED run until its timeout.
    stub.run_states = ["PENDING", "CANCELING", "CANCELED"]
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "--host", stub.url, "-f", str(path), "--wait", "--poll-seconds", "0.01")
    assert result.code == 1
    assert "CANCELED" in result.out


def test_wait_timeout_exits_1_and_says_the_run_goes_on(stub, cli, params_file):
    stub.run_states = ["PENDING", "RUNNING"]
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli(
        "submit",
        "--host",
        stub.url,
        "-f",
        str(path),
        "--wait",
        "--poll-seconds",
        "0.01",
        "--timeout",
        "0.1",
    )
    assert result.code == 1
    assert "timed out after" in result.err
    assert "still RUNNING" in result.err
    assert "goes on in the cluster" in result.err


def test_a_token_never_reaches_the_output_even_when_the_server_echoes_it(stub, cli, params_file):
    # Some proxies quote the request's headers in their error pages.
    stub.inject[("POST", f"{API}/runs")] = (
        500,
        lambda request: {"code": 13, "message": f"upstream said: {request.headers}"},
    )
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "--host", stub.url, "-f", str(path), "--token", TOKEN)
    assert result.code == 2
    assert "rejected creating the run: HTTP 500" in result.err
    assert TOKEN not in result.output
    assert "***" in result.err


def test_a_token_in_a_mistyped_option_is_masked_in_usage_errors(cli):
    result = cli("submit", "--tokn", TOKEN)
    assert result.code == 2
    assert "unrecognized arguments" in result.err
    assert TOKEN not in result.output


def test_default_package_is_the_committed_compiled_file(stub, cli, params_file):
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli("submit", "--host", stub.url, "-f", str(path))
    assert result.code == 0, result.err
    assert f"compiled {COMPILED}" in result.err


def test_stub_rejects_unknown_fields_like_the_server():
    import json
    import urllib.error
    import urllib.request

    with KfpRestStub() as stub:
        request = urllib.request.Request(
            f"{stub.url}{API}/runs",
            data=json.dumps({"display_name": "r", "bogus": 1}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request)
        except urllib.error.HTTPError as error:
            assert error.code == 400
            assert json.loads(error.read())["message"] == 'proto: (line 1:2): unknown field "bogus"'
        else:
            raise AssertionError("the stub accepted an unknown field")


def _caching(sent: dict) -> dict[str, bool]:
    """{task: enableCache} over every container task the sent spec holds, in every sub-DAG."""
    spec = sent["pipeline_spec"]
    found: dict[str, bool] = {}

    def walk(dag: dict) -> None:
        for name, task in dag["tasks"].items():
            inner = spec["components"][task["componentRef"]["name"]]
            if "dag" in inner:
                walk(inner["dag"])
            else:
                found[name] = task.get("cachingOptions", {}).get("enableCache", False)

    walk(spec["root"]["dag"])
    return found


def test_caching_as_compiled_by_default_and_off_with_no_caching(stub, cli, params_file):
    path = params_file("p.yaml", CHURN_PARAMS)
    common = ("submit", "--host", stub.url, "-f", str(path))
    assert cli(*common).code == 0
    assert cli(*common, "--caching").code == 0
    result = cli(*common, "--no-caching")
    assert result.code == 0, result.err
    assert "caching: off for every task (--no-caching)" in result.err
    compiled, explicit, off = (
        _caching(run["pipeline_spec"]) for run in stub.bodies("POST", f"{API}/runs")
    )
    assert (
        compiled
        == explicit
        == {
            "validate": False,
            "featurize": True,
            "train": True,
            "compare": False,
            "gate": False,
            "deploy": False,
            "rollout": False,
            "shadow": False,
        }
    )
    assert set(off.values()) == {False}
    # --no-cache, the old spelling, still works; --caching and --no-caching exclude each other.
    assert cli(*common, "--no-cache").code == 0
    assert set(_caching(stub.bodies("POST", f"{API}/runs")[-1]["pipeline_spec"]).values()) == {
        False
    }
    clash = cli(*common, "--caching", "--no-caching")
    assert clash.code == 2 and "not allowed with argument" in clash.err


def test_a_kubernetes_deploy_says_how_to_run_as_the_deployer_account(stub, cli, params_file):
    path = params_file("p.yaml", CHURN_PARAMS + "deploy_target: kubernetes\n")
    result = cli("submit", "--host", stub.url, "-f", str(path))
    assert result.code == 0, result.err
    assert "--service-account kfp-tabular-deployer" in result.err
    # The run-level way: the run's pods, deploy and rollout among them, use that account.
    result = cli(
        "submit", "--host", stub.url, "-f", str(path), "--service-account", "kfp-tabular-deployer"
    )
    assert result.code == 0, result.err
    assert "--service-account kfp-tabular-deployer" not in result.err
    assert stub.bodies("POST", f"{API}/runs")[-1]["service_account"] == "kfp-tabular-deployer"
    rendered = cli("submit", "--host", stub.url, "-f", str(params_file("r.yaml", CHURN_PARAMS)))
    assert "service account" not in rendered.err  # render (the default) calls no API
