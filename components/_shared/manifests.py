"""Offline validation of Kubernetes manifests: CRDs against strict schemas, core kinds too.

Custom resources (KServe, Istio, Seldon) are checked against the ``strict`` JSON Schemas in
``crd_schemas/`` (``index.json`` maps ``apiVersion/kind`` to a file): they reject unknown fields
the way ``kubectl apply --validate=strict`` does. Core kinds (ServiceAccount, Deployment, CronJob,
Role, ...) are checked with ``kubernetes-validate`` against the Kubernetes OpenAPI schemas.
Neither emulates admission webhooks; :func:`validate_manifest` adds the cheap rules they miss:
the DNS-1123 syntax of ``metadata.name``, and for a SeldonDeployment and an InferenceGraph the
webhook's structural rules (:func:`seldon_problems`, :func:`inference_graph_problems`).

Used by the manifest tests and by the deploy step before it writes or applies anything (so both
validators are runtime dependencies, in the image); they are imported only when a document is
checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from components._shared.errors import KfpTabularError

SCHEMA_DIR: Final = Path(__file__).parent / "crd_schemas"
DEFAULT_KUBERNETES_VERSION: Final = "1.30"
# RFC 1123 label, the rule for most object names (at most 63 characters here: Services,
# and the names KServe derives from an InferenceService, must fit a DNS label).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ManifestError(KfpTabularError):
    """A manifest document does not validate; the message names the document and the field."""


def _where(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    return f"{doc.get('kind', '?')} {meta.get('name', '?')!s}"


@cache
def _index() -> dict[str, dict[str, str]]:
    return json.loads((SCHEMA_DIR / "index.json").read_text(encoding="utf-8"))


@cache
def _crd_validator(api_kind: str) -> Any:
    from jsonschema import Draft7Validator

    schema = json.loads((SCHEMA_DIR / _index()[api_kind]["strict"]).read_text(encoding="utf-8"))
    return Draft7Validator(schema)


def is_custom_resource(doc: Mapping[str, Any]) -> bool:
    """Whether the document's apiVersion/kind has a strict CRD schema here."""
    return f"{doc.get('apiVersion')}/{doc.get('kind')}" in _index()


