"""A bundle published to gs:// is fetched by KServe's own storage initializer code
(kserve-storage 0.21, the code of the `storage-initializer` init container) into a model
directory that the runtime loads, sha256-verified. GCS here is the gcp-storage-emulator process;
kserve-storage's google-cloud-storage client finds it through STORAGE_EMULATOR_HOST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from kserve_storage import Storage

from components._shared import io
from components._shared.bundle import load_bundle
from serving.selfcheck import predict_via_v2
from tests.serving.conftest import Trained


def test_storage_initializer_fetches_a_gs_bundle_the_runtime_loads(
    trained: Trained, gcs_bucket: str, tmp_path: Path
) -> None:
    storage_uri = f"{gcs_bucket}/models/churn/v1"
    io.upload_dir(trained.path, storage_uri)

    mnt_models = tmp_path / "mnt" / "models"
    mnt_models.mkdir(parents=True)
    Storage.download(storage_uri, str(mnt_models))  # what the init container runs

    fetched = sorted(p.name for p in mnt_models.iterdir())
    assert fetched == sorted(p.name for p in trained.path.iterdir())
    bundle = load_bundle(str(mnt_models))  # every sha256 verified
    records = trained.records(20)
    np.testing.assert_array_equal(
        predict_via_v2(str(mnt_models), records), trained.served_proba_records(records)
    )
    assert bundle.manifest == trained.bundle.manifest
