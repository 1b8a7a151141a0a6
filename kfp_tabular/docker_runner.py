"""``kfp.local.DockerRunner`` set up for this project's image (``kfp-tabular run --runner docker``).

Every task runs in the component image (components/_image.py), as its own user (UID 10001), as
on a cluster. kfp.local mounts only the pipeline root into each container, at the same path, so:

- the pipeline root must be writable by that user: its top folder is opened to everyone (mode
  0777; what the tasks write in it gets folders 0755 and files 0644, owned by UID 10001);
- local files and folders passed as arguments (the data, a champion bundle, and the training
  data a bundle records) are mounted read-only at their own paths, so the same URIs work
  inside the containers.

Outputs owned by UID 10001 cannot be removed by another non-root user; remove them through the
image (``docker run --rm -v "$PWD/local_outputs:/o" <image> rm -rf /o/<run>``) or as root.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from components._image import COMPONENT_IMAGE
from components._shared import keys

RUNNERS = ("subprocess", "docker")


class DockerUnavailable(RuntimeError):
    """No Docker engine, no ``docker`` package or no component image: says which and what to do."""


def absolute_paths(arguments: Mapping[str, Any]) -> dict[str, str]:
    """``{name: absolute path}`` for the string arguments that name an existing relative path."""
    found = {}
    for name, value in arguments.items():
        if not isinstance(value, str) or not value or "://" in value:
            continue
        if not Path(value).is_absolute() and Path(value).exists():
            found[name] = str(Path(value).resolve())
    return found


def local_paths(arguments: Mapping[str, Any]) -> list[Path]:
    """The existing local paths the tasks will read: string arguments that name one (gs:// and
    other schemes skipped), and the training data a bundle argument records (drift reads it as
    the reference for prediction drift)."""
    found = []
    for value in arguments.values():
        if not isinstance(value, str) or not value or "://" in value:
            continue
        path = Path(value).expanduser()
        if path.is_absolute() and path.exists():
            found.append(path.resolve())
            found += _recorded_training_data(path)
    return found


def _recorded_training_data(bundle: Path) -> list[Path]:
    """The local training data file a bundle's manifest names, if it exists here."""
    manifest = bundle / keys.MANIFEST_FILE
    if not manifest.is_file():
        return []
    try:
        training = json.loads(manifest.read_text()).get(keys.MANIFEST_TRAINING_DATA) or {}
        uri = (training.get("source") or {}).get("uri") or ""
    except (OSError, ValueError, AttributeError):
        return []
    path = Path(uri)
    return (
        [path.resolve()]
        if uri and "://" not in uri and path.is_absolute() and path.exists()
        else []
    )


def read_only_mounts(paths: Iterable[Path], pipeline_root: Path) -> list[Any]:
    """A read-only bind mount per path at its own location (none for paths in the root)."""
    from docker.types import Mount

    mounts = []
    for path in sorted(set(paths)):
        if not path.is_relative_to(pipeline_root):
            mounts.append(Mount(str(path), str(path), type="bind", read_only=True))
    return mounts


def open_pipeline_root(pipeline_root: Path) -> None:
    """Let the image's user create the run folders in ``pipeline_root`` (its top folder only)."""
    pipeline_root.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(pipeline_root.stat().st_mode)
    if mode & 0o777 != 0o777:
        os.chmod(pipeline_root, mode | 0o777)


def check_engine(image: str = COMPONENT_IMAGE) -> None:
    """Raise DockerUnavailable unless the engine answers and holds ``image``."""
    try:
        import docker
    except ImportError:
        raise DockerUnavailable(
            "--runner docker needs the `docker` Python package (in the dev lock: `make install`)"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(f"--runner docker: no Docker engine answers ({exc})") from None
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise DockerUnavailable(
            f"--runner docker: image {image} is not built here; run `make images` "
            "(`make base images` where no registry answers)"
        ) from None
    finally:
        client.close()


def docker_runner(arguments: Mapping[str, Any], pipeline_root: Path, **run_args: Any) -> Any:
    """A DockerRunner for a run with ``arguments`` under ``pipeline_root`` (made ready here)."""
    from kfp import local

    check_engine()
    pipeline_root = pipeline_root.resolve()
    open_pipeline_root(pipeline_root)
    mounts = read_only_mounts(local_paths(arguments), pipeline_root)
    return (
        local.DockerRunner(mounts=mounts, **run_args) if mounts else local.DockerRunner(**run_args)
    )
