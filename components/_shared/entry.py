"""The one executor contract: a component's arguments sorted into inputs, outputs and config.

Every executor module has the same parts, named the same way::

    @dataclass(frozen=True)
    class GateInputs:            # the input artifacts (and input URIs that are data, not knobs)
    @dataclass(frozen=True)
    class GateOutputs:           # the output artifacts and output paths
    def compute(...) -> Result   # the pure part: data in, result out (no artifact paths)
    def write(result, outputs)   # the part that writes the outputs (each atomically)
    def run(inputs, outputs, config) -> Result   # the typed entry: read, compute, write
    def main(arguments) -> ...   # what component.py calls with its arguments

``component.py`` hands over ``dict(locals())`` (every parameter by name, taken before anything
else is bound) and :func:`sort_arguments` splits them by the three dataclasses, so a parameter
is declared in the signature and in exactly one of them; ``tests/test_component_shape.py``
checks that the two agree, default for default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from components._shared.config import ComponentConfig

InputsT = TypeVar("InputsT")
OutputsT = TypeVar("OutputsT")
ConfigT = TypeVar("ConfigT", bound=ComponentConfig)


def field_names(cls: type) -> list[str]:
    """The init field names of a dataclass, in order."""
    return [f.name for f in dataclasses.fields(cls) if f.init]


def sort_arguments(
    arguments: Mapping[str, Any],
    inputs: type[InputsT],
    outputs: type[OutputsT],
    config: type[ConfigT],
) -> tuple[InputsT, OutputsT, ConfigT]:
    """Split a component's arguments into its inputs, outputs and config (checked).

    Raises:
        ConfigError: a config value is of the wrong type or out of range, or a name is unknown.
    """
    remaining = dict(arguments)

    def take(part: type[Any]) -> dict[str, Any]:
        return {name: remaining.pop(name) for name in field_names(part) if name in remaining}

    return inputs(**take(inputs)), outputs(**take(outputs)), config.from_parameters(remaining)
