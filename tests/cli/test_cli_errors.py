"""Every error the remote subcommands promise: one clear line, exit code 2, nothing sent."""

from __future__ import annotations

import socket
import sys
import types

import pytest

from tests.cli.conftest import CHURN_PARAMS
from tests.cli.kfp_stub import API, KfpRestStub


def free_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def churn(params_file):
    return str(params_file("p.yaml", CHURN_PARAMS))


def test_connection_refused_names_the_host(cli, churn):
    host = f"http://127.0.0.1:{free_port()}"
    result = cli("submit", "--host", host, "-f", churn)
    assert result.code == 2
    assert f"cannot reach Kubeflow Pipelines at {host}: connection failed:" in result.err
    assert "Connection refused" in result.err
    assert "Traceback" not in result.err


def test_unknown_dns_name_names_the_host(cli, churn):
    result = cli("submit", "--host", "http://kfp.invalid", "-f", churn)
    assert result.code == 2
    assert "cannot reach Kubeflow Pipelines at http://kfp.invalid: DNS lookup failed" in result.err


def test_a_host_that_is_not_the_kfp_api(stub, cli, churn):
    stub.inject[("GET", f"{API}/healthz")] = (404, "404 page not found")
    result = cli("submit", "--host", stub.url + "/", "-f", churn)
    assert result.code == 2
    assert f"{stub.url} answered HTTP 404" in result.err
    assert "is it the Kubeflow Pipelines API endpoint?" in result.err


def test_refused_credentials_say_which_options_to_check(stub, cli, churn):
    stub.inject[("GET", f"{API}/healthz")] = (401, {"code": 16, "message": "Unauthenticated"})
    result = cli("submit", "--host", stub.url, "-f", churn, "--token", "expired-token")
    assert result.code == 2
    assert "refused checking the API server (healthz): HTTP 401" in result.err
    assert "check --token / --token-file" in result.err
    assert "expired-token" not in result.output


def test_kube_context_and_host_are_exclusive(cli, churn):
    result = cli("submit", "--host", "http://h", "--kube-context", "prod", "-f", churn)
    assert result.code == 2
    assert "--kube-context is used only without --host" in result.err


def test_no_host_and_no_cluster_config(cli, churn):
    result = cli("submit", "-f", churn)
    assert result.code == 2
    assert "no Kubeflow Pipelines host: pass --host" in result.err


def test_multi_user_kfp_needs_a_namespace(cli, churn):
    with KfpRestStub(multi_user=True) as stub:
        result = cli("submit", "--host", stub.url, "-f", churn)
        assert result.code == 2
        assert "is multi-user: pass --namespace" in result.err
        assert stub.calls() == [("GET", f"{API}/healthz")]


def test_missing_compiled_file_names_the_path_and_the_way_out(cli, churn, tmp_path):
    missing = tmp_path / "pipelines" / "compiled" / "gone.yaml"
    result = cli("submit", str(missing), "--host", "http://127.0.0.1:9", "-f", churn)
    assert result.code == 2
    assert f"compiled pipeline not found: {missing}" in result.err
    assert "kfp-tabular compile" in result.err


