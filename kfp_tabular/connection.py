"""Connect to a Kubeflow Pipelines API server with kfp.Client, and explain failures in one line.

Where the server is (first that applies):

- ``--host`` or ``KFP_HOST`` (``KF_PIPELINES_ENDPOINT`` too, as kfp.Client reads it): a URL such
  as ``https://kubeflow.example.com/pipeline`` or a port-forward ``http://localhost:8888``;
- no host, inside a pod: the in-cluster service ``ml-pipeline.kubeflow.svc.cluster.local:8888``;
- no host, outside: the kube context (``--kube-context`` or the current one in ``~/.kube/config``),
  through the Kubernetes API server's service proxy to ``ml-pipeline`` in namespace ``kubeflow``.

Credentials (first that applies; none are ever printed):

- ``--token`` or ``KFP_TOKEN``: a bearer token (e.g. ``gcloud auth print-access-token``, or a
  Dex/OIDC id token);
- ``--token-file PATH``: the same, read from a file (keeps the token out of ``ps`` and history);
- the projected service-account token (``KF_PIPELINES_SA_TOKEN_PATH``, default
  ``/var/run/secrets/kubeflow/pipelines/token``) when that file exists: KFP's
  ``ServiceAccountTokenVolumeCredentials``, which re-reads the file as the kubelet rotates it;
- otherwise the kube context's own credentials (no host) or none (a port-forward).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kfp
import kfp_server_api
import urllib3
from kfp.client import KF_PIPELINES_SA_TOKEN_ENV, KF_PIPELINES_SA_TOKEN_PATH
from kfp.client.set_volume_credentials import ServiceAccountTokenVolumeCredentials

from kfp_tabular.errors import CliError
from kfp_tabular.redact import Redactor

HOST_ENV = "KFP_HOST"
TOKEN_ENV = "KFP_TOKEN"
NAMESPACE_ENV = "KFP_NAMESPACE"
# kfp.Client's own namespace argument doubles as "where KFP is installed" (in-cluster DNS name,
# kube proxy path); the user's profile namespace is passed to each call instead (see connect).
KFP_INSTALL_NAMESPACE = "kubeflow"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The connection options shared by ``submit`` and ``schedule``."""
    group = parser.add_argument_group("connection (credentials are never printed)")
    group.add_argument(
        "--host",
        default=os.environ.get(HOST_ENV),
        help=f"KFP API URL, e.g. https://<kubeflow>/pipeline (default: ${HOST_ENV}; "
        "without one: in-cluster service, or the kube context)",
    )
    group.add_argument(
        "--namespace",
        default=os.environ.get(NAMESPACE_ENV),
        help=f"your profile namespace on multi-user Kubeflow (default: ${NAMESPACE_ENV})",
    )
    group.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"bearer token (default: ${TOKEN_ENV}); prefer --token-file",
    )
    group.add_argument("--token-file", type=Path, help="file holding a bearer token")
    group.add_argument(
        "--kube-context", help="kubeconfig context to reach KFP through (only without --host)"
    )
    group.add_argument("--ssl-ca-cert", help="CA bundle to verify the server's TLS certificate")


@dataclass
class Connection:
    """A connected client, where it points, and the namespace to create things in."""

    client: kfp.Client
    where: str
    namespace: str


class _Client(kfp.Client):
    """kfp.Client whose start-up health check is tried once.

    kfp.Client's ``get_kfp_healthz`` retries five times, 5 s apart, logging a traceback (with
    the server's response headers) each time: 25 s of noise before a wrong host is reported.
    One try is enough for a command line; the response is kept to read ``multi_user``.
    """

    healthz: Any = None

    def get_kfp_healthz(self, sleep_duration: int = 5) -> Any:
        self.healthz = self._healthz_api.healthz_service_get_healthz()
        return self.healthz


def normalize_host(host: str) -> str:
    """``host`` with a scheme (https when none, as kfp.Client assumes) and no trailing slash."""
    host = host.strip().rstrip("/")
    return host if re.match(r"^https?://", host) else f"https://{host}"


def _read_token_file(path: Path, redactor: Redactor) -> str:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise CliError(f"--token-file {path}: cannot read it ({exc.strerror})") from None
    if not token:
        raise CliError(f"--token-file {path}: the file is empty; expected a bearer token")
    redactor.add(token)
    return token


def credential_arguments(
    args: argparse.Namespace, redactor: Redactor
) -> tuple[dict[str, Any], str]:
    """Keyword arguments for kfp.Client carrying the credentials, and how they were found.

    The description names the source (never the value), for the progress line.
    """
    if args.token:
        redactor.add(args.token)
        return {"existing_token": args.token}, "the token from --token/$" + TOKEN_ENV
    if args.token_file is not None:
        return (
            {"existing_token": _read_token_file(args.token_file, redactor)},
            f"the token in {args.token_file}",
        )
    sa_path = Path(os.environ.get(KF_PIPELINES_SA_TOKEN_ENV) or KF_PIPELINES_SA_TOKEN_PATH)
    if sa_path.is_file():
        # Registered for masking only; the credentials object re-reads the file per request.
        with contextlib.suppress(OSError):
            redactor.add(sa_path.read_text())
        return (
            {"credentials": ServiceAccountTokenVolumeCredentials(str(sa_path))},
            f"service-account token {sa_path}",
        )
    if args.host:
        return {}, "no credentials"
    context = args.kube_context or "current context"
    return {"kube_context": args.kube_context}, f"kube config ({context})"


