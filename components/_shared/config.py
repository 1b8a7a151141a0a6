"""One config dataclass per component: every parameter, its type, default and meaning, once.

A component's ``config.py`` declares one frozen dataclass whose fields are built with
:func:`param`::

    @dataclass(frozen=True)
    class GateConfig(ComponentConfig):
        min_auc: float = param(0.75, "Floor on test AUC, met by its DeLong lower bound.")

        def problems(self) -> list[str]:
            return [] if 0 <= self.min_auc <= 1 else [expected_got("min_auc", "[0, 1]", ...)]

Everything else is derived from or checked against that one declaration: the KFP signature
(lightweight components copy only their own source, so the literals stay there and a test keeps
them equal), the pipeline defaults (pipelines read them from the class), the command-line options
(:func:`add_arguments`) and the README tables (``kfp-tabular docs``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import json
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, Self

from components._shared.errors import ConfigError, expected_got

HELP: typing.Final = "help"


def param(default: Any = MISSING, help: str = "") -> Any:
    """A config field: its default (``MISSING`` for a required one) and its one-line meaning.

    A list or dict default is copied for every instance (a dataclass ``default_factory``).
    """
    if not help.strip():
        raise ValueError("param(): every parameter needs a one-line meaning (help)")
    metadata = {HELP: help.strip()}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Parameter:
    """One declared parameter, as the signature, the CLI and the README tables show it."""

    name: str
    type: type
    default: Any  # dataclasses.MISSING when required
    help: str

    @property
    def required(self) -> bool:
        """True when the parameter has no default."""
        return self.default is MISSING

    @property
    def type_name(self) -> str:
        """The KFP signature's type name (``str``, ``int``, ``float``, ``bool``, ``list``, ``dict``)."""
        return self.type.__name__

    def default_text(self) -> str:
        """The default as a reader of a README table would write it (JSON)."""
        return "(required)" if self.required else json.dumps(self.default)


