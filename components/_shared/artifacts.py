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


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    A reader never sees a half-written file: either the old state (nothing) or the whole file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
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
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
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
