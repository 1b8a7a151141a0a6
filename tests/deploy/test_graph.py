"""Routing by segment: the InferenceGraph deploy renders (Switch by a request field, Splitter by
weight), validated against the strict schema and the graph rules; the GJSON subset the router's
conditions use; and real Telco rows, one per request, routed as KServe's router routes them to two
real local model servers, each row answered by the model the graph sends it to."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from components._shared.bundle import load_bundle
from components._shared.local_serving import LocalServer, start_server, stop_server
from components._shared.manifests import ManifestError, validate_manifest
from components._shared.oip import v2_output, v2_request
from components.deploy import gjson, graph
from tests.deploy.conftest import Bundles

# The example JSON of GJSON's README, and what its README says these paths return.
FRIENDS = {
    "name": {"first": "Tom", "last": "Anderson"},
    "age": 37,
    "children": ["Sara", "Alex", "Jack"],
    "friends": [
        {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
        {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
        {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]},
    ],
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("name.last", "Anderson"),
        ("age", 37),
        ("children.1", "Alex"),
        ('friends.#(last=="Murphy").first', "Dale"),
        ("friends.#(age>45).last", "Craig"),
        ("friends.#(age>=47).first", "Roger"),
        ('friends.#(first!="Dale").first', "Roger"),
        ('friends.1.nets.#(=="tw")', "tw"),
        ('children.#(=="Jack")', "Jack"),
    ],
)
def test_the_gjson_subset_reads_what_gjson_reads(path: str, value: Any) -> None:
    assert gjson.get(FRIENDS, path) == value
    assert gjson.exists(FRIENDS, path)


@pytest.mark.parametrize(
    "path",
    [
        "",  # GJSON: an empty path never exists (an empty Switch condition never matches)
        "name.middle",
        "children.3",
        'friends.#(last=="Smith")',
        'friends.#(age=="44")',  # a string literal never equals a number
        "friends.#(first>1)",  # nor does a number compare with a string
        'friends.0.nets.#(=="li")',
    ],
)
def test_paths_gjson_finds_nothing_at_do_not_exist(path: str) -> None:
    assert not gjson.exists(FRIENDS, path)


@pytest.mark.parametrize(
    "path", ['friends.#(last=="Murphy")#.first', "friends.#", "children|@reverse", "fr*nds"]
)
def test_syntax_outside_the_subset_is_refused_not_guessed(path: str) -> None:
    with pytest.raises(ValueError, match="gjson"):
        gjson.exists(FRIENDS, path)


SEGMENTS = [
    graph.Segment("month-to-month", "Contract", "==", "Month-to-month", "churn-month-to-month"),
    graph.Segment("new-customers", "tenure", "<", 12, "churn-new-customers"),
]


def test_switch_and_splitter_graphs_validate_and_break_the_rules_loudly() -> None:
    switch = graph.switch_graph("churn-by-segment", "ml", SEGMENTS, "churn")
    steps = switch["spec"]["nodes"]["root"]["steps"]
    assert [s["condition"] for s in steps] == [
        'inputs.#(name=="Contract").data.#(=="Month-to-month")',
        'inputs.#(name=="tenure").data.#(<12)',
        "inputs",  # the default: every V2 request has inputs
    ]
    assert steps[-1]["serviceUrl"] == (
        "http://churn-predictor.ml.svc.cluster.local/v2/models/churn/infer"
    )
    splitter = graph.splitter_graph("churn-split", "ml", [("churn", 80), ("churn-b", 20)])
    assert [s["weight"] for s in splitter["spec"]["nodes"]["root"]["steps"]] == [80, 20]
    with pytest.raises(ManifestError, match="sum to 100"):
        graph.splitter_graph("churn-split", "ml", [("churn", 80), ("churn-b", 30)])
    no_condition = switch | {
        "spec": {"nodes": {"root": {"routerType": "Switch", "steps": [{"serviceUrl": "http://x"}]}}}
    }
    with pytest.raises(ManifestError, match="needs a condition"):
        validate_manifest(no_condition)
    typo = switch | {"spec": {"nodes": {"root": {"routerType": "Switch", "step": []}}}}
    with pytest.raises(ManifestError, match="step"):
        validate_manifest(typo)
    no_root = switch | {"spec": {"nodes": {"first": switch["spec"]["nodes"]["root"]}}}
    with pytest.raises(ManifestError, match="no root node"):
        validate_manifest(no_root)


def test_a_switch_routes_whole_requests_first_match_first() -> None:
    switch = graph.switch_graph("churn-by-segment", "ml", SEGMENTS, "churn")

    def request(contract: list[str], tenure: list[int]) -> dict[str, Any]:
        return {
            "inputs": [
                {
                    "name": "Contract",
                    "datatype": "BYTES",
                    "shape": [len(contract)],
                    "data": contract,
                },
                {"name": "tenure", "datatype": "INT64", "shape": [len(tenure)], "data": tenure},
            ]
        }

    def reached(req: dict[str, Any]) -> str:
        return (
            graph.route(switch, req).split("/")[2].removesuffix("-predictor.ml.svc.cluster.local")
        )

    assert reached(request(["Month-to-month"], [3])) == "churn-month-to-month"  # both: first wins
    assert reached(request(["One year"], [3])) == "churn-new-customers"
    assert reached(request(["Two year"], [40])) == "churn"
    # Any row of a batch in the segment sends the whole request there.
    assert reached(request(["Two year", "Month-to-month"], [40, 40])) == "churn-month-to-month"
    # Not a V2 request: no step matches, the router's 404.
    with pytest.raises(LookupError, match="None of the routes matched"):
        graph.route(switch, {"instances": [[1, 2]]})


def test_a_splitter_draws_steps_by_weight() -> None:
    splitter = graph.splitter_graph("churn-split", "ml", [("churn", 80), ("churn-b", 20)])
    rng = random.Random(7)
    counts = Counter(graph.route(splitter, {"inputs": []}, rng=rng) for _ in range(5000))
    share = counts[graph.service_url("churn-b", "ml")] / 5000
    assert abs(share - 0.20) < 0.02


@pytest.fixture
def servers(bundles: Bundles, tmp_path: Path) -> Iterator[dict[str, LocalServer]]:
    """The segment's model (the challenger bundle) and the default model (the champion), each a
    real ``python -m serving`` under its InferenceService's name."""
    wanted = {"churn-month-to-month": bundles.challenger, "churn": bundles.champion}

    def start(item: tuple[str, Path]) -> LocalServer:
        name, bundle = item
        return start_server(str(bundle), model_name=name, log_path=str(tmp_path / f"{name}.log"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        started = dict(zip(wanted, pool.map(start, wanted.items()), strict=True))
    yield started
    for server in started.values():
        stop_server(server)


def test_telco_rows_reach_the_model_the_graph_routes_them_to(
    bundles: Bundles, servers: dict[str, LocalServer]
) -> None:
    switch = graph.switch_graph("churn-by-segment", "kfp-tabular", SEGMENTS[:1], "churn")
    records = bundles.records(80)
    schema = load_bundle(str(bundles.champion)).schema
    in_segment = (bundles.test_rows.head(80)["Contract"] == "Month-to-month").to_numpy()
    assert 0 < in_segment.sum() < len(records)  # both routes taken
    expected = {
        "churn-month-to-month": load_bundle(str(bundles.challenger)).predict_proba_records(records),
        "churn": load_bundle(str(bundles.champion)).predict_proba_records(records),
    }
    by_host = {
        graph.service_url(name, "kfp-tabular").split("/v2/")[0]: server
        for name, server in servers.items()
    }
    with httpx.Client(timeout=30) as client:
        for i, record in enumerate(records):
            request = v2_request([record], schema)
            url = graph.route(switch, request)  # what KServe's router would call
            host, path = url.split("/v2/")
            name = "churn-month-to-month" if in_segment[i] else "churn"
            assert by_host[host].model_name == name, f"row {i}: routed to {host}"
            response = client.post(f"{by_host[host].url}/v2/{path}", content=orjson.dumps(request))
            assert response.status_code == 200, response.text
            probability = v2_output(orjson.loads(response.content), "probability").ravel()[0]
            # compiled trees: within 1e-6 of the booster (components/_shared/compiled.py)
            np.testing.assert_allclose(probability, expected[name][i], rtol=0, atol=1e-6)
    # The models differ, so the check above tells which one answered.
    assert not np.allclose(expected["churn"], expected["churn-month-to-month"])


def test_every_telco_test_row_is_routed_as_its_fields_say(bundles: Bundles) -> None:
    """All test rows, two segments in order: the graph's route equals the pandas rule."""
    switch = graph.switch_graph("churn-by-segment", "kfp-tabular", SEGMENTS, "churn")
    rows = bundles.test_rows
    schema = load_bundle(str(bundles.champion)).schema
    records = bundles.records(len(rows))
    expected = np.where(
        rows["Contract"] == "Month-to-month",
        "churn-month-to-month",
        np.where(rows["tenure"] < 12, "churn-new-customers", "churn"),
    )
    got = [
        graph.route(switch, v2_request([r], schema)).split("/v2/models/")[1].removesuffix("/infer")
        for r in records
    ]
    assert got == list(expected)
    assert set(got) == {"churn-month-to-month", "churn-new-customers", "churn"}
