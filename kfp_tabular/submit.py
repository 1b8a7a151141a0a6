"""Create one run of a pipeline on Kubeflow Pipelines (kfp.Client), optionally waiting for it.

    kfp-tabular submit --host https://kubeflow.example.com/pipeline -f churn.yaml -e churn
    kfp-tabular submit train_and_rollout --param target=Churn --param positive_label=Yes \\
        --param data_uri=gs://bucket/churn.csv --wait --timeout 3600

The pipeline is a compiled package (default pipelines/compiled/train_and_rollout.yaml) or a
registry name compiled now. Parameters come from a YAML/JSON file (-f) and --param KEY=VALUE,
checked against the pipeline's declared types before anything is sent. For train_and_rollout
with ``registered_model_name`` and a tracking URI, an empty (or ``models:/``) ``champion_uri`` is
resolved from the model registry's champion now, once for the run (kfp_tabular/champion.py).

Exit codes: 0 created (with --wait: SUCCEEDED), 1 the run FAILED, was CANCELED or did not
finish within --timeout, 2 usage or configuration error (nothing was started, or the server
refused). Progress goes to stderr; stdout gets run_id, run_name and experiment_id lines.
"""

from __future__ import annotations

import argparse

from kfp_tabular import champion, connection, package, params, remote
from kfp_tabular.errors import EXIT_OK, EXIT_RUN_FAILED, CliError
from kfp_tabular.progress import Progress
from kfp_tabular.redact import Redactor
from kfp_tabular.watch import WaitOptions, wait_for_run


def build_parser() -> remote.RemoteParser:
    """``kfp-tabular submit`` options."""
    parser = remote.new_parser("kfp-tabular submit", __doc__)
    parser.add_argument("-n", "--run-name", help="run name (default: <pipeline> <UTC time>)")
    group = parser.add_argument_group("waiting")
    group.add_argument("--wait", action="store_true", help="follow the run's state until it ends")
    group.add_argument(
        "--timeout", type=float, help="with --wait: give up after this many seconds (exit 1)"
    )
    group.add_argument(
        "--poll-seconds", type=float, help="with --wait: seconds between polls (default 5)"
    )
    return parser


def submit(args: argparse.Namespace, progress: Progress, redactor: Redactor) -> int:
    """Resolve the package and parameters, connect, create the run, and maybe wait for it."""
    if (args.timeout is not None or args.poll_seconds is not None) and not args.wait:
        raise CliError("--timeout and --poll-seconds apply only with --wait")
    poll_seconds = 5.0 if args.poll_seconds is None else args.poll_seconds
    if poll_seconds <= 0 or (args.timeout is not None and args.timeout <= 0):
        raise CliError("--poll-seconds and --timeout must be positive numbers of seconds")
    with (
        package.resolve(args.pipeline, progress) as resolved,
        remote.caching(args, resolved, progress) as pipeline,
    ):
        arguments = params.build(pipeline, args.params_file, args.param)
        arguments, found = champion.for_package(arguments, pipeline.parameters)
        if found is not None:
            progress.info(f"champion {found.source}" + (f" -> {found.uri}" if found.uri else ""))
        progress.info(
            f"pipeline {pipeline.name} from {pipeline.source}; "
            f"parameters set: {', '.join(sorted(arguments)) or 'none (defaults)'}"
        )
        if note := remote.deployer_note(args, arguments, pipeline.parameters):
            progress.info(note)
        kfp = remote.open_connection(args, progress, redactor)
        experiment = remote.experiment_id(kfp, args.experiment, progress)
        run_name = args.run_name or f"{pipeline.name} {progress.now()}"
        with (
            progress.step(f"creating run {run_name!r} in experiment {args.experiment!r}"),
            connection.calling(kfp.where, "creating the run"),
            progress.relaying_stdout(),
        ):
            created = kfp.client.create_run_from_pipeline_package(
                str(pipeline.path),
                arguments=arguments,
                run_name=run_name,
                experiment_id=experiment,
                pipeline_root=args.pipeline_root,
                enable_caching=None,  # as the package says: remote.caching
                service_account=args.service_account,
            )
    run_id = str(created.run_id)
    progress.result(f"run_id: {run_id}")
    progress.result(f"run_name: {run_name}")
    progress.result(f"experiment_id: {experiment}")
    if not args.wait:
        return EXIT_OK
    options = WaitOptions(timeout=args.timeout, poll_seconds=poll_seconds)
    try:
        with connection.calling(kfp.where, f"reading run {run_id}"):
            return wait_for_run(kfp.client.get_run, run_id, progress, options)
    except CliError as error:
        if error.exit_code == EXIT_RUN_FAILED:
            raise
        # Lost contact: the run exists and only its outcome is unknown. That is "did not
        # finish" (1), not a configuration error (2).
        raise CliError(
            f"{error} (the run was created: {run_id})", exit_code=EXIT_RUN_FAILED
        ) from None


def main(argv: list[str] | None = None) -> int:
    """``kfp-tabular submit``."""
    return remote.run_command(build_parser(), argv, submit)
