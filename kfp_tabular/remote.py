"""What ``submit`` and ``schedule`` share: options, the error boundary, the experiment.

Each remote subcommand is ``run_command(parser, argv, body)``: the body does the work and raises
:class:`~kfp_tabular.errors.CliError` for anything the user must fix; the boundary prints that
one masked line and returns its exit code, so no traceback (or token) reaches the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from kfp_tabular import connection, package, params
from kfp_tabular.errors import EXIT_USAGE, CliError
from kfp_tabular.package import Package
from kfp_tabular.progress import Progress
from kfp_tabular.redact import Redactor, secrets_in_argv

Body = Callable[[argparse.Namespace, Progress, Redactor], int]


class RemoteParser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages go through the redactor.

    argparse quotes the offending arguments ("unrecognized arguments: --tokn s3cr3t").
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redactor = Redactor()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, self.redactor.mask(f"{self.prog}: error: {message}\n"))


def new_parser(prog: str, description: str | None) -> RemoteParser:
    """A parser with the options every remote subcommand takes."""
    parser = RemoteParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "pipeline",
        nargs="?",
        help="compiled package (.yaml) or a pipeline name from the registry, compiled now "
        "(default: pipelines/compiled/train_and_rollout.yaml)",
    )
    parser.add_argument(
        "-e",
        "--experiment",
        default=os.environ.get("KF_PIPELINES_DEFAULT_EXPERIMENT_NAME") or "Default",
        help="experiment name, created if missing (default: $KF_PIPELINES_DEFAULT_EXPERIMENT_NAME "
        "or Default)",
    )
    parser.add_argument("--service-account", help="Kubernetes service account of the run's pods")
    parser.add_argument(
        "--pipeline-root", help="where the run's artifacts go, e.g. gs://bucket/root"
    )
    caching = parser.add_mutually_exclusive_group()
    caching.add_argument(
        "--caching",
        dest="caching",
        action="store_true",
        default=True,
        help="each task as compiled (default): pure steps may be served from KFP's cache; "
        "steps that read changing inputs or act (validate, compare, gate, deploy, rollout, "
        "shadow, drift) never are",
    )
    caching.add_argument(
        "--no-caching",
        "--no-cache",
        dest="caching",
        action="store_false",
        help="no task is served from cache",
    )
    params.add_arguments(parser)
    connection.add_arguments(parser)
    return parser


def run_command(parser: RemoteParser, argv: list[str] | None, body: Body) -> int:
    """Parse ``argv`` and run ``body``; a :class:`CliError` becomes one line and its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    redactor = Redactor()
    for secret in secrets_in_argv(argv):
        redactor.add(secret)
    redactor.add(os.environ.get(connection.TOKEN_ENV))
    parser.redactor = redactor
    progress = Progress(redactor)
    args = parser.parse_args(argv)
    try:
        return body(args, progress, redactor)
    except CliError as error:
        progress.error(parser.prog, str(error))
        return error.exit_code
    except KeyboardInterrupt:
        progress.error(parser.prog, "interrupted; anything already created stays in the cluster")
        return 130


def open_connection(
    args: argparse.Namespace, progress: Progress, redactor: Redactor
) -> connection.Connection:
    """Connect, announcing where and with which kind of credentials (never their value)."""
    with progress.step(f"connecting to Kubeflow Pipelines ({_target(args)})"):
        remote, how = connection.connect(args, redactor)
    namespace = f", namespace {remote.namespace}" if remote.namespace else ""
    progress.info(f"connected to {remote.where} with {how}{namespace}")
    return remote


@contextlib.contextmanager
def caching(args: argparse.Namespace, pipeline: Package, progress: Progress) -> Iterator[Package]:
    """The package to send: as compiled (``--caching``), or with no task from cache.

    kfp.Client's ``enable_caching`` is left None either way: True would let KFP serve deploy or
    rollout from cache and skip what they do, and False misses tasks inside sub-DAGs
    (:func:`kfp_tabular.package.caching_off`).
    """
    if args.caching:
        progress.info("caching: as compiled (README: Caching)")
        yield pipeline
        return
    progress.info("caching: off for every task (--no-caching)")
    with package.caching_off(pipeline) as uncached:
        yield uncached


# Where the deploy and rollout steps call the Kubernetes API, the run's account is theirs.
DEPLOYER_ACCOUNT = "kfp-tabular-deployer"


def deployer_note(
    args: argparse.Namespace, arguments: dict[str, Any], declared: dict[str, Any]
) -> str | None:
    """A note when the run deploys to Kubernetes without naming its service account.

    KFP sets the service account per run, not per task (kfp-kubernetes has no per-task
    account), so deploy and rollout act as the run's account.
    """
    target = arguments.get("deploy_target", declared.get("deploy_target", {}).get("defaultValue"))
    if target != "kubernetes" or args.service_account:
        return None
    return (
        "deploy_target kubernetes: deploy and rollout call the Kubernetes API as the run's "
        f"service account (KFP sets it per run, not per task); pass --service-account "
        f"{DEPLOYER_ACCOUNT} or bind the {DEPLOYER_ACCOUNT} Role to the run's account "
        "(README: Cluster settings)"
    )


def _target(args: argparse.Namespace) -> str:
    return connection.normalize_host(args.host) if args.host else "no --host: cluster config"


def experiment_id(remote: connection.Connection, name: str, progress: Progress) -> str:
    """The id of experiment ``name`` in the connection's namespace, created if missing."""
    with (
        progress.step(f"finding or creating experiment {name!r}"),
        connection.calling(remote.where, f"finding or creating experiment {name!r}"),
        progress.relaying_stdout(),
    ):
        experiment: Any = remote.client.create_experiment(
            name=name, namespace=remote.namespace or None
        )
    return str(experiment.experiment_id)
