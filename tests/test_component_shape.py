"""Every component has the one shape, and a parameter's default is the same everywhere.

- ``config.py`` holds ``<Name>Config``, a frozen :class:`ComponentConfig` dataclass: every
  parameter with its type, default and one-line meaning;
- ``executor.py`` holds ``<Name>Inputs``, ``<Name>Outputs``, ``run(inputs, outputs, config)`` and
  ``main(arguments)``;
- ``component.py``'s signature declares exactly those parameters (name, type and default equal to
  the config's; lightweight components copy only their own source, so the literals stay there),
  its artifacts are exactly the inputs and outputs, and its docstring gives each parameter the
  config's meaning;
- its body hands ``dict(locals())`` to ``main``;
- every pipeline parameter that feeds a component parameter has that parameter's default
  (read from the compiled YAML, through ``dsl.If`` and ``dsl.ParallelFor`` sub-DAGs).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components._shared.config import ComponentConfig
from kfp_tabular import docs
from kfp_tabular.compile import PIPELINES

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = sorted(p.parent.name for p in (ROOT / "components").glob("*/component.py"))
PLAIN = (str, int, float, bool, list, dict)


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def config_of(name: str) -> type[ComponentConfig]:
    module = importlib.import_module(f"components.{name}.config")
    cls = getattr(module, f"{camel(name)}Config")
    assert issubclass(cls, ComponentConfig), f"{cls.__name__} must derive from ComponentConfig"
    return cls  # type: ignore[no-any-return]


def executor_of(name: str) -> Any:
    return importlib.import_module(f"components.{name}.executor")


def signature_of(name: str) -> inspect.Signature:
    component = getattr(importlib.import_module(f"components.{name}.component"), name)
    return inspect.signature(component.python_func)


def split_signature(name: str) -> tuple[dict[str, inspect.Parameter], dict[str, inspect.Parameter]]:
    """(plain parameters, artifact and path parameters) of the component function."""
    plain, artifacts = {}, {}
    for param in signature_of(name).parameters.values():
        (plain if param.annotation in PLAIN else artifacts)[param.name] = param
    return plain, artifacts


def docstring_args(name: str) -> dict[str, str]:
    """``Args:`` entries of the component's docstring, whitespace folded."""
    component = getattr(importlib.import_module(f"components.{name}.component"), name)
    doc = inspect.getdoc(component.python_func) or ""
    section = doc.split("Args:", 1)[1] if "Args:" in doc else ""
    section = re.split(r"\n(?:Returns|Raises|Yields):", section, maxsplit=1)[0]
    entries: dict[str, str] = {}
    current = None
    for line in section.splitlines():
        match = re.match(r"^    (\w+): ?(.*)$", line)
        if match:
            current = match.group(1)
            entries[current] = match.group(2)
        elif current and line.strip():
            entries[current] += " " + line.strip()
    return {k: " ".join(v.split()) for k, v in entries.items()}


@pytest.mark.parametrize("name", COMPONENTS)
def test_config_is_a_frozen_component_config(name: str) -> None:
    cls = config_of(name)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} must be frozen"  # type: ignore[attr-defined]
    assert cls.component == name, f"{cls.__name__}.component must be {name!r}"
    for parameter in cls.parameters():
        assert parameter.help.endswith("."), f"{name}.{parameter.name}: help must be a sentence"


