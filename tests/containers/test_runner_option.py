"""``kfp-tabular run --runner docker``'s preparation, without a Docker engine: what gets mounted,
how the pipeline root is opened, and the refusals that name what is missing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from components._shared import keys
from kfp_tabular import docker_runner, local_run


def test_local_inputs_and_the_training_data_a_bundle_records_are_found(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / keys.MANIFEST_FILE).write_text(
        json.dumps({keys.MANIFEST_TRAINING_DATA: {"source": {"uri": str(data)}}})
    )
    arguments = {"bundle_uri": str(bundle), "current_uri": "gs://b/logs/", "n": 3, "empty": "",
                 "missing": str(tmp_path / "nope.csv")}  # fmt: skip
    assert docker_runner.local_paths(arguments) == [bundle, data]
    mounts = docker_runner.read_only_mounts([bundle, data], pipeline_root=tmp_path)
    assert mounts == []  # inside the pipeline root: already mounted, read-write
    (mount,) = docker_runner.read_only_mounts([data], pipeline_root=tmp_path / "root")
    assert (mount["Source"], mount["Target"], mount["ReadOnly"]) == (str(data), str(data), True)


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("data.csv").write_text("x\n")
    found = docker_runner.absolute_paths({"data_uri": "data.csv", "other": "gs://x/y", "n": 1})
    assert found == {"data_uri": str(tmp_path / "data.csv")}


def test_the_pipeline_root_is_opened_to_the_image_user(tmp_path: Path) -> None:
    root = tmp_path / "outputs"
    docker_runner.open_pipeline_root(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o777


def test_docker_with_local_deploy_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--deploy-target local"):
        local_run.main(
            ["--runner", "docker", "--deploy-target", "local", "--output", str(tmp_path)]
        )


def test_a_missing_engine_or_image_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def unavailable(*_: object, **__: object) -> None:
        raise docker_runner.DockerUnavailable("--runner docker: no Docker engine answers (test)")

    monkeypatch.setattr(docker_runner, "check_engine", unavailable)
    with pytest.raises(SystemExit, match="no Docker engine answers"):
        local_run.main(["--runner", "docker", "--output", str(tmp_path)])
