"""Compile every pipeline to ``pipelines/compiled/<name>.yaml`` (``make compile``).

``--check`` compiles into a temporary folder and fails when a committed file differs, so CI
catches a pipeline or component change that was not recompiled.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kfp import compiler

from pipelines.drift_monitor import drift_monitor
from pipelines.train_and_rollout import train_and_rollout

COMPILED = Path(__file__).resolve().parents[1] / "pipelines" / "compiled"

PIPELINES: dict[str, Callable[..., Any]] = {
    "train_and_rollout": train_and_rollout,
    "drift_monitor": drift_monitor,
}


def compile_all(folder: Path) -> list[Path]:
    """Compile every pipeline into ``folder``; return the written paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, pipeline in PIPELINES.items():
        path = folder / f"{name}.yaml"
        compiler.Compiler().compile(pipeline_func=pipeline, package_path=str(path))
        written.append(path)
    return written


def _load(path: Path) -> list[Any]:
    """Every YAML document of a compiled pipeline (the spec, and the platform spec if any)."""
    return list(yaml.safe_load_all(path.read_text()))


def stale(folder: Path = COMPILED) -> list[str]:
    """Names of the pipelines whose committed YAML differs from a fresh compile, with diffs."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for fresh in compile_all(Path(tmp)):
            committed = folder / fresh.name
            if not committed.exists():
                problems.append(f"{committed} is missing; run `make compile`")
                continue
            # Compared as data, like the KFP SDK's own golden tests: the compiler's header
            # comment prints dict defaults in protobuf map order, which varies between runs.
            new_spec, old_spec = _load(fresh), _load(committed)
            if new_spec != old_spec:
                new, old = fresh.read_text().splitlines(), committed.read_text().splitlines()
                diff = "\n".join(list(difflib.unified_diff(old, new, lineterm="", n=1))[:40])
                problems.append(f"{committed} is stale; run `make compile`\n{diff}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Compile, or with ``--check`` verify that the compiled YAML is current."""
    parser = argparse.ArgumentParser(prog="kfp-tabular compile", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if compiled YAML is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for path in compile_all(COMPILED):
        print(
            f"compiled {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
