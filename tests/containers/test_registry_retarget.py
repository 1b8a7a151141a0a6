"""``kfp-tabular compile --registry``: the compiled pipelines and a copy of manifests/ naming the
user's registry (and, after ``make push``, each image's digest). No Docker engine needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components._image import DEFAULT_REGISTRY, image_ref
from components._shared.manifests import validate_files
from kfp_tabular import compile as compiling
from tests.manifests.kustomize_subset import build

REGISTRY = "europe-docker.pkg.dev/my-proj/ml"
DIGEST = "sha256:" + "ab" * 32


def _executor_images(path: Path) -> set[str]:
    spec = next(yaml.safe_load_all(path.read_text()))
    return {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}


def _pod_images(docs: list[dict]) -> set[str]:
    return set(compiling._images_in(docs))


@pytest.fixture(scope="module")
def retargeted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("registry")
    assert compiling.main(["--registry", REGISTRY, "--output", str(output)]) == 0
    return output


def test_pipelines_name_the_registry_and_change_nothing_else(retargeted: Path) -> None:
    targets = compiling.image_targets(REGISTRY)
    for name in compiling.PIPELINES:
        path = retargeted / "pipelines" / f"{name}.yaml"
        assert _executor_images(path) == {image_ref("components", REGISTRY)}
        original = (compiling.COMPILED / f"{name}.yaml").read_text()
        # As data: the committed YAML with the references replaced is exactly what was written.
        expected = list(yaml.safe_load_all(compiling.retarget_text(original, targets)))
        assert list(yaml.safe_load_all(path.read_text())) == expected
        assert DEFAULT_REGISTRY not in path.read_text()


def test_manifests_name_the_registry_and_still_validate(retargeted: Path) -> None:
    manifests = retargeted / "manifests"
    base = build(manifests / "base")
    assert _pod_images(base) == {image_ref("serving", REGISTRY), image_ref("components", REGISTRY)}
    resources = [
        p for p in sorted((manifests / "base").glob("*.yaml")) if p.name != "kustomization.yaml"
    ]
    assert validate_files(resources) == len(base)
    for overlay in sorted((manifests / "overlays").iterdir()):
        images = _pod_images(build(overlay))
        assert not any(i.startswith(DEFAULT_REGISTRY) for i in images), overlay.name


def test_digests_pin_each_image(tmp_path: Path) -> None:
    record = tmp_path / "images.json"
    pushed = {name: f"{image_ref(name, REGISTRY)}@{DIGEST}" for name in ("components", "serving")}
    record.write_text(json.dumps({name: {"pushed": ref} for name, ref in pushed.items()}))
    output = tmp_path / "out"
    assert compiling.main(["--registry", REGISTRY, "--digests", str(record), "--output", str(output)]) == 0  # fmt: skip
    for name in compiling.PIPELINES:
        assert _executor_images(output / "pipelines" / f"{name}.yaml") == {pushed["components"]}
    cronjob = (output / "manifests" / "base" / "drift-cronjob.yaml").read_text()
    assert f"image: {pushed['components']}\n" in cronjob


def test_missing_digest_or_bad_registry_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "images.json"
    other = f"{image_ref('components', 'ghcr.io/someone-else')}@{DIGEST}"
    record.write_text(json.dumps({"components": {"pushed": other}}))
    output = tmp_path / "out"
    assert compiling.main(["--registry", REGISTRY, "--digests", str(record), "--output", str(output)]) == 2  # fmt: skip
    assert f"run `make push IMAGE_REGISTRY={REGISTRY}` first" in capsys.readouterr().err
    assert compiling.main(["--registry", "https://registry.example", "--output", str(output)]) == 2
    assert "no scheme" in capsys.readouterr().err
    assert not output.exists()
