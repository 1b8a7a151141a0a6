"""Which compiled pipeline ``submit`` and ``schedule`` send, and what parameters it declares.

A pipeline is named either by a compiled package path (``pipelines/compiled/*.yaml``, the
default being ``train_and_rollout.yaml``) or by a name in the ``PIPELINES`` registry of
:mod:`kfp_tabular.compile`, which is then compiled on the fly into a temporary folder, so that
what is sent is always the current code.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfp_tabular.errors import CliError
from kfp_tabular.progress import Progress

DEFAULT_PIPELINE = "train_and_rollout"
# A compiled pipeline is a few thousand YAML lines: libyaml reads it ~10x faster when present.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compiled_folder() -> Path:
    """``pipelines/compiled`` of this checkout (where ``kfp-tabular compile`` writes)."""
    return Path(__file__).resolve().parents[1] / "pipelines" / "compiled"


def registry() -> dict[str, Any]:
    """The pipeline functions by name; imported lazily, as it imports every component."""
    from kfp_tabular.compile import PIPELINES

    return PIPELINES


@dataclass
class Package:
    """A compiled pipeline on disk, with its parsed PipelineSpec."""

    path: Path
    spec: dict[str, Any]
    source: str  # "compiled <path>" or "<name> (compiled now)", for progress lines

    @property
    def name(self) -> str:
        """The pipeline's own name (``pipelineInfo.name``)."""
        return str(self.spec.get("pipelineInfo", {}).get("name", self.path.stem))

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """The root ``inputDefinitions.parameters``: name -> {parameterType, defaultValue, ...}."""
        root = self.spec.get("root", {})
        return dict(root.get("inputDefinitions", {}).get("parameters", {}) or {})


def load_spec(path: Path) -> dict[str, Any]:
    """The PipelineSpec (first YAML document) of a compiled package, checked for its shape."""
    try:
        documents = list(yaml.load_all(path.read_text(), Loader=_LOADER))
    except yaml.YAMLError as exc:
        raise CliError(f"{path} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot read compiled pipeline {path}: {exc.strerror}") from None
    spec = documents[0] if documents else None
    if not isinstance(spec, dict) or "pipelineInfo" not in spec or "root" not in spec:
        raise CliError(
            f"{path} is not a compiled KFP pipeline (no pipelineInfo/root); "
            "compile one with `kfp-tabular compile`"
        )
    return spec


def _missing(pipeline: str | None, path: Path) -> CliError:
    if pipeline is not None and not _is_name(pipeline):
        return CliError(
            f"compiled pipeline not found: {path}; run `kfp-tabular compile` to write "
            "pipelines/compiled/*.yaml"
        )
    names = sorted(registry())
    if pipeline is None:
        return CliError(
            f"compiled pipeline not found: {path}; run `kfp-tabular compile` (or `make compile`) "
            "first, or name a pipeline to compile now: " + ", ".join(names)
        )
    return CliError(
        f"compiled pipeline not found: {path}; run `kfp-tabular compile` to write "
        f"pipelines/compiled/*.yaml, or give a pipeline name ({', '.join(names)})"
    )


def _is_name(pipeline: str) -> bool:
    """Whether ``pipeline`` could be a registry name rather than a path.

    Only then is the registry imported: it imports every pipeline and component, with their
    ML libraries, which sending a compiled file does not need.
    """
    return "/" not in pipeline and Path(pipeline).suffix.lower() not in (".yaml", ".yml")


def from_registry(name: str) -> Package:
    """The registry pipeline ``name`` compiled in memory: its spec and declared parameters.

    ``kfp-tabular run`` checks its parameters against this, as ``submit`` checks against the
    compiled file; the path is where ``kfp-tabular compile`` writes it (nothing is written).
    """
    from google.protobuf import json_format

    spec = json_format.MessageToDict(registry()[name].pipeline_spec)
    return Package(compiled_folder() / f"{name}.yaml", spec, f"{name} (compiled now)")


@contextlib.contextmanager
def resolve(pipeline: str | None, progress: Progress) -> Iterator[Package]:
    """The package for ``pipeline`` (a path, a registry name, or None for the default).

    A registry name is compiled into a temporary folder that lives as long as the context.
    """
    if pipeline is not None and _is_name(pipeline) and pipeline in registry():
        from kfp import compiler

        with tempfile.TemporaryDirectory(prefix="kfp-tabular-") as folder:
            path = Path(folder) / f"{pipeline}.yaml"
            with progress.step(f"compiling {pipeline}"):
                compiler.Compiler().compile(
                    pipeline_func=registry()[pipeline], package_path=str(path)
                )
            yield Package(path, load_spec(path), f"{pipeline} (compiled now)")
        return
    path = (
        Path(pipeline) if pipeline is not None else compiled_folder() / f"{DEFAULT_PIPELINE}.yaml"
    )
    if not path.is_file():
        raise _missing(pipeline, path)
    yield Package(path, load_spec(path), f"compiled {path}")


@contextlib.contextmanager
def caching_off(pipeline: Package) -> Iterator[Package]:
    """The package with no task served from cache, in every DAG, written to a temporary file.

    kfp.Client's ``enable_caching=False`` reaches only the root DAG's tasks (kfp 2.17
    ``_override_caching_options``): a task inside a ``dsl.ParallelFor`` or a ``dsl.If`` (train,
    deploy, rollout, shadow here) would keep its compiled setting.
    """
    documents = list(yaml.load_all(pipeline.path.read_text(), Loader=_LOADER))
    spec = documents[0]
    dags = [spec["root"].get("dag", {})]
    dags += [c["dag"] for c in (spec.get("components") or {}).values() if "dag" in c]
    for dag in dags:
        for task in (dag.get("tasks") or {}).values():
            task["cachingOptions"] = {}
    with tempfile.TemporaryDirectory(prefix="kfp-tabular-") as folder:
        path = Path(folder) / pipeline.path.name
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        yield Package(path, spec, f"{pipeline.source}, caching off")
