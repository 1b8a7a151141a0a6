"""Startup: a bundle that fails its sha256 verification is refused, naming the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from components._shared import keys
from serving.model import bundle_directory
from tests.serving.conftest import ROOT, Trained, free_port


def test_tampered_bundle_refuses_to_start_naming_the_file(trained: Trained, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(trained.path, bundle)
    with (bundle / keys.FEATURIZER_FILE).open("a") as handle:
        handle.write(" ")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving",
            f"--model_dir={bundle}",
            f"--http_port={free_port()}",
            "--enable_grpc=false",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{keys.FEATURIZER_FILE}: sha256 mismatch" in result.stderr
    assert "refusing to serve" in result.stderr


def test_a_required_manifest_digest_that_differs_refuses_to_start(
    trained: Trained, tmp_path: Path
) -> None:
    # deploy sets KFP_TABULAR_MANIFEST_SHA256 (or --manifest_sha256) from the blessed bundle.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving",
            f"--model_dir={trained.path}",
            f"--http_port={free_port()}",
            "--enable_grpc=false",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, keys.MANIFEST_SHA256_ENV: "0" * 64},
    )
    assert result.returncode == 1
    assert f"{keys.MANIFEST_FILE} sha256" in result.stderr
    assert "0" * 64 in result.stderr and "refusing to serve" in result.stderr


def test_bundle_directory_finds_a_bundle_one_level_down(trained: Trained, tmp_path: Path) -> None:
    # KServe's storage initializer copies a storageUri prefix into /mnt/models as it is.
    shutil.copytree(trained.path, tmp_path / "challenger")
    assert bundle_directory(str(tmp_path)) == str(tmp_path / "challenger")
    assert bundle_directory(str(trained.path)) == str(trained.path)