def test_a_file_that_is_not_a_compiled_pipeline(cli, churn, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("kind: Deployment\n")
    result = cli("submit", str(other), "--host", "http://127.0.0.1:9", "-f", churn)
    assert result.code == 2
    assert f"{other} is not a compiled KFP pipeline" in result.err


@pytest.mark.parametrize(
    ("name", "text", "messages"),
    [
        (
            "wrong_type.yaml",
            CHURN_PARAMS.replace("seed: 7", "seed: seven"),
            ["parameter 'seed' expects NUMBER_INTEGER (an integer)", '"seven" (text)'],
        ),
        (
            "number_for_text.yaml",
            CHURN_PARAMS.replace('positive_label: "Yes"', "positive_label: 1"),
            ["'positive_label' expects STRING (text)", "got 1 (integer)", 'in quotes, e.g. "1"'],
        ),
        (
            "text_for_list.json",
            '{"data_uri": "d", "target": "t", "positive_label": "1", "id_columns": "a,b"}',
            ["'id_columns' expects LIST (a list)", '"a,b" (text)'],
        ),
        (
            "unknown.yaml",
            CHURN_PARAMS + "sed: 3\n",
            [
                "unknown parameter 'sed' (did you mean 'seed'?)",
                "takes: canary_percent, categorical_columns, champion_uri, contract_uri",
            ],
        ),
        (
            "null.yaml",
            CHURN_PARAMS + "time_column:\n",
            ["'time_column' is null", "leave the key out to keep the default"],
        ),
        (
            "syntax.yaml",
            "data_uri: d\ntarget: [unclosed\npositive_label: x\n",
            ["YAML syntax error at line 3"],
        ),
        (
            "syntax.json",
            '{\n  "data_uri": "d",\n  "target": \n}\n',
            ["JSON syntax error at line 4"],
        ),
        ("list.yaml", "- data_uri\n", ["expected a mapping of parameter names to values"]),
        (
            "missing.yaml",
            "data_uri: d\n",
            ["missing required parameters of train-and-rollout: positive_label (STRING), target"],
        ),
    ],
)
def test_bad_parameter_file(cli, params_file, name, text, messages):
    path = params_file(name, text)
    result = cli("submit", "--host", "http://127.0.0.1:9", "-f", str(path))
    assert result.code == 2
    if name != "missing.yaml":
        assert f"parameter file {path}" in result.err
    for message in messages:
        assert message in result.err, result.err


def test_bad_param_override_names_key_type_and_value(cli, churn):
    result = cli("submit", "--host", "http://127.0.0.1:9", "-f", churn, "--param", "seed=1.5")
    assert result.code == 2
    assert "--param seed=1.5: parameter 'seed' expects NUMBER_INTEGER" in result.err
    result = cli("submit", "--host", "http://127.0.0.1:9", "-f", churn, "--param", "seed")
    assert result.code == 2
    assert "expected KEY=VALUE" in result.err


def test_usage_errors_exit_2(cli):
    assert cli("submit", "--timeout", "5").code == 2  # --timeout without --wait
    assert cli("submit", "--bogus").code == 2
    assert cli("nonsense").code == 2
    assert cli().code == 2
    help_result = cli("--help")
    assert help_result.code == 0
    for command in ("compile", "run", "submit", "schedule", "serve", "drift"):
        assert f"  {command} " in help_result.out


def test_serve_and_drift_say_when_their_module_is_missing(cli, monkeypatch):
    # None in sys.modules makes the import fail as if the module did not exist.
    monkeypatch.setitem(sys.modules, "serving.__main__", None)
    monkeypatch.setitem(sys.modules, "components.drift.cli", None)
    result = cli("serve", "--model_dir", "/tmp/bundle")
    assert result.code == 2
    assert "serving.__main__ is not available" in result.err
    result = cli("drift", "--help")
    assert result.code == 2
    assert "components.drift.cli is not available" in result.err


def test_serve_and_drift_hand_their_arguments_over(cli, monkeypatch):
    seen: dict[str, list[str]] = {}
    serving_main = types.ModuleType("serving.__main__")
    serving_main.main = lambda: seen.update(serve=list(sys.argv))  # type: ignore[attr-defined]
    drift_cli = types.ModuleType("components.drift.cli")
    drift_cli.main = lambda argv: seen.update(drift=argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "serving.__main__", serving_main)
    monkeypatch.setitem(sys.modules, "components.drift.cli", drift_cli)
    argv_before = list(sys.argv)
    assert cli("serve", "--model_dir", "/b", "--http_port", "8081").code == 0
    assert seen["serve"] == ["kfp-tabular serve", "--model_dir", "/b", "--http_port", "8081"]
    assert sys.argv == argv_before  # restored
    assert cli("drift", "--reference", "r").code == 0
    assert seen["drift"] == ["--reference", "r"]
