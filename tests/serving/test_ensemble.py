"""An ensemble bundle served by the same runtime in one process: the self-check's V1 and V2 paths,
and a real ``python -m serving --model_dir <ensemble>`` answering V1, V2 and gRPC with the
ensemble's own predictions (members' compiled trees within 1e-6 of their boosters)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from components._shared import ensemble, keys
from components._shared.bundle import Bundle, json_record, load_bundle
from components._shared.oip import OUTPUT_PROBABILITY, v2_output, v2_request
from serving import selfcheck
from serving.codec import Codec
from serving.scoring import Scorer
from tests.fixtures.datasets import Prepared
from tests.serving.conftest import Runtime
from tests.shared.test_ensemble import make_ensemble

ROWS = 120
TOLERANCE = 1e-6
NUMPY_DTYPES = {"FP64": np.float64, "INT64": np.int64, "BOOL": np.bool_, "BYTES": object}


@pytest.fixture(scope="module")
def served(
    telco_prepared: Prepared, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Bundle, list[dict], np.ndarray]:
    """The ensemble bundle, loaded, ROWS raw test records and its predictions on them."""
    path, _, _ = make_ensemble(telco_prepared, tmp_path_factory.mktemp("served_ensemble"))
    bundle = load_bundle(path)
    test = telco_prepared.frames[keys.TEST].head(ROWS)
    records = [json_record(r) for r in test.to_dict("records")]
    return path, bundle, records, bundle.predict_proba_frame(test)


def test_scorer_evaluates_each_member_and_matches_the_ensemble(
    served: tuple[Path, Bundle, list[dict], np.ndarray],
) -> None:
    _, bundle, records, expected = served
    scorer = Scorer(bundle, name="churn")
    reason = scorer.evaluation.reason
    assert all(m in reason for m in ("xgboost_member", "lightgbm_member", "sklearn_logreg"))
    assert scorer.metadata()["parameters"]["family"] == ensemble.FAMILY
    for n in (1, 5, ROWS):  # compiled xgboost up to 8 rows, its booster above
        got = scorer.predict_v1({"instances": records[:n]})["predictions"]
        probability = np.array([p[OUTPUT_PROBABILITY] for p in got])
        np.testing.assert_allclose(probability, expected[:n], atol=TOLERANCE, rtol=0)


def test_selfcheck_paths_load_the_ensemble_bundle(
    served: tuple[Path, Bundle, list[dict], np.ndarray],
) -> None:
    path, _, records, expected = served
    for predict in (selfcheck.predict_via_v1, selfcheck.predict_via_v2):
        np.testing.assert_allclose(predict(str(path), records), expected, atol=TOLERANCE, rtol=0)


def _grpc_probability(runtime: Runtime, bundle: Bundle, records: list[dict]) -> np.ndarray:
    metadata = Codec(bundle.schema, bundle.featurizer.input_columns_).input_metadata()
    inputs = []
    for tensor in metadata:
        values = [r[tensor["name"]] for r in records]
        if tensor["datatype"] == "FP64":
            values = [np.nan if v is None else v for v in values]
        array = np.array(values, dtype=NUMPY_DTYPES[tensor["datatype"]])
        infer_input = InferInput(tensor["name"], list(array.shape), tensor["datatype"])
        infer_input.set_data_from_numpy(array, binary_data=False)
        inputs.append(infer_input)

    async def call() -> np.ndarray:
        async with InferenceGRPCClient(f"127.0.0.1:{runtime.grpc_port}", retries=0) as client:
            response = await client.infer(InferRequest(runtime.name, inputs, request_id="e-1"))
        (output,) = [o for o in response.outputs if o.name == OUTPUT_PROBABILITY]
        return np.asarray(output.as_numpy(), dtype=np.float64)

    return asyncio.run(call())


def test_local_server_answers_v1_v2_and_grpc_with_the_ensembles_predictions(
    served: tuple[Path, Bundle, list[dict], np.ndarray],
) -> None:
    path, bundle, records, expected = served
    runtime = Runtime(path, "--enable_grpc=true")
    try:
        runtime.wait_ready()
        v1 = runtime.client.post(f"/v1/models/{runtime.name}:predict", json={"instances": records})
        assert v1.status_code == 200, v1.text
        got_v1 = np.array([p[OUTPUT_PROBABILITY] for p in v1.json()["predictions"]])
        body = v2_request(records, bundle.schema)
        v2 = runtime.client.post(f"/v2/models/{runtime.name}/infer", json=body)
        assert v2.status_code == 200, v2.text
        got_v2 = v2_output(v2.json(), OUTPUT_PROBABILITY).astype(np.float64)
        got_grpc = _grpc_probability(runtime, bundle, records)
        meta = runtime.client.get(f"/v2/models/{runtime.name}").json()
    finally:
        runtime.stop()
    for got in (got_v1, got_v2, got_grpc):
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)
    assert meta["parameters"]["family"] == ensemble.FAMILY
