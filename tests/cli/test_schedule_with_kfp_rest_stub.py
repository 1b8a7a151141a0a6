"""``kfp-tabular schedule`` through the real kfp.Client 2.17 against KfpRestStub (a REST stub)."""

from __future__ import annotations

from tests.cli.conftest import CHURN_PARAMS
from tests.cli.kfp_stub import API


def test_schedule_converts_cron_and_sends_spec_parameters_and_limits(
    stub, cli, params_file, compiled_spec
):
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli(
        "schedule",
        "--host",
        stub.url,
        "-f",
        str(path),
        "-e",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--name",
        "nightly-churn",
        "--description",
        "retrain every night",
        "--max-concurrency",
        "3",
        "--start-time",
        "2025-02-01T00:00:00Z",
        "--end-time",
        "2025-12-31 23:00",  # no zone: UTC
        "--no-catchup",
    )
    assert result.code == 0, result.err
    # create_recurring_run is one request; the experiment id comes from create_experiment.
    assert stub.calls() == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/experiments"),
        ("POST", f"{API}/recurringruns"),
    ]
    (experiment_id,) = stub.experiments
    (body,) = stub.bodies("POST", f"{API}/recurringruns")
    assert body["pipeline_spec"] == compiled_spec
    assert body["runtime_config"] == {
        "parameters": {
            "data_uri": "gs://bucket/churn.csv",
            "target": "Churn",
            "positive_label": "Yes",
            "id_columns": ["customerID"],
            "seed": 7,
        }
    }
    assert body["trigger"] == {
        "cron_schedule": {
            "start_time": "2025-02-01T00:00:00Z",
            "end_time": "2025-12-31T23:00:00Z",
            "cron": "0 0 2 * * *",  # 5 fields -> KFP's 6, seconds first
        }
    }
    assert body["max_concurrency"] == 3
    assert body["experiment_id"] == experiment_id
    assert body["display_name"] == "nightly-churn"
    assert body["description"] == "retrain every night"
    assert body["mode"] == "ENABLE"
    assert body["no_catchup"] is True
    (recurring_run_id,) = stub.recurring_runs
    assert f"recurring_run_id: {recurring_run_id}" in result.out
    assert "status: ENABLED" in result.out
    assert "sent as '0 0 2 * * *'" in result.err


def test_six_field_cron_is_sent_unchanged_and_disable_creates_it_disabled(stub, cli, params_file):
    path = params_file("p.yaml", CHURN_PARAMS)
    result = cli(
        "schedule",
        "--host",
        stub.url,
        "-f",
        str(path),
        "--cron",
        "30 0 */6 * * MON-FRI",
        "--disable",
    )
    assert result.code == 0, result.err
    (body,) = stub.bodies("POST", f"{API}/recurringruns")
    assert body["trigger"] == {"cron_schedule": {"cron": "30 0 */6 * * MON-FRI"}}
    assert body["mode"] == "DISABLE"
    assert body["max_concurrency"] == 1
    assert "no_catchup" not in body  # left to the server's default
    assert body["display_name"] == "train-and-rollout 30 0 */6 * * MON-FRI"
    assert "status: DISABLED" in result.out


def test_bad_schedules_are_refused_before_anything_is_sent(stub, cli, params_file):
    path = params_file("p.yaml", CHURN_PARAMS)
    base = ("schedule", "--host", stub.url, "-f", str(path))
    cases = {
        ("--cron", "0 2 * *"): "expected 5 fields",
        ("--cron", "61 2 * * *"): "minute '61' is out of range (0-59)",
        ("--cron", "0 2 * * 7"): "day-of-week '7' is out of range (0-6 or SUN-SAT)",
        ("--cron", "@fortnightly"): "unknown descriptor",
        ("--cron", "@daily", "--max-concurrency", "11"): "KFP accepts 1 to 10",
        ("--cron", "@daily", "--start-time", "tomorrow"): "expected an ISO 8601 time",
        (
            "--cron",
            "@daily",
            "--start-time",
            "2025-02-01",
            "--end-time",
            "2025-01-01",
        ): "is not after --start-time",
    }
    for args, message in cases.items():
        result = cli(*base, *args)
        assert result.code == 2, args
        assert message in result.err, (args, result.err)
    assert stub.requests == []
    result = cli(*base, "--cron", "@daily", "--enable", "--disable")
    assert result.code == 2
    assert "not allowed with argument" in result.err


def test_schedule_keeps_the_compiled_caching_or_turns_it_off(stub, cli, params_file, compiled_spec):
    path = params_file("p.yaml", CHURN_PARAMS)
    common = ("schedule", "--host", stub.url, "-f", str(path), "--cron", "@daily")
    assert cli(*common).code == 0, "default: as compiled"
    assert cli(*common, "--no-caching").code == 0
    compiled, off = (body["pipeline_spec"] for body in stub.bodies("POST", f"{API}/recurringruns"))
    assert compiled == compiled_spec
    featurize = off["pipeline_spec"]["root"]["dag"]["tasks"]["featurize"]
    assert compiled["pipeline_spec"]["root"]["dag"]["tasks"]["featurize"]["cachingOptions"] == {
        "enableCache": True
    }
    assert featurize["cachingOptions"] == {}
