"""Compile every pipeline to ``pipelines/compiled/<name>.yaml`` (``make compile``).

``--check`` compiles into a temporary folder and fails when a committed file differs, so CI
catches a pipeline or component change that was not recompiled.

``--registry REGISTRY`` re-targets instead: it compiles every pipeline into
``<output>/pipelines/`` and copies ``manifests/`` into ``<output>/manifests/`` with every image
the project names moved to ``REGISTRY`` (same names and version tags); with ``--digests
build/images.json`` (written by ``make push``) each is also pinned by the digest its push
produced. The repository's own files are left as they are.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from kfp import compiler

from components._image import DEFAULT_REGISTRY, IMAGE_NAMES, REGISTRY, image_ref
from pipelines.drift_monitor import drift_monitor
from pipelines.train_and_rollout import train_and_rollout

ROOT = Path(__file__).resolve().parents[1]
COMPILED = ROOT / "pipelines" / "compiled"
MANIFESTS = ROOT / "manifests"
RETARGET_OUTPUT = ROOT / "build" / "registry"
# A registry host with an optional port, then path components (docker's reference grammar, simplified).
_REGISTRY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")

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


class RetargetError(ValueError):
    """A registry or digest record that cannot re-target the pipelines; the message says why."""


def image_targets(registry: str, pushed: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{image reference the project names: the reference to name instead}``.

    ``pushed`` maps an image name (``components``, ``serving``) to the reference ``make push``
    recorded (``<registry>/<name>:<version>@sha256:...``); without it the version tag is kept.
    """
    if not _REGISTRY.match(registry):
        raise RetargetError(
            f"--registry: expected a registry and path such as europe-docker.pkg.dev/my-proj/ml "
            f"(lower case, no scheme), got {registry!r}"
        )
    targets = {}
    for name in IMAGE_NAMES:
        new = image_ref(name, registry)
        if pushed is not None:
            reference = pushed.get(name, "")
            if not re.fullmatch(re.escape(new) + r"@sha256:[0-9a-f]{64}", reference):
                raise RetargetError(
                    f"--digests: no pushed digest for {new} (got {reference or 'none'}); "
                    f"run `make push IMAGE_REGISTRY={registry}` first"
                )
            new = reference
        for old_registry in {DEFAULT_REGISTRY, REGISTRY}:
            targets[image_ref(name, old_registry)] = new
    return targets


def read_pushed(path: Path) -> dict[str, str]:
    """``{image name: pushed reference}`` from the record ``make push`` writes."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RetargetError(f"--digests {path}: cannot read it ({exc}); run `make push`") from None
    return {name: (record.get(name) or {}).get("pushed", "") for name in IMAGE_NAMES}


def retarget_text(text: str, targets: Mapping[str, str]) -> str:
    """``text`` with every whole occurrence of an old image reference replaced."""
    for old, new in targets.items():
        text = re.sub(re.escape(old) + r"(?![\w.@-])", new, text)
    return text


def _images_in(value: Any) -> Iterator[str]:
    """Every ``image`` string anywhere in a parsed YAML document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                yield item
            else:
                yield from _images_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _images_in(item)


def retarget(registry: str, output: Path, pushed: Mapping[str, str] | None = None) -> list[Path]:
    """Compiled pipelines and a copy of manifests/ under ``output``, naming ``registry``'s images.

    Raises RetargetError for a bad registry, a missing digest, or an image left behind.
    """
    targets = image_targets(registry, pushed)
    if output.exists():
        shutil.rmtree(output)
    written = compile_all(output / "pipelines")
    if MANIFESTS.is_dir():  # a source checkout (an image build has the pipelines only)
        shutil.copytree(MANIFESTS, output / "manifests")
        written += sorted((output / "manifests").rglob("*.yaml"))
    wanted = set(targets.values())
    for path in written:
        path.write_text(retarget_text(path.read_text(), targets))
        left = {i for doc in _load(path) for i in _images_in(doc) if i not in wanted}
        project = {i for i in left if i.split("/")[-1].split(":")[0] in IMAGE_NAMES}
        if project:
            raise RetargetError(f"{path}: still names {sorted(project)}")
    return written


def _retarget_main(args: argparse.Namespace) -> int:
    try:
        pushed = read_pushed(Path(args.digests)) if args.digests else None
        written = retarget(args.registry, Path(args.output), pushed)
    except RetargetError as exc:
        print(f"kfp-tabular compile: error: {exc}", file=sys.stderr)
        return 2
    for name in IMAGE_NAMES:
        print(f"{image_ref(name)} -> {image_targets(args.registry, pushed)[image_ref(name)]}")
    print(f"wrote {len(written)} files under {args.output}: pipelines/*.yaml (upload in the "
          f"Kubeflow UI), manifests/ (kubectl apply -k {args.output}/manifests/base)")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    """Compile, or with ``--check`` verify that the compiled YAML is current."""
    parser = argparse.ArgumentParser(prog="kfp-tabular compile", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if compiled YAML is stale")
    parser.add_argument(
        "--registry",
        help="re-target: compile into --output with the images under this registry/path",
    )
    parser.add_argument(
        "--digests",
        help="with --registry: pin each image by the digest `make push` recorded in this file "
        "(build/images.json)",
    )
    parser.add_argument(
        "--output",
        default=str(RETARGET_OUTPUT),
        help="with --registry: where the re-targeted pipelines/ and manifests/ go",
    )
    args = parser.parse_args(argv)
    if args.registry:
        return _retarget_main(args)
    if args.digests:
        parser.error("--digests needs --registry")
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
