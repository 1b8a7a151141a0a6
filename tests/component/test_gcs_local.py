"""gs:// through kfp.local: a real component subprocess reads its data from a real GCS API
(the gcp-storage-emulator process started by the fixture; the subprocess inherits
STORAGE_EMULATOR_HOST)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp import local

from components import catalog
from components._shared import io
from components._shared.schema import Schema

pytestmark = pytest.mark.slow


def test_validate_reads_data_from_gs(tmp_path: Path, telco_csv: Path, gcs_bucket: str) -> None:
    data_uri = f"{gcs_bucket}/raw/telco.csv"
    io.write_bytes(data_uri, telco_csv.read_bytes())
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))

    task = catalog.validate(
        data_uri=data_uri, target="Churn", positive_label="Yes", id_columns=["customerID"]
    )

    assert task.outputs["dataset"].metadata["source_uri"] == data_uri
    assert task.outputs["metrics"].metadata["rows"] == 7043
    schema = Schema.from_json(Path(task.outputs["schema"].path).read_text())
    assert schema.column("TotalCharges").stored_as_text


def test_validate_names_a_missing_gs_object(
    tmp_path: Path, gcs_bucket: str, capfd: pytest.CaptureFixture[str]
) -> None:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    missing = f"{gcs_bucket}/nope.csv"
    with pytest.raises(RuntimeError, match="validate"):
        catalog.validate(data_uri=missing, target="Churn", positive_label="Yes")
    log = capfd.readouterr().out
    assert f"cannot read '{missing}'" in log and "not found" in log