class ComponentConfig:
    """Base of every component config: construction from KFP values, checks, plain JSON.

    Subclasses are frozen dataclasses of :func:`param` fields and override :meth:`problems`
    to return every problem at once (a user fixes all of them in one go).
    """

    #: The component's name, used in error messages ("gate config: ...").
    component: ClassVar[str] = ""

    def __post_init__(self) -> None:
        problems = _type_problems(self) or self.problems()
        if problems:
            raise ConfigError(f"{self.component} config: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every value that is out of range, each as an ``expected_got`` line; none by default."""
        return []

    @classmethod
    def parameters(cls) -> list[Parameter]:
        """The declared parameters in declaration order."""
        hints = typing.get_type_hints(cls)
        found = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if not f.init:
                continue
            default = f.default
            if f.default_factory is not MISSING:
                default = f.default_factory()
            found.append(Parameter(f.name, _plain_type(hints[f.name]), default, f.metadata[HELP]))
        return found

    @classmethod
    def defaults(cls) -> SimpleNamespace:
        """The declared defaults by name (``GateConfig.defaults().min_auc``); required ones left
        out. Pipelines read their parameters' defaults from here, so each is written once."""
        return SimpleNamespace(**{p.name: p.default for p in cls.parameters() if not p.required})

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> Self:
        """The config from flat parameter values as KFP (or a CLI) passes them.

        KFP hands a pipeline's ``int`` parameter to a ``float`` one as it is and every number
        inside a ``list``/``dict`` as a double; values are brought to the declared type here,
        once. An unknown name is an error that suggests the close match.
        """
        declared = {p.name: p for p in cls.parameters()}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise ConfigError(
                f"{cls.component} config: "
                + "; ".join(_unknown(name, declared) for name in unknown)
            )
        converted = {name: _convert(declared[name], value) for name, value in values.items()}
        return cls(**converted)

    def to_dict(self) -> dict[str, Any]:
        """The values as plain JSON (for records such as the blessing and the lineage)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]


def _plain_type(hint: Any) -> type:
    origin = typing.get_origin(hint)
    plain = origin if origin is not None else hint
    if plain not in (str, int, float, bool, list, dict):
        raise TypeError(f"config fields take str, int, float, bool, list or dict; got {hint!r}")
    return plain  # type: ignore[no-any-return]


def _unknown(name: str, declared: Mapping[str, Parameter]) -> str:
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown parameter {name!r}{hint} (known: {', '.join(declared)})"


def _convert(parameter: Parameter, value: Any) -> Any:
    """KFP's representation of a value brought to the declared type (only lossless steps)."""
    if parameter.type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if parameter.type is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if parameter.type is list and isinstance(value, tuple):
        return list(value)
    if parameter.type is dict and isinstance(value, Mapping):
        return dict(value)
    return value


def _type_problems(config: ComponentConfig) -> list[str]:
    problems = []
    for parameter in type(config).parameters():
        value = getattr(config, parameter.name)
        expected = parameter.type
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True  # an int where a float is declared is exact; from_parameters converts it
        if ok and isinstance(value, float) and not math.isfinite(value):
            problems.append(expected_got(parameter.name, "a finite number", repr(value)))
        elif not ok:
            problems.append(
                expected_got(
                    parameter.name, _TYPE_WORDS[expected], f"{type(value).__name__} {value!r}"
                )
            )
    return problems


_TYPE_WORDS: dict[type, str] = {
    str: "text",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


# --- command-line options -------------------------------------------------------------------


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config: type[ComponentConfig],
    names: Iterable[str] | None = None,
    *,
    prefix: str = "",
    aliases: Mapping[str, str] | None = None,
) -> None:
    """``--<prefix><name>`` options for config parameters, with the config's default and help.

    Lists and dicts are read as JSON (``--columns '["tenure"]'``); booleans as
    ``--name/--no-name``. The parsed value lands in ``dest`` ``<prefix><name>`` with ``-`` as
    ``_``; :func:`values_from_namespace` collects them back. ``aliases`` maps a parameter name
    to a second spelling of its option (``{"bundle_uri": "--bundle"}``), e.g. one a command
    accepted before it was generated from the config.
    """
    wanted = set(names) if names is not None else None
    for parameter in config.parameters():
        if wanted is not None and parameter.name not in wanted:
            continue
        flag = "--" + (prefix + parameter.name).replace("_", "-")
        alias = (aliases or {}).get(parameter.name)
        flags = [flag, alias] if alias else [flag]
        dest = (prefix + parameter.name).replace("-", "_")
        default_words = "" if parameter.required else f" (default: {parameter.default_text()})"
        help_text = parameter.help + default_words
        if parameter.type is bool:
            parser.add_argument(
                *flags,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=parameter.default,
                help=help_text,
            )
            continue
        kwargs: dict[str, Any] = {"dest": dest, "help": help_text, "type": _cli_reader(parameter)}
        if parameter.required:
            kwargs["required"] = True
        else:
            kwargs["default"] = parameter.default
        parser.add_argument(*flags, **kwargs)


def values_from_namespace(
    namespace: argparse.Namespace,
    config: type[ComponentConfig],
    names: Iterable[str] | None = None,
    *,
    prefix: str = "",
) -> dict[str, Any]:
    """The config values :func:`add_arguments` parsed, by parameter name."""
    wanted = set(names) if names is not None else None
    found = {}
    for parameter in config.parameters():
        if wanted is not None and parameter.name not in wanted:
            continue
        dest = (prefix + parameter.name).replace("-", "_")
        if hasattr(namespace, dest):
            found[parameter.name] = getattr(namespace, dest)
    return found


def _cli_reader(parameter: Parameter) -> Callable[[str], Any]:
    if parameter.type in (list, dict):
        expected = parameter.type

        def read_json(text: str) -> Any:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, expected):
                raise argparse.ArgumentTypeError(
                    expected_got(parameter.name, f"{_TYPE_WORDS[expected]} as JSON", repr(text))
                )
            return value

        return read_json
    return parameter.type
