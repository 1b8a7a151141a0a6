"""The deploy/rollout Role grants exactly the (api group, resource, verb) calls their code makes.

deploy declares its calls in ``components/deploy/apply.py: API_CALLS``; rollout in
``components/rollout/patches.py: API_CALLS`` (included when that module exists). A verb granted
but not used, or used but not granted, fails here.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from components._shared.manifests import load_documents
from components.deploy.apply import API_CALLS as DEPLOY_CALLS

RBAC = Path(__file__).resolve().parents[2] / "manifests" / "base" / "rbac.yaml"


def declared_calls() -> set[tuple[str, str, str]]:
    calls = set(DEPLOY_CALLS)
    if importlib.util.find_spec("components.rollout.patches") is not None:
        calls |= set(importlib.import_module("components.rollout.patches").API_CALLS)
    return calls


def granted(kind: str = "Role") -> set[tuple[str, str, str]]:
    (role,) = [d for d in load_documents(RBAC) if d["kind"] == kind]
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_role_grants_exactly_what_deploy_and_rollout_call() -> None:
    grants = granted()
    calls = declared_calls()
    assert grants - calls == set(), f"granted but never called: {sorted(grants - calls)}"
    assert calls - grants == set(), f"called but not granted: {sorted(calls - grants)}"


def test_role_has_no_wildcards_secrets_or_cluster_scope() -> None:
    documents = load_documents(RBAC)
    assert {d["kind"] for d in documents} == {"ServiceAccount", "Role", "RoleBinding"}
    for group, resource, verb in granted():
        assert "*" not in (group, resource, verb)
        assert resource not in {"secrets", "pods", "pods/exec", "roles", "rolebindings"}


def test_binding_ties_the_role_to_the_deployer_account() -> None:
    documents = {d["kind"]: d for d in load_documents(RBAC)}
    binding = documents["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": documents["Role"]["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": documents["ServiceAccount"]["metadata"]["name"]}
    ]