@pytest.mark.parametrize("name", COMPONENTS)
def test_executor_has_the_one_contract(name: str) -> None:
    executor = executor_of(name)
    for part in (f"{camel(name)}Inputs", f"{camel(name)}Outputs"):
        assert dataclasses.is_dataclass(getattr(executor, part, None)), f"{name}: no {part}"
    run = inspect.signature(executor.run)
    leading = [p.name for p in run.parameters.values() if p.kind is not p.KEYWORD_ONLY]
    assert leading == ["inputs", "outputs", "config"], f"{name}.run{run}"
    extras = [p for p in run.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert all(p.default is not p.empty for p in extras), f"{name}.run{run}: extras need defaults"
    assert list(inspect.signature(executor.main).parameters) == ["arguments"]


@pytest.mark.parametrize("name", COMPONENTS)
def test_signature_matches_config_inputs_and_outputs(name: str) -> None:
    plain, artifacts = split_signature(name)
    declared = {p.name: p for p in config_of(name).parameters()}
    assert list(plain) == [n for n in declared if n in plain], f"{name}: order differs"
    assert set(plain) == set(declared), (
        f"{name}: signature parameters {sorted(set(plain) - set(declared))} not in the config; "
        f"config parameters {sorted(set(declared) - set(plain))} not in the signature"
    )
    for key, param in plain.items():
        want = declared[key]
        assert param.annotation is want.type, f"{name}.{key}: {param.annotation} vs {want.type}"
        if want.required:
            assert param.default is inspect.Parameter.empty, f"{name}.{key} has a default"
        else:
            assert param.default == want.default and type(param.default) is type(want.default), (
                f"{name}.{key}: signature default {param.default!r}, config {want.default!r}"
            )
    executor = executor_of(name)
    ports = [
        f.name
        for part in (f"{camel(name)}Inputs", f"{camel(name)}Outputs")
        for f in dataclasses.fields(getattr(executor, part))
    ]
    assert sorted(artifacts) == sorted(ports), f"{name}: artifacts {sorted(artifacts)} vs {ports}"


@pytest.mark.parametrize("name", COMPONENTS)
def test_docstring_gives_each_parameter_the_config_meaning(name: str) -> None:
    documented = docstring_args(name)
    for parameter in config_of(name).parameters():
        text = documented.get(parameter.name)
        assert text is not None, f"{name}: docstring Args lacks {parameter.name}"
        meaning = parameter.help.rstrip(".")
        assert text.startswith(meaning), (
            f"{name}.{parameter.name}: docstring says {text!r}; config says {parameter.help!r}"
        )


@pytest.mark.parametrize("name", COMPONENTS)
def test_component_body_hands_its_arguments_to_main(name: str) -> None:
    path = ROOT / "components" / name / "component.py"
    (function,) = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]
    body = [ast.unparse(n) for n in function.body[1:]]  # after the docstring
    call = body[-1] if body else ""
    assert body[:2] == [
        "arguments = dict(locals())",
        f"from components.{name}.executor import main",
    ] and call in ("main(arguments)", "return main(arguments)"), (
        f"{path.relative_to(ROOT)}: the body must be `arguments = dict(locals())`, "
        f"`from components.{name}.executor import main`, `[return] main(arguments)`; got {body}"
    )


def test_readme_parameter_tables_are_generated_from_the_configs() -> None:
    assert set(docs.config_classes()) == set(COMPONENTS)
    problems = docs.stale()
    assert not problems, "\n".join(problems)


def test_docs_replaces_a_stale_table_in_place_and_refuses_missing_markers() -> None:
    config = config_of("gate")
    stale = f"# gate\n\nbefore\n{docs.BEGIN}\n| old |\n{docs.END}\nafter\n"
    fresh = docs.rendered(stale, config)
    assert fresh.startswith("# gate\n\nbefore\n") and fresh.endswith("after\n")
    assert "| `min_auc` | float | `0.75` |" in fresh
    assert docs.rendered(fresh, config) == fresh
    with pytest.raises(ValueError, match="markers"):
        docs.rendered("# gate\n", config)
    with pytest.raises(ValueError, match="got 2 and 2"):
        docs.rendered(stale + stale, config)


def _root_sources(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(root pipeline parameter, component, component parameter) for every forwarded value."""
    components = spec["components"]
    found: list[tuple[str, str, str]] = []

    def walk(dag: dict[str, Any], to_root: dict[str, str]) -> None:
        for task in dag["tasks"].values():
            ref = task["componentRef"]["name"]
            mapping = {}
            for key, value in task.get("inputs", {}).get("parameters", {}).items():
                source = value.get("componentInputParameter")
                if source in to_root:
                    mapping[key] = to_root[source]
            inner = components[ref]
            if "dag" in inner:
                walk(inner["dag"], mapping)
            else:
                component = re.sub(r"-\d+$", "", ref.removeprefix("comp-")).replace("-", "_")
                found.extend((root, component, key) for key, root in mapping.items())

    roots = spec["root"]["inputDefinitions"]["parameters"]
    walk(spec["root"]["dag"], {name: name for name in roots})
    return found


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_pipeline_defaults_equal_the_component_config(pipeline: str) -> None:
    spec = next(
        yaml.safe_load_all((ROOT / "pipelines" / "compiled" / f"{pipeline}.yaml").read_text())
    )
    roots = spec["root"]["inputDefinitions"]["parameters"]
    problems = []
    checked = 0
    forwarded = _root_sources(spec)
    for root, component, key in forwarded:
        if component not in COMPONENTS:
            continue
        declared = {p.name: p for p in config_of(component).parameters()}
        if key not in declared or declared[key].required:
            continue
        checked += 1
        have = roots[root].get("defaultValue")
        want = declared[key].default
        if have != want and not (have is None and roots[root].get("isOptional")):
            problems.append(f"{pipeline}.{root} = {have!r} feeds {component}.{key} = {want!r}")
    assert checked, f"{pipeline}: no forwarded parameter found"
    assert not problems, "\n".join(problems)
