"""serving.selfcheck: the server's request path without a server, as the gate calls it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from components._shared.errors import BundleError
from components._shared.oip import v2_request
from serving.codec import RequestError
from serving.selfcheck import predict_via_v1, predict_via_v2
from tests.serving.conftest import ROOT, Runtime, Trained


def test_v2_and_v1_selfcheck_equal_training_predictions(trained: Trained) -> None:
    records = trained.records()  # every test row: ids and the target ride along
    expected = trained.served_proba(trained.test_rows)
    np.testing.assert_array_equal(predict_via_v2(str(trained.path), records), expected)
    np.testing.assert_array_equal(predict_via_v1(str(trained.path), records), expected)


def test_selfcheck_equals_the_http_server(trained: Trained, runtime: Runtime) -> None:
    records = trained.records(50)
    body = v2_request(records, trained.bundle.schema)
    response = runtime.client.post(f"/v2/models/{runtime.name}/infer", json=body)
    served = np.array(response.json()["outputs"][0]["data"])
    np.testing.assert_array_equal(predict_via_v2(str(trained.path), records), served)


def test_v2_request_has_one_input_per_column_with_schema_datatypes(trained: Trained) -> None:
    body = v2_request(trained.records(3), trained.bundle.schema, request_id="r1")
    datatypes = {t["name"]: t["datatype"] for t in body["inputs"]}
    assert "Churn" not in datatypes  # the target is never sent
    assert datatypes["tenure"] == "INT64" and datatypes["MonthlyCharges"] == "FP64"
    assert datatypes["Partner"] == "BOOL" and datatypes["Contract"] == "BYTES"
    assert all(t["shape"] == [3] for t in body["inputs"])
    assert body["parameters"] == {"content_type": "pd"} and body["id"] == "r1"


def test_selfcheck_reports_bad_records_and_bad_bundles(trained: Trained, tmp_path) -> None:
    records = trained.records(2)
    records[1]["tenure"] = "twelve"
    with pytest.raises(RequestError, match=r"\('tenure'\)\.data\[1\]"):
        predict_via_v2(str(trained.path), records)
    with pytest.raises(BundleError):
        predict_via_v2(str(tmp_path), trained.records(1))


def test_selfcheck_imports_neither_kserve_nor_an_http_stack() -> None:
    code = (
        "import sys, serving.selfcheck, serving.codec; "
        "bad = [m for m in ('kserve', 'fastapi', 'uvicorn', 'kfp') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
