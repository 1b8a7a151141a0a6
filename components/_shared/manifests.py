"""Offline validation of Kubernetes manifests: CRDs against strict schemas, core kinds too.

Custom resources (KServe, Istio, Seldon) are checked against the ``strict`` JSON Schemas in
``crd_schemas/`` (``index.json`` maps ``apiVersion/kind`` to a file): they reject unknown fields
the way ``kubectl apply --validate=strict`` does. Core kinds (ServiceAccount, Deployment, CronJob,
Role, ...) are checked with ``kubernetes-validate`` against the Kubernetes OpenAPI schemas.
Neither emulates admission webhooks; :func:`validate_manifest` adds the one cheap rule they
miss, the DNS-1123 syntax of ``metadata.name``.

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
