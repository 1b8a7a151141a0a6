"""What executors need from KFP artifacts, without importing kfp.

Executors receive the artifact objects that KFP hands to the component function (``Output[Dataset]``
and friends) and use only the attributes declared here, so unit tests can pass real
``kfp.dsl`` artifacts while the executor modules stay importable in a kfp-free image.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from components._shared import keys


class ArtifactLike(Protocol):
    """An input or output artifact: a local ``path`` (KFP maps gs:// to /gcs/), its ``uri`` and
    a ``metadata`` dict shown in the KFP UI."""

    uri: str
    metadata: dict[str, Any]

    @property
    def path(self) -> str: ...


class MetricsLike(ArtifactLike, Protocol):
    """A ``Metrics`` output artifact."""

    def log_metric(self, metric: str, value: float) -> None: ...


class ClassificationMetricsLike(ArtifactLike, Protocol):
    """A ``ClassificationMetrics`` output artifact (ROC curve and confusion matrix in the UI)."""

    def log_roc_curve(self, fpr: list[float], tpr: list[float], threshold: list[float]) -> None: ...

    def log_confusion_matrix(self, categories: list[str], matrix: list[list[int]]) -> None: ...


def set_display_name(artifact: ArtifactLike, name: str) -> None:
    """Name an artifact for the Kubeflow UI (it shows ``display_name`` instead of the port name)."""
    artifact.metadata[keys.META_DISPLAY_NAME] = name


# Ordinary permissions for everything a component writes, whatever the process umask:
# a serving container or a later task runs as another user (UID 10001 in the images) and must
# be able to read a bundle or report that this process wrote to a shared volume.
DIR_MODE = 0o755
FILE_MODE = 0o644


def make_dirs(path: str | os.PathLike[str]) -> None:
    """Create ``path`` and its missing parents, each created folder with mode 0755."""
    folder = Path(path)
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir()
        except FileExistsError:
            continue  # a concurrent writer made it first; its mode is its own
        os.chmod(created, DIR_MODE)
    if not Path(path).is_dir():
        Path(path).mkdir(parents=True, exist_ok=True)  # raises the usual error (a file there)


def make_readable(root: str | os.PathLike[str]) -> None:
    """Give ``root`` and everything under it folders 0755 and files 0644 (0755 if executable)."""
    top = Path(root)
    if not top.is_dir():
        os.chmod(top, DIR_MODE if top.stat().st_mode & 0o100 else FILE_MODE)
        return
    os.chmod(top, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                os.chmod(os.path.join(dirpath, name), DIR_MODE)
        for name in filenames:
            file = os.path.join(dirpath, name)
            if not os.path.islink(file):
                os.chmod(file, DIR_MODE if os.stat(file).st_mode & 0o100 else FILE_MODE)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    A reader never sees a half-written file: either the old state (nothing) or the whole file.
    """
    target = Path(path)
    make_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)  # mkstemp made it 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; move it into place only if the block succeeds.

    Used for directory artifacts (bundles, split tables) so that a failed step leaves no
    partial directory that a later step could read as whole.
    """
    target = Path(path)
    make_dirs(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        make_readable(tmp)  # mkdtemp made it 0700; what was written in it follows the umask
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (the KFP UI renders Markdown artifacts)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
