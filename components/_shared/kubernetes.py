"""The one way this project reaches a Kubernetes API server: a CustomObjectsApi.

deploy (apply and wait) and rollout (patch traffic) both call :func:`custom_objects_api`; the
calls each makes are listed in their ``API_CALLS``, which the RBAC Role in manifests/ grants
exactly (tests/manifests/test_rbac.py).
"""

from __future__ import annotations

from typing import Any


def custom_objects_api() -> Any:
    """A CustomObjectsApi from the in-cluster service account, else the local kube config."""
    from kubernetes import client, config  # imported here: only the cluster targets need it

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()
