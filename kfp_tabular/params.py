"""Pipeline parameters from a YAML or JSON file plus ``--param key=value``, checked against the spec.

The compiled PipelineSpec declares each root parameter's type in ``inputDefinitions``; checking
the values here, before anything is sent, turns a run that would fail minutes later in the
cluster into an error that names the key, the expected type and the value.

File values must already have the declared type (YAML ``seed: 7`` is an integer,
``positive_label: "1"`` is text). ``--param`` values are text on the command line, so they are
read as the declared type: ``--param seed=7``, ``--param id_columns='[customerID]'``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from kfp_tabular.errors import CliError
from kfp_tabular.package import Package

# PipelineSpec ParameterType -> what it means to a person writing a parameter file.
EXPECTED = {
    "STRING": "text",
    "NUMBER_INTEGER": "an integer",
    "NUMBER_DOUBLE": "a number",
    "BOOLEAN": "true or false",
    "LIST": "a list",
    "STRUCT": "a mapping",
}
# What the KFP SDK accepts for a constant resource (pipeline_task.py), applied here to the
# parameters that set one: the driver would refuse the value only when the task starts.
QUANTITIES = {
    "resourceCpuRequest": (r"([0-9]*[.])?[0-9]+m?", 'a CPU quantity such as "1" or "500m"'),
    "resourceCpuLimit": (r"([0-9]*[.])?[0-9]+m?", 'a CPU quantity such as "2" or "1500m"'),
    "resourceMemoryRequest": (
        r"[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?",
        'a memory quantity such as "512Mi" or "4Gi"',
    ),
    "resourceMemoryLimit": (
        r"[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?",
        'a memory quantity such as "512Mi" or "4Gi"',
    ),
    "resourceCount": (r"[0-9]+", 'a whole number of accelerators such as "1"'),
}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--params-file`` and repeatable ``--param``."""
    group = parser.add_argument_group("pipeline parameters")
    group.add_argument(
        "-f",
        "--params-file",
        type=Path,
        help="YAML or JSON mapping of parameter names to values",
    )
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one parameter, read as its declared type; overrides the file; repeatable",
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "text",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def load_file(path: Path) -> dict[str, Any]:
    """The mapping in a parameter file; syntax errors name the line and column."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"parameter file {path}: cannot read it ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"parameter file {path}: JSON syntax error at line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CliError(f"parameter file {path}: YAML syntax error{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CliError(
            f"parameter file {path}: expected a mapping of parameter names to values, "
            f"got {_type_name(data)}"
        )
    return {str(key): value for key, value in data.items()}


def check_value(value: Any, declared: str) -> Any:
    """``value`` if it has the declared type (integral floats become ints), else ValueError."""
    ok = {
        "STRING": isinstance(value, str),
        "NUMBER_INTEGER": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
        "NUMBER_DOUBLE": isinstance(value, int | float) and not isinstance(value, bool),
        "BOOLEAN": isinstance(value, bool),
        "LIST": isinstance(value, list),
        "STRUCT": isinstance(value, dict),
    }.get(declared, True)  # a type this code does not know: let the server judge
    if not ok:
        raise ValueError(declared)
    if declared == "NUMBER_INTEGER" and isinstance(value, float):
        return int(value)  # JSON writes 7.0 for 7 in places; lossless, so not a coercion
    return value


def parse_override(text: str, declared: str | None) -> Any:
    """The value of ``--param key=<text>`` read as the declared type, or ValueError."""
    if declared in (None, "STRING"):
        return text
    if declared == "NUMBER_INTEGER":
        return int(text)
    if declared == "NUMBER_DOUBLE":
        return float(text)
    if declared == "BOOLEAN":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(declared)
    # LIST / STRUCT: YAML flow syntax, a superset of JSON ("[a, b]", '{"k": 1}').
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError(declared) from None


def _describe(spec: dict[str, Any]) -> str:
    default = spec.get("defaultValue")
    declared = spec.get("parameterType", "?")
    return declared if default is None else f"{declared}, default {json.dumps(default)}"


def _unknown(origin: str, key: str, package: Package) -> CliError:
    known = sorted(package.parameters)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return CliError(
        f"{origin}: unknown parameter {key!r}{hint}; pipeline {package.name} takes: "
        + ", ".join(known)
    )


def _wrong_type(origin: str, key: str, declared: str, value: Any) -> CliError:
    hint = ' (write it in quotes, e.g. "1", for text)' if declared == "STRING" else ""
    return CliError(
        f"{origin}: parameter {key!r} expects {declared} ({EXPECTED.get(declared, declared)}) "
        f"per the pipeline's inputDefinitions, got {json.dumps(value, default=str)} "
        f"({_type_name(value)}){hint}"
    )


def build(
    package: Package,
    params_file: Path | None,
    overrides: list[str],
    *,
    given: dict[str, tuple[str, Any]] | None = None,
    preset: dict[str, Any] | None = None,
    options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The run's parameters: the file, then ``given``, then ``--param`` overrides, each checked
    against the spec; ``submit``, ``schedule`` and ``run`` all take them from here.

    ``given`` maps a parameter to (the option that set it, its value): ``kfp-tabular run``'s
    convenience options (``--seed 7`` is ``seed``). ``preset`` (``run --preset``) fills the
    parameters the others left out, unless they set ``data_uri``: a preset is data and its
    columns together. ``options`` names the command's own option for a parameter, for the
    message about missing ones. Parameters left out keep the pipeline's defaults (they are not sent); a
    required parameter (no default) that is missing is an error listing all of them.
    """
    arguments: dict[str, Any] = {}
    if params_file is not None:
        origin = f"parameter file {params_file}"
        for key, value in load_file(params_file).items():
            arguments[key] = _checked(package, origin, key, value)
    for key, (option, value) in (given or {}).items():
        arguments[key] = _checked(package, option, key, value)
    for override in overrides:
        key, value = _override(package, override)
        arguments[key] = value
    if preset and "data_uri" not in arguments:
        arguments = {**preset, **arguments}
    _check_quantities(package, arguments)
    named = options or {}
    missing = [
        f"{key} ({', '.join([spec.get('parameterType', '?'), *named.get(key, '').split()])})"
        for key, spec in sorted(package.parameters.items())
        if key not in arguments and "defaultValue" not in spec and not spec.get("isOptional")
    ]
    if missing:
        raise CliError(
            f"missing required parameters of {package.name}: {', '.join(missing)}; set them in "
            "--params-file or with --param KEY=VALUE"
        )
    return arguments


