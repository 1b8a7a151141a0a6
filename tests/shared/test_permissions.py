"""Everything a component writes is readable by other users: folders 0755, files 0644, whatever
the process umask (a serving container or the next task runs as UID 10001, not as the writer).

The container side (a bundle written here, served from the image as UID 10001) is in
tests/containers/test_serving_container.py.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from components._shared import io
from components._shared.artifacts import atomic_dir, atomic_file, make_dirs, write_text_atomic
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """The strictest umask a user may run under: nothing for group or others."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    """``{relative path: octal mode}`` of ``root`` and everything under it."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def _ordinary(root: Path) -> dict[str, str]:
    """What ``_modes`` should be: 0755 for every folder, 0644 for every file."""
    expected = {".": "0o755"}
    for path in sorted(root.rglob("*")):
        expected[str(path.relative_to(root))] = "0o755" if path.is_dir() else "0o644"
    return expected


@pytest.mark.usefixtures("strict_umask")
def test_atomic_file_and_its_new_parents_are_readable(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "report.md"
    write_text_atomic(target, "# report\n")
    assert _modes(tmp_path / "new") == {
        ".": "0o755",
        "deeper": "0o755",
        "deeper/report.md": "0o644",
    }
    with atomic_file(tmp_path / "flag") as tmp:
        tmp.write_text("true")
    assert oct(stat.S_IMODE((tmp_path / "flag").stat().st_mode)) == "0o644"


@pytest.mark.usefixtures("strict_umask")
def test_atomic_dir_tree_is_readable(tmp_path: Path) -> None:
    with atomic_dir(tmp_path / "out" / "tables") as tmp:
        (tmp / "part").mkdir()
        (tmp / "part" / "a.parquet").write_bytes(b"x")
        (tmp / "b.json").write_text("{}")
        script = tmp / "run.sh"
        script.write_text("#!/bin/sh\n")
        script.chmod(0o700)
    modes = _modes(tmp_path / "out" / "tables")
    assert modes == {
        ".": "0o755",
        "b.json": "0o644",
        "part": "0o755",
        "part/a.parquet": "0o644",
        "run.sh": "0o755",  # an executable stays executable, for everyone
    }
    assert oct(stat.S_IMODE((tmp_path / "out").stat().st_mode)) == "0o755"


@pytest.mark.usefixtures("strict_umask")
def test_io_writes_and_local_copies_are_readable(tmp_path: Path) -> None:
    io.write_json(str(tmp_path / "a" / "result.json"), {"ok": True})
    source = tmp_path / "src"
    source.mkdir(mode=0o700)
    (source / "secret.txt").write_text("x")
    (source / "secret.txt").chmod(0o600)
    io.upload_dir(source, str(tmp_path / "copy"))
    assert _modes(tmp_path / "a") == {".": "0o755", "result.json": "0o644"}
    assert _modes(tmp_path / "copy") == {".": "0o755", "secret.txt": "0o644"}


def test_make_dirs_keeps_existing_folders_as_they_are(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    make_dirs(private / "x" / "y")
    assert oct(stat.S_IMODE(private.stat().st_mode)) == "0o700"  # not ours to change
    assert oct(stat.S_IMODE((private / "x").stat().st_mode)) == "0o755"
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        make_dirs(tmp_path / "file")


@pytest.mark.usefixtures("strict_umask")
def test_a_trained_bundle_is_readable_by_everyone(telco_prepared: Prepared, tmp_path: Path) -> None:
    bundle = train_bundle(telco_prepared, tmp_path / "bundle", fast_candidate("sklearn_logreg"))
    assert _modes(bundle) == _ordinary(bundle)
    assert {"manifest.json", "featurizer.json", "profile.json", "model_card.md"} <= set(
        _modes(bundle)
    )
