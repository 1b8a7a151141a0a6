"""Routing by segment: a KServe InferenceGraph (serving.kserve.io/v1alpha1) in front of
InferenceServices that deploy created, rendered and validated (render only; apply it with
``kubectl apply -f``).

- :func:`switch_graph`: a ``Switch`` root node. Each segment's step carries a condition on a
  request field and sends the request to that segment's model; the last step's condition is
  ``inputs`` (present in every V2 request), so every other request reaches the default model.
- :func:`splitter_graph`: a ``Splitter`` root node, weighted traffic (weights sum to 100).

KServe's router (``cmd/router/main.go``) semantics these rely on:

- the router starts at the node named ``root``;
- Switch: the *first* step whose ``condition`` exists in the request JSON
  (``gjson.GetBytes(request, condition).Exists()``) is taken, so order matters; no match answers
  404 (the default step makes that impossible for a V2 request);
- Splitter: one step drawn with probability ``weight / 100``;
- a step's ``data`` (``$request``, the default, or ``$response``) only matters in a Sequence node,
  where ``$response`` feeds the previous step's response to the next: Switch and Splitter
  always forward the original request, so these graphs leave it unset;
- routing is per request, not per row: a segment condition
  ``inputs.#(name=="col").data.#(=="v")`` holds when *any* row of the request has ``col == v``.
  Send one row per request (or batches already split by segment) when every row must reach its
  own segment's model.

The conditions use the GJSON subset :mod:`components.deploy.gjson` evaluates, and :func:`route`
follows a rendered graph for a request the way the router does, so tests check real rows reach
the model the graph sends them to.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from components._shared import keys
from components._shared.errors import ConfigError, expected_got
from components._shared.manifests import validate_manifest
from components.deploy import gjson
from components.deploy.render import MODE_ANNOTATION, predictor_service_host

API_VERSION: Final = "serving.kserve.io/v1alpha1"
KIND: Final = "InferenceGraph"
ROOT: Final = "root"
# Present in every V2 (Open Inference Protocol) request: the default step's condition.
DEFAULT_CONDITION: Final = "inputs"
OPERATORS: Final = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Segment:
    """Requests whose ``column`` compares true with ``value`` go to InferenceService ``service``."""

    name: str
    column: str
    op: str
    value: str | int | float | bool
    service: str

    def condition(self) -> str:
        """The GJSON condition on a V2 request: the column's input has a matching value."""
        if self.op not in OPERATORS:
            raise ConfigError(expected_got(f"segment {self.name} op", list(OPERATORS), self.op))
        if '"' in self.column or "\\" in self.column:
            raise ConfigError(f"segment {self.name}: column {self.column!r} has a quote")
        return (
            f"inputs.#(name=={json.dumps(self.column)}).data.#({self.op}{json.dumps(self.value)})"
        )


def service_url(service: str, namespace: str) -> str:
    """The V2 infer URL of an InferenceService's predictor inside the cluster (the runtime's
    model name is the InferenceService's name)."""
    return f"http://{predictor_service_host(service, namespace)}/v2/models/{service}/infer"


def _graph(
    name: str, namespace: str, node: dict[str, Any], mode: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "kfp-tabular",
                "app.kubernetes.io/component": "inference-graph",
                "app.kubernetes.io/managed-by": "kfp-tabular-deploy",
                **labels,
            },
            "annotations": {MODE_ANNOTATION: mode},
        },
        "spec": {"nodes": {ROOT: node}},
    }


def switch_graph(
    name: str,
    namespace: str,
    segments: Sequence[Segment],
    default_service: str,
    *,
    mode: str = keys.DEPLOY_MODE_KNATIVE,
) -> dict[str, Any]:
    """A validated InferenceGraph: each segment to its model, every other request to the default."""
    if not segments:
        raise ConfigError("switch_graph: expected at least one segment")
    steps = [
        {
            "name": s.name,
            "serviceUrl": service_url(s.service, namespace),
            "condition": s.condition(),
        }
        for s in segments
    ]
    steps.append(
        {
            "name": "default",
            "serviceUrl": service_url(default_service, namespace),
            "condition": DEFAULT_CONDITION,
        }
    )
    doc = _graph(name, namespace, {"routerType": "Switch", "steps": steps}, mode, {})
    validate_manifest(doc)
    return doc


def splitter_graph(
    name: str,
    namespace: str,
    weights: Sequence[tuple[str, int]],
    *,
    mode: str = keys.DEPLOY_MODE_KNATIVE,
) -> dict[str, Any]:
    """A validated InferenceGraph splitting requests by weight: ``(service, percent)`` pairs."""
    steps = [
        {"name": service, "serviceUrl": service_url(service, namespace), "weight": int(weight)}
        for service, weight in weights
    ]
    doc = _graph(name, namespace, {"routerType": "Splitter", "steps": steps}, mode, {})
    validate_manifest(doc)
    return doc


def route(graph: Mapping[str, Any], request: Any, *, rng: random.Random | None = None) -> str:
    """The serviceUrl a request reaches, following the graph from ``root`` as KServe's router
    does; LookupError when a Switch matches no step (the router's 404)."""
    nodes = graph["spec"]["nodes"]
    node = nodes[ROOT]
    rng = rng or random.Random()
    while True:
        steps = node.get("steps") or []
        if node["routerType"] == "Switch":
            step = next((s for s in steps if gjson.exists(request, s.get("condition", ""))), None)
            if step is None:
                raise LookupError("None of the routes matched with the switch condition")
        elif node["routerType"] == "Splitter":
            point, end, step = rng.randrange(100), 0, None
            for candidate in steps:
                end += int(candidate["weight"])
                if point < end:
                    step = candidate
                    break
            if step is None:  # pragma: no cover - validated weights sum to 100
                raise LookupError("Splitter weights do not cover the draw")
        else:
            raise ValueError(f"route: router type {node['routerType']!r} is not followed here")
        if step.get("nodeName"):
            node = nodes[step["nodeName"]]
            continue
        return str(step.get("serviceUrl") or step.get("serviceName"))