def _checked(package: Package, origin: str, key: str, value: Any) -> Any:
    """``value`` of parameter ``key``, checked against its declared type."""
    declared = package.parameters
    if key not in declared:
        raise _unknown(origin, key, package)
    expected = declared[key].get("parameterType", "")
    if value is None:
        raise CliError(
            f"{origin}: parameter {key!r} is null; give a value of type {expected} or "
            f"leave the key out to keep the default ({_describe(declared[key])})"
        )
    try:
        return check_value(value, expected)
    except ValueError:
        raise _wrong_type(origin, key, expected, value) from None


def _override(package: Package, override: str) -> tuple[str, Any]:
    """(key, value) of one ``--param KEY=VALUE``, the text read as the declared type."""
    key, sep, text = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(f"--param {override!r}: expected KEY=VALUE")
    origin = f"--param {override}"
    if key not in package.parameters:
        raise _unknown(origin, key, package)
    expected = package.parameters[key].get("parameterType", "")
    try:
        return key, check_value(parse_override(text, expected), expected)
    except ValueError:
        raise _wrong_type(origin, key, expected, text) from None


def resource_parameters(package: Package) -> dict[str, tuple[str, str]]:
    """Parameter -> (pattern, what it must be) for every parameter that sets a task's CPU,
    memory or accelerator count in the spec's executors."""
    found: dict[str, tuple[str, str]] = {}
    executors = package.spec.get("deploymentSpec", {}).get("executors", {})
    for executor in executors.values():
        resources = dict(executor.get("container", {}).get("resources") or {})
        resources.update(resources.pop("accelerator", None) or {})
        for field, value in resources.items():
            match = re.fullmatch(
                r"\{\{\$\.inputs\.parameters\['pipelinechannel--(\w+)'\]\}\}", str(value)
            )
            if match and field in QUANTITIES:
                found[match.group(1)] = QUANTITIES[field]
    return found


def _check_quantities(package: Package, arguments: dict[str, Any]) -> None:
    """A resource parameter's value must parse as what it sets (every problem at once)."""
    problems = [
        f"parameter {key!r} sets a task's resources: expected {what}, got {arguments[key]!r}"
        for key, (pattern, what) in sorted(resource_parameters(package).items())
        if key in arguments and not re.fullmatch(pattern, str(arguments[key]))
    ]
    if problems:
        raise CliError("; ".join(problems))