def _where(args: argparse.Namespace) -> str:
    """Human name of the endpoint, for messages."""
    if args.host:
        return normalize_host(args.host)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return f"ml-pipeline.{KFP_INSTALL_NAMESPACE}.svc.cluster.local:8888 (in-cluster)"
    return f"ml-pipeline in namespace {KFP_INSTALL_NAMESPACE} via kube context " + (
        args.kube_context or "(current)"
    )


def _check_reachable_somehow(args: argparse.Namespace) -> None:
    """Fail early, with the way out, when no host is given and no cluster config exists.

    Without this, kfp.Client prints "Failed to load kube config." and goes on against
    http://localhost, which fails later with a misleading message.
    """
    if args.host:
        if args.kube_context:
            raise CliError("--kube-context is used only without --host; give one of them")
        return
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    has_kubeconfig = any(Path(p).is_file() for p in kubeconfig.split(os.pathsep) if p)
    if not (in_cluster or has_kubeconfig):
        raise CliError(
            f"no Kubeflow Pipelines host: pass --host https://<kubeflow>/pipeline or set "
            f"${HOST_ENV}, or use a kube context (--kube-context; none found at {kubeconfig})"
        )


def connect(args: argparse.Namespace, redactor: Redactor) -> tuple[Connection, str]:
    """A kfp.Client for the parsed connection options, and a line describing how it connected.

    Raises :class:`CliError` with the reason when the server cannot be reached or refuses.
    """
    _check_reachable_somehow(args)
    client_kwargs, how = credential_arguments(args, redactor)
    where = _where(args)
    if args.ssl_ca_cert:
        client_kwargs["ssl_ca_cert"] = args.ssl_ca_cert
    with warnings.catch_warnings(), calling(where, "checking the API server (healthz)"):
        # Emitted on every construction; not actionable for our users.
        warnings.filterwarnings("ignore", message="This client only works", category=FutureWarning)
        client = _Client(
            host=normalize_host(args.host) if args.host else None,
            namespace=KFP_INSTALL_NAMESPACE,
            **client_kwargs,
        )
    namespace = args.namespace or client.get_user_namespace() or ""
    multi_user = bool(getattr(client.healthz, "multi_user", False))
    if multi_user and not namespace:
        raise CliError(
            f"Kubeflow Pipelines at {where} is multi-user: pass --namespace "
            f"<your profile namespace> (or set ${NAMESPACE_ENV})"
        )
    return Connection(client=client, where=where, namespace=namespace), how


def _connection_reason(reason: object) -> str:
    """urllib3's reason without its "HTTPConnection(host=..., port=...): " prefix."""
    text = str(reason)
    return re.sub(r"^\w*Connection(Pool)?\(host=[^)]*\):\s*", "", text)


def _server_message(exc: kfp_server_api.ApiException) -> str:
    """The message in a KFP error body (``message`` or ``error_message``), else the body."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body or ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("error_message") or parsed)[:500]
    return body.strip()[:300]


def _failure_kind(reason: object) -> str:
    """A short name for why a connection failed; order matters, as urllib3 2's
    NewConnectionError subclasses ConnectTimeoutError and NameResolutionError subclasses both.
    """
    errors = urllib3.exceptions
    if isinstance(reason, errors.NameResolutionError):
        return "DNS lookup failed"
    if isinstance(reason, errors.NewConnectionError):
        return "connection failed"
    if isinstance(reason, errors.SSLError):
        return "TLS failed"
    if isinstance(reason, errors.TimeoutError):
        return "timed out"
    if isinstance(reason, errors.ProxyError):
        return "proxy failed"
    return "connection failed"


def explain(exc: BaseException, where: str, what: str) -> CliError | None:
    """A one-line :class:`CliError` for a failed call to the API server, or None if unknown."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        reason = exc.reason
        kind = _failure_kind(reason)
        return CliError(
            f"cannot reach Kubeflow Pipelines at {where}: {kind}: {_connection_reason(reason)}"
        )
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return CliError(f"cannot reach Kubeflow Pipelines at {where}: {_connection_reason(exc)}")
    if isinstance(exc, kfp_server_api.ApiException):
        if not exc.status:  # kfp_server_api's wrapper for TLS errors
            return CliError(f"cannot reach Kubeflow Pipelines at {where}: {exc.reason}")
        status = f"HTTP {exc.status} {exc.reason or ''}".strip()
        message = _server_message(exc)
        if exc.status in (401, 403):
            hint = "check --token / --token-file, or the kube context's credentials"
            return CliError(
                f"Kubeflow Pipelines at {where} refused {what}: {status}: {message} ({hint})"
            )
        if exc.status == 404 and "healthz" in what:
            return CliError(
                f"{where} answered {status} for /apis/v2beta1/healthz: is it the Kubeflow "
                "Pipelines API endpoint? (e.g. https://<kubeflow>/pipeline or a port-forward "
                "of svc/ml-pipeline 8888)"
            )
        return CliError(f"Kubeflow Pipelines at {where} rejected {what}: {status}: {message}")
    if isinstance(exc, OSError):
        # A ServiceAccountTokenVolumeCredentials re-read, or a socket error below urllib3.
        return CliError(f"{what} failed: {exc}")
    return None


@contextlib.contextmanager
def calling(where: str, what: str) -> Iterator[None]:
    """Turn a failed API call into a :class:`CliError` naming the endpoint and the step."""
    try:
        yield
    except CliError:
        raise
    except Exception as exc:
        error = explain(exc, where, what)
        if error is None:
            raise
        raise error from None
