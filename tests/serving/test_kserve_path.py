"""The same model under KServe's own ModelServer (``python -m serving --server kserve``)."""

from __future__ import annotations

import numpy as np

from components._shared.oip import v2_output, v2_request
from tests.serving.conftest import Runtime, Trained


def test_kserve_modelserver_answers_v1_and_v2_like_the_lean_server(
    kserve_runtime: Runtime, runtime: Runtime, trained: Trained
) -> None:
    records = trained.records(40)
    expected = trained.served_proba(trained.test_rows.head(40))
    body = v2_request(records, trained.bundle.schema, outputs=["probability", "label"])
    for server in (kserve_runtime, runtime):
        response = server.client.post(f"/v2/models/{server.name}/infer", json=body)
        assert response.status_code == 200, response.text
        np.testing.assert_array_equal(v2_output(response.json(), "probability"), expected)
        response = server.client.post(
            f"/v1/models/{server.name}:predict", json={"instances": records}
        )
        scores = [p["probability"] for p in response.json()["predictions"]]
        np.testing.assert_array_equal(scores, expected)


def test_kserve_modelserver_maps_bad_input_to_400_and_lists_the_inputs(
    kserve_runtime: Runtime, trained: Trained
) -> None:
    client, name = kserve_runtime.client, kserve_runtime.name
    record = trained.records(1)[0]
    record["tenure"] = "twelve"
    response = client.post(f"/v1/models/{name}:predict", json={"instances": [record]})
    assert response.status_code == 400
    assert "instances[0].tenure" in response.json()["error"]
    metadata = client.get(f"/v2/models/{name}").json()
    assert [t["name"] for t in metadata["inputs"]] == trained.bundle.featurizer.input_columns_
    assert client.get("/v2/health/ready").status_code == 200