def validate_manifest(
    doc: Mapping[str, Any], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> None:
    """Validate one document; ManifestError naming the document, the field path and the rule.

    Args:
        doc: The parsed document (apiVersion, kind, metadata, ...).
        kubernetes_version: Kubernetes version of the core schemas (``kubernetes-validate``).
    """
    if not isinstance(doc, Mapping) or "apiVersion" not in doc or "kind" not in doc:
        raise ManifestError("manifest: expected an object with apiVersion and kind")
    where = _where(doc)
    name = (doc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.match(name):
        raise ManifestError(
            f"{where}: metadata.name: expected a DNS-1123 label (lower case letters, digits, '-', "
            f"at most 63 characters), got {name!r}"
        )
    api_kind = f"{doc['apiVersion']}/{doc['kind']}"
    if is_custom_resource(doc):
        errors = sorted(
            _crd_validator(api_kind).iter_errors(dict(doc)), key=lambda e: list(e.absolute_path)
        )
        if errors:
            first = errors[0]
            path = ".".join(str(p) for p in first.absolute_path) or "(document)"
            raise ManifestError(
                f"{where}: {path}: {first.message} (strict {api_kind} schema; "
                f"{len(errors)} error(s))"
            )
        problem = _webhook_problem(doc)
        if problem:
            raise ManifestError(f"{where}: {problem}")
        return
    try:
        from kubernetes_validate import utils as kv
    except ImportError:  # pragma: no cover - a runtime dependency, absent only in odd installs
        raise ManifestError(
            f"{where}: validating core kind {api_kind} needs the kubernetes-validate package"
        ) from None
    try:
        kv.validate(dict(doc), kubernetes_version, strict=True)
    except kv.SchemaNotFoundError:
        raise ManifestError(
            f"{where}: no schema for {api_kind} (neither a known CRD nor a Kubernetes "
            f"{kubernetes_version} core kind)"
        ) from None
    except kv.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(document)"
        raise ManifestError(f"{where}: {path}: {exc.message}") from None


def _webhook_problem(doc: Mapping[str, Any]) -> str | None:
    """The first admission-webhook rule a schema-valid custom resource breaks, if any."""
    checks = {"SeldonDeployment": seldon_problems, "InferenceGraph": inference_graph_problems}
    check = checks.get(str(doc.get("kind")))
    problems = check(doc) if check else []
    return problems[0] if problems else None


def _graph_nodes(unit: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield unit
    for child in unit.get("children") or []:
        yield from _graph_nodes(child)


def seldon_problems(doc: Mapping[str, Any]) -> list[str]:
    """Seldon Core v1's validating webhook (``seldondeployment_webhook.go``): protocol and
    transport values, unique predictor names, a container per custom graph node, a logger mode,
    at most one shadow (never alone), and traffic summing to 100 over several live predictors."""
    spec = doc.get("spec") or {}
    found = []
    if spec.get("protocol", "") not in ("", "seldon", "tensorflow", "kfserving", "v2"):
        found.append(f"spec.protocol: Invalid protocol {spec.get('protocol')!r}")
    if spec.get("transport", "") not in ("", "rest", "grpc"):
        found.append(f"spec.transport: Invalid transport {spec.get('transport')!r}")
    predictors = spec.get("predictors") or []
    names = [p.get("name") for p in predictors]
    if len(set(names)) != len(names):
        found.append(f"spec.predictors[].name: duplicate predictor names {names}")
    for i, predictor in enumerate(predictors):
        containers = {
            c.get("name")
            for component in predictor.get("componentSpecs") or []
            for c in ((component or {}).get("spec") or {}).get("containers") or []
        }
        for node in _graph_nodes(predictor.get("graph") or {}):
            custom = node.get("implementation") in (None, "UNKNOWN_IMPLEMENTATION")
            if custom and node.get("name") not in containers:
                found.append(
                    f"spec.predictors[{i}].graph: no container named {node.get('name')!r} "
                    f"for the graph node (containers {sorted(containers)})"
                )
            if "logger" in node and not (node["logger"] or {}).get("mode"):
                found.append(f"spec.predictors[{i}].graph.logger.mode: no logger mode specified")
    return found + _seldon_traffic_problems(predictors)


def _seldon_traffic_problems(predictors: list[Mapping[str, Any]]) -> list[str]:
    shadows = [p for p in predictors if p.get("shadow")]
    live = [p for p in predictors if not p.get("shadow")]
    total = sum(int(p.get("traffic") or 0) for p in live)
    found = []
    if len(shadows) > 1:
        found.append("spec.predictors: multiple shadows are not allowed")
    if predictors and not live:
        found.append("spec.predictors: a shadow can not be the only predictor")
    if any(not 0 <= int(p.get("traffic") or 0) <= 100 for p in shadows):
        found.append("spec.predictors[].traffic: a shadow's traffic must be in [0, 100]")
    if len(live) > 1 and total != 100:
        found.append(f"spec.predictors[].traffic: must sum to 100 over {len(live)}, got {total}")
    if len(predictors) == 1 and 0 < total < 100:
        found.append(f"spec.predictors[0].traffic: a lone predictor's is 0 or 100, got {total}")
    return found


def inference_graph_problems(doc: Mapping[str, Any]) -> list[str]:
    """KServe's InferenceGraph rules no schema carries: a ``root`` node, each step pointing at
    exactly one of nodeName (an existing node), serviceName, serviceUrl; a Switch step has a
    condition; a Splitter's steps have weights summing to 100."""
    nodes = (doc.get("spec") or {}).get("nodes") or {}
    found = [] if "root" in nodes else ["spec.nodes: no root node (the router starts at root)"]
    for node_name, node in nodes.items():
        steps = node.get("steps") or []
        for i, step in enumerate(steps):
            where = f"spec.nodes.{node_name}.steps[{i}]"
            targets = [k for k in ("nodeName", "serviceName", "serviceUrl") if step.get(k)]
            if len(targets) != 1:
                found.append(
                    f"{where}: expected one of nodeName/serviceName/serviceUrl, got {targets}"
                )
            if step.get("nodeName") and step["nodeName"] not in nodes:
                found.append(f"{where}.nodeName: no node {step['nodeName']!r}")
            if node.get("routerType") == "Switch" and not step.get("condition"):
                found.append(f"{where}.condition: a Switch step needs a condition")
        if node.get("routerType") == "Splitter":
            weights = [s.get("weight") for s in steps]
            if None in weights or sum(w or 0 for w in weights) != 100:
                found.append(
                    f"spec.nodes.{node_name}: Splitter weights must all be set and sum to 100, "
                    f"got {weights}"
                )
    return found


def load_documents(path: str | Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a file."""
    text = Path(path).read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def iter_documents(paths: Iterable[str | Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(file, document) for every document of every file."""
    for path in paths:
        for doc in load_documents(path):
            yield Path(path), doc


def validate_files(
    paths: Iterable[str | Path], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> int:
    """Validate every document of ``paths``; the number validated, ManifestError on the first bad."""
    count = 0
    for path, doc in iter_documents(paths):
        try:
            validate_manifest(doc, kubernetes_version=kubernetes_version)
        except ManifestError as exc:
            raise ManifestError(f"{path.name}: {exc}") from None
        count += 1
    return count
