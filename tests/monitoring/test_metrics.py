"""What an on-call engineer reads on ``/metrics``: requests, errors, latency, scores, the model.

Everything is read from a real ``python -m serving`` process after real requests.
"""

from __future__ import annotations

import grpc
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

from components._shared.bundle import sha256_file
from components.rollout.prometheus import Samples, parse_metrics
from serving.metrics import grpc_status_class, protocol_of, status_class
from tests.serving.conftest import Runtime, Trained


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value (0 when absent)."""
    return next(
        (
            v
            for (s, found), v in samples.items()
            if s == name and labels.items() <= dict(found).items()
        ),
        0.0,
    )


def scrape(runtime: Runtime) -> Samples:
    response = runtime.client.get("/metrics")
    assert response.status_code == 200
    return parse_metrics(response.text)


def test_labels_are_bounded() -> None:
    assert [status_class(s) for s in (200, 404, 413, 500, 503)] == [
        "2xx", "4xx", "4xx", "5xx", "5xx",
    ]  # fmt: skip
    assert protocol_of("/v1/models/churn:predict") == "v1"
    assert protocol_of("/v2/models/churn/versions/3/infer") == "v2"
    assert protocol_of("/v2/health/ready") is None
    assert grpc_status_class(grpc.StatusCode.INVALID_ARGUMENT) == "4xx"
    assert grpc_status_class(grpc.StatusCode.INTERNAL) == "5xx"
    assert grpc_status_class(None) == "2xx"


def test_requests_errors_latency_and_in_flight_by_protocol(
    served: Runtime, trained: Trained
) -> None:
    before = scrape(served)
    records = trained.records(5)
    assert served.client.post("/v1/models/churn:predict", json={"instances": records}).is_success
    assert (
        served.client.post("/v1/models/churn:predict", json={"instances": [{"x": 1}]}).status_code
        == 400
    )
    assert served.client.post("/v2/models/churn/infer", content=b"{").status_code == 400
    assert served.client.get("/v2/health/ready").status_code == 200  # not a prediction: uncounted
    with grpc.insecure_channel(f"127.0.0.1:{served.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(pb.ModelInferRequest(model_name="nope"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    after = scrape(served)

    def grew(protocol: str, status: str) -> float:
        name = "kfp_tabular_requests_total"
        labels = {"model_name": "churn", "protocol": protocol, "status_class": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("v1", "2xx") == 1
    assert grew("v1", "4xx") == 1
    assert grew("v2", "4xx") == 1
    assert grew("grpc", "4xx") == 1
    assert grew("v2", "2xx") == 0
    count = "kfp_tabular_request_duration_seconds_count"
    assert value(after, count, protocol="v1") - value(before, count, protocol="v1") == 2
    assert (
        value(after, "kfp_tabular_request_duration_seconds_bucket", protocol="v1", le="+Inf") >= 2
    )
    assert value(after, "kfp_tabular_requests_in_flight", protocol="v1") == 0
    assert (
        "kfp_tabular_requests_in_flight",
        frozenset({("model_name", "churn"), ("protocol", "grpc")}),
    ) in after


def test_scores_unseen_and_model_info(served: Runtime, trained: Trained) -> None:
    records = trained.records(4)
    records[0]["Contract"] = "Ten-year"
    records[1]["tenure"] = 999  # trained on 0..72 months
    records[2]["MonthlyCharges"] = None
    records[3]["TotalCharges"] = None
    before = scrape(served)
    assert served.client.post("/v1/models/churn:predict", json={"instances": records}).is_success
    after = scrape(served)
    count = "kfp_tabular_prediction_score_count"
    assert value(after, count, model_name="churn") - value(before, count, model_name="churn") == 4
    unseen = "kfp_tabular_unseen_values_total"
    assert value(after, unseen, column="Contract") - value(before, unseen, column="Contract") == 1
    for name, column, grown in (
        ("kfp_tabular_out_of_range_values_total", "tenure", 1),
        ("kfp_tabular_null_values_total", "MonthlyCharges", 1),
        ("kfp_tabular_null_values_total", "TotalCharges", 1),
        ("kfp_tabular_out_of_range_values_total", "MonthlyCharges", 0),
    ):
        assert value(after, name, column=column) - value(before, name, column=column) == grown
    manifest = trained.bundle.manifest
    info = [dict(labels) for (s, labels), v in after.items() if s == "kfp_tabular_model_info"]
    assert len(info) == 1 and info[0]["model_name"] == "churn"
    assert info[0]["bundle_digest"] == sha256_file(trained.path / "manifest.json")
    assert info[0]["candidate"] == trained.bundle.name
    assert info[0]["family"] == "xgboost"
    assert info[0]["version"] == manifest["created_at"]
    rate = value(after, "kfp_tabular_reference_positive_rate", model_name="churn")
    assert 0.1 < rate < 0.5  # Telco churns about 26%


def test_null_and_range_counting_of_one_value_and_of_columns() -> None:
    import numpy as np

    from serving.metrics import _nulls, _one_value, _outside

    assert _one_value(None, None) == (1, 0)
    assert _one_value(float("nan"), (0.0, 1.0)) == (1, 0)
    assert _one_value(5, (0.0, 1.0)) == (0, 1)
    assert _one_value(True, (0.0, 0.5)) == (0, 0)  # a boolean is not a number here
    assert _one_value("Yes", (0.0, 1.0)) == (0, 0)
    assert _nulls(np.array([None, "a", float("nan")], dtype=object)) == 2
    assert _nulls(np.array([None] * 100 + ["a"], dtype=object)) == 100
    assert _nulls(np.array([1.0, np.nan])) == 1 and _nulls(np.array([1, 2])) == 0
    assert _outside(np.array([-1.0, 0.5, 2.0, np.nan]), (0.0, 1.0)) == 2
    assert _outside(np.array([5.0]), None) == 0
