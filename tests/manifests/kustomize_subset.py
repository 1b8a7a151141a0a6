"""A small, honest subset of kustomize, enough to render this project's overlays in tests.

There is no kustomize binary on the development machines, and the PyPI packages named
"kustomize" are not implementations of it. This renderer supports exactly:

- ``resources``: YAML files and directories holding a ``kustomization.yaml`` (recursively);
- ``patches`` with ``path`` (no ``target``): each patch document is matched to a resource by
  apiVersion, kind and metadata.name, and merged the way kustomize merges a patch into a kind
  it has no strategic-merge schema for (custom resources): maps merge recursively, lists are
  replaced whole, ``null`` deletes a field;
- ``namespace``: set on every resource's ``metadata.namespace`` (all of ours are namespaced).
  Unlike kustomize it does not rewrite RoleBinding subjects; ours carry no namespace, which RBAC
  reads as the binding's own.

Anything else in a kustomization (generators, images, labels, replacements, patch targets,
strategic-merge directives such as ``$patch``) raises NotImplementedError instead of being
silently ignored, so an overlay that needs real kustomize fails here loudly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "patches", "namespace"}


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(copy.deepcopy(target)) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            raise NotImplementedError(f"strategic-merge directive {key!r} is not supported")
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _identity(doc: dict[str, Any]) -> tuple[str, str, str]:
    return (doc["apiVersion"], doc["kind"], doc["metadata"]["name"])


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def build(directory: str | Path) -> list[dict[str, Any]]:
    """The documents ``kustomize build directory`` would give, within the subset above."""
    root = Path(directory)
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text(encoding="utf-8"))
    unsupported = set(kustomization) - SUPPORTED_KEYS
    if unsupported:
        raise NotImplementedError(f"{root}: kustomization keys {sorted(unsupported)} not supported")
    documents: list[dict[str, Any]] = []
    for entry in kustomization.get("resources") or []:
        path = root / entry
        documents += build(path) if path.is_dir() else _load(path)
    identities = [_identity(d) for d in documents]
    if len(set(identities)) != len(identities):
        raise ValueError(f"{root}: duplicate resources {identities}")
    for patch_entry in kustomization.get("patches") or []:
        if set(patch_entry) != {"path"}:
            raise NotImplementedError(f"{root}: patch {patch_entry} (only `path` is supported)")
        for patch in _load(root / patch_entry["path"]):
            index = identities.index(_identity(patch))  # ValueError: patch matches nothing
            documents[index] = _merge(documents[index], patch)
    if "namespace" in kustomization:
        for doc in documents:
            doc.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    return documents
