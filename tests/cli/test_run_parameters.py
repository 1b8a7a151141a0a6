"""``kfp-tabular run`` takes the parameters ``submit`` takes, from the same code (params.py),
checked against the same spec: nothing runs here, only the arguments are built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfp_tabular import local_run, package, params, submit
from kfp_tabular.errors import CliError
from tests.cli.conftest import CHURN_PARAMS, COMPILED


def arguments(*argv: str) -> dict:
    return local_run.pipeline_arguments(local_run.parse_args(list(argv)))


def test_run_and_submit_share_the_parameter_options() -> None:
    def parameter_options(parser) -> set[str]:
        (group,) = [g for g in parser._action_groups if g.title == "pipeline parameters"]
        return {o for action in group._group_actions for o in action.option_strings}

    run_parser = local_run.argparse.ArgumentParser()
    params.add_arguments(run_parser)
    assert parameter_options(submit.build_parser()) == {"-f", "--params-file", "--param"}
    assert parameter_options(submit.build_parser()) == parameter_options(run_parser)
    parsed = local_run.parse_args(["-f", "p.yaml", "--param", "seed=3", "--param", "a=b"])
    assert (parsed.params_file, parsed.param) == (Path("p.yaml"), ["seed=3", "a=b"])


def test_run_checks_against_the_same_spec_submit_sends() -> None:
    in_memory = package.from_registry("train_and_rollout")
    compiled = package.load_spec(COMPILED)["root"]["inputDefinitions"]["parameters"]
    assert in_memory.parameters == compiled


def test_file_then_options_then_param_and_the_preset_fills_the_data(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(CHURN_PARAMS + "gate_min_auc: 0.8\ninteractions: []\n")
    got = arguments("-f", str(path), "--seed", "8", "--param", "gate_min_auc=0.7")
    assert got == {
        "data_uri": "gs://bucket/churn.csv",  # the file names the data: no preset
        "target": "Churn",
        "positive_label": "Yes",
        "id_columns": ["customerID"],
        "seed": 8,  # --seed over the file's 7
        "gate_min_auc": 0.7,  # --param over the file
        "interactions": [],
    }
    telco = arguments("--param", "test_fraction=0.2", "--param", "deploy_strategy=shadow")
    assert telco == {
        **local_run.PRESETS["telco"],
        "test_fraction": 0.2,
        "deploy_strategy": "shadow",
    }
    adult = arguments("--preset", "adult", "--param", "valid_fraction=0.1")
    assert adult["target"] == "income" and adult["valid_fraction"] == 0.1
    # Today's convenience options keep working, and are typed the same way.
    own = arguments(
        "--data", "d.csv", "--target", "y", "--positive-label", "1", "--id-columns", "a, b"
    )
    assert own == {
        "data_uri": "d.csv",
        "target": "y",
        "positive_label": "1",
        "id_columns": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--param", "gate_min_auk=0.8"],
            "unknown parameter 'gate_min_auk' (did you mean 'gate_min_auc'?)",
        ),
        (["--param", "seed=seven"], "parameter 'seed' expects NUMBER_INTEGER (an integer)"),
        (["--param", "rollout_steps=[10, 50"], "parameter 'rollout_steps' expects LIST"),
        (["--data", "d.csv", "--target", "y"], "positive_label (STRING, --positive-label)"),
        (
            ["--param", "train_memory_limit=8GB", "--param", "ops_cpu_limit=1 CPU"],
            "parameter 'ops_cpu_limit' sets a task's resources: expected a CPU quantity such as "
            "\"2\" or \"1500m\", got '1 CPU'; parameter 'train_memory_limit' sets a task's "
            "resources: expected a memory quantity",
        ),
    ],
)
def test_bad_parameters_are_refused_as_submit_refuses_them(argv: list[str], message: str) -> None:
    with pytest.raises(CliError, match=re.escape(message)):
        arguments(*argv)


def test_a_bad_file_value_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("positive_label: 1\n")
    with pytest.raises(
        CliError, match=r"parameter file .*p.yaml: parameter 'positive_label' expects STRING"
    ):
        arguments("-f", str(path))
    assert local_run.main(["-f", str(path)]) == 2
