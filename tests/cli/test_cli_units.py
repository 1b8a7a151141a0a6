"""Units of the remote subcommands: cron conversion, masking, parameter reading, the wait loop."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from kfp_tabular.cron import rfc3339, to_kfp_cron
from kfp_tabular.errors import CliError
from kfp_tabular.params import parse_override
from kfp_tabular.progress import Progress, duration
from kfp_tabular.redact import Redactor, secrets_in_argv
from kfp_tabular.watch import WaitOptions, wait_for_run


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("0 2 * * *", "0 0 2 * * *"),  # 02:00 daily; as is, KFP would read minute 2 hourly
        ("*/15 * * * *", "0 */15 * * * *"),
        ("0 9 * * MON-FRI", "0 0 9 * * MON-FRI"),
        ("30  0  3 1,15 * ?", "30 0 3 1,15 * ?"),  # six fields: unchanged, spaces normalised
        ("@daily", "@daily"),
        ("@every 6h30m", "@every 6h30m"),
    ],
)
def test_cron_is_sent_as_six_fields_with_seconds_first(given, sent):
    assert to_kfp_cron(given)[0] == sent


def test_cron_conversion_is_announced_only_when_it_happens():
    assert "sent as '0 0 2 * * *'" in to_kfp_cron("0 2 * * *")[1]
    assert to_kfp_cron("0 0 2 * * *")[1] == ""


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("* * * *", "got 4"),
        ("0 24 * * *", "hour '24' is out of range (0-23)"),
        ("0 2 0 * *", "day-of-month '0' is out of range (1-31)"),
        ("0 2 * 13 *", "month '13' is out of range (1-12 or JAN-DEC)"),
        ("0 2 * * 1-7", "day-of-week '7'"),
        ("*/0 * * * *", "step '0' must be a positive integer"),
        ("0 5-2 * * *", "runs backwards"),
        ("? 2 * * *", "'?' is allowed only in day-of-month and day-of-week"),
    ],
)
def test_bad_cron_names_the_field(given, message):
    with pytest.raises(CliError) as info:
        to_kfp_cron(given)
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_times_become_rfc3339_utc():
    assert rfc3339("--start-time", "2025-02-01T03:00:00+02:00") == "2025-02-01T01:00:00Z"
    assert rfc3339("--start-time", "2025-02-01") == "2025-02-01T00:00:00Z"
    assert rfc3339("--start-time", None) is None


def test_redactor_masks_registered_secrets_and_bearer_values():
    redactor = Redactor()
    redactor.add("abc.def")
    redactor.add("")  # ignored: masking "" would mask everything
    text = "token abc.def; headers {'Authorization': 'Bearer other-token'}"
    assert redactor.mask(text) == "token ***; headers {'Authorization': 'Bearer ***'}"


def test_secrets_are_found_in_argv_before_parsing():
    argv = ["--host", "h", "--token", "t1", "--tok=t2", "--tokn", "t3", "--param", "x=1"]
    assert secrets_in_argv(argv) == ["t1", "t2", "t3"]


@pytest.mark.parametrize(
    ("text", "declared", "value"),
    [
        ("7", "NUMBER_INTEGER", 7),
        ("0.5", "NUMBER_DOUBLE", 0.5),
        ("yes", "BOOLEAN", True),
        ("[a, b]", "LIST", ["a", "b"]),
        ('{"C": 0.1}', "STRUCT", {"C": 0.1}),
        ("007", "STRING", "007"),
    ],
)
def test_param_overrides_are_read_as_the_declared_type(text, declared, value):
    assert parse_override(text, declared) == value


def test_duration_is_short():
    assert [duration(s) for s in (1.25, 42, 185, 7260)] == ["1.2s", "42s", "3m05s", "2h01m"]


def test_wait_prints_a_heartbeat_while_nothing_changes():
    clock = iter(range(0, 1000, 100))  # each poll is 100 s later
    states = iter(["RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"])
    err = io.StringIO()
    progress = Progress(
        Redactor(), out=io.StringIO(), err=err, now=lambda: "T", clock=lambda: next(clock)
    )
    code = wait_for_run(
        lambda run_id: SimpleNamespace(state=next(states), error=None),
        "r-1",
        progress,
        WaitOptions(poll_seconds=0, heartbeat_seconds=250),
        sleep=lambda seconds: None,
    )
    assert code == 0
    assert err.getvalue().splitlines() == [
        "T  run r-1 RUNNING (+1m40s)",
        "T  run r-1 still RUNNING (+6m40s)",  # 300 s unchanged >= 250
        "T  run r-1 SUCCEEDED (+8m20s)",
    ]


def test_wait_retries_transient_server_errors_and_stops_on_client_errors():
    from kfp_server_api import ApiException

    answers = iter([ApiException(status=503), ApiException(status=502), "SUCCEEDED"])

    def get_run(run_id: str) -> SimpleNamespace:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(state=answer, error=None)

    err = io.StringIO()
    progress = Progress(Redactor(), out=io.StringIO(), err=err, now=lambda: "T")
    options = WaitOptions(poll_seconds=0)
    assert wait_for_run(get_run, "r-1", progress, options, sleep=lambda s: None) == 0
    assert err.getvalue().count("retrying") == 2

    def deleted(run_id: str) -> None:
        raise ApiException(status=404)

    with pytest.raises(ApiException):
        wait_for_run(deleted, "r-1", progress, options, sleep=lambda s: None)
