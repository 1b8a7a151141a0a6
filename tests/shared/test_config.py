"""components._shared.config: one declaration per parameter, read by KFP values and the CLI."""

from __future__ import annotations

import argparse

import pytest

from components._shared.config import add_arguments, values_from_namespace
from components._shared.errors import ConfigError
from components.drift.config import DriftConfig
from components.featurize.config import FeaturizeConfig
from components.gate.config import GateConfig


def test_parameters_carry_type_default_and_meaning_in_declaration_order() -> None:
    declared = {p.name: p for p in GateConfig.parameters()}
    min_auc = declared["min_auc"]
    assert (min_auc.type, min_auc.default) == (float, 0.75)
    assert min_auc.help.startswith("Floor on test AUC")
    required = [p.name for p in DriftConfig.parameters() if p.required]
    assert required == ["bundle_uri", "current_uri"]
    assert not hasattr(DriftConfig.defaults(), "bundle_uri")
    assert DriftConfig.defaults().sample_rows == 2000


def test_kfp_values_are_brought_to_the_declared_type() -> None:
    # KFP passes an int pipeline value to a float parameter as it is, and numbers inside a
    # list or dict as doubles; whole doubles become ints only where an int is declared.
    config = FeaturizeConfig.from_parameters({"valid_fraction": 0.2, "seed": 7.0})
    assert config.seed == 7 and type(config.seed) is int
    gate = GateConfig.from_parameters({"min_auc": 1, "slice_columns": ("gender",)})
    assert gate.min_auc == 1.0 and type(gate.min_auc) is float
    assert gate.slice_columns == ["gender"]


def test_every_problem_is_named_at_once_with_what_came_in() -> None:
    with pytest.raises(ConfigError) as caught:
        GateConfig.from_parameters({"seed": 4.5, "min_auc": float("nan"), "confidence": "high"})
    message = str(caught.value)
    assert message.startswith("gate config: ")
    assert "seed: expected an integer, got float 4.5" in message
    assert "min_auc: expected a finite number, got nan" in message
    assert "confidence: expected a number, got str 'high'" in message


def test_an_unknown_name_suggests_the_close_match() -> None:
    with pytest.raises(ConfigError, match=r"unknown parameter 'min_acu'; did you mean 'min_auc'"):
        GateConfig.from_parameters({"min_acu": 0.8})


def test_configs_are_frozen_and_list_defaults_are_not_shared() -> None:
    a, b = GateConfig(), GateConfig()
    a.slice_columns.append("gender")
    assert b.slice_columns == []
    with pytest.raises(AttributeError):
        a.min_auc = 0.9  # type: ignore[misc]


def test_cli_options_take_their_defaults_and_help_from_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, GateConfig, ["min_auc", "require_improvement", "slice_columns"])
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["min_auc"].endswith("(default: 0.75)")
    defaults = values_from_namespace(parser.parse_args([]), GateConfig)
    assert defaults == {"min_auc": 0.75, "require_improvement": False, "slice_columns": []}
    given = parser.parse_args(
        ["--min-auc", "0.8", "--require-improvement", "--slice-columns", '["gender"]']
    )
    assert GateConfig.from_parameters(values_from_namespace(given, GateConfig)).min_auc == 0.8
    assert given.slice_columns == ["gender"]


def test_a_cli_list_that_is_not_json_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, GateConfig, ["slice_columns"])
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--slice-columns", "gender,Partner"])
    assert exited.value.code == 2
    assert "slice_columns: expected a list as JSON" in capsys.readouterr().err


def test_a_required_parameter_is_a_required_option() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser, DriftConfig, ["bundle_uri", "current_uri"])
    with pytest.raises((argparse.ArgumentError, SystemExit)):
        parser.parse_args(["--bundle-uri", "b"])
