"""Create a recurring run (a cron schedule) of a pipeline on Kubeflow Pipelines.

    kfp-tabular schedule --host https://kubeflow.example.com/pipeline --cron "0 2 * * *" \\
        --name nightly-churn -e churn -f churn.yaml --max-concurrency 1 --no-catchup

Cron: KFP reads six fields with seconds first (robfig/cron v1.2.0). A five-field crontab line
(minute hour day month weekday) is converted by prepending 0 seconds: "0 2 * * *" (02:00
every day) is sent as "0 0 2 * * *". Six fields and @daily, @hourly, @every 6h are sent as
they are. Times follow the KFP scheduler's time zone (UTC on a default install).

Start and end times are ISO 8601 (2025-02-01T00:00:00Z; without a zone, UTC). The schedule is
enabled unless --disable. Exit codes: 0 created, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
from typing import Any

from kfp_tabular import champion, connection, package, params, remote
from kfp_tabular.cron import rfc3339, to_kfp_cron
from kfp_tabular.errors import EXIT_OK, CliError
from kfp_tabular.progress import Progress
from kfp_tabular.redact import Redactor

# RecurringRun.max_concurrency bounds checked by the API server (api_converter.go).
MAX_CONCURRENCY = 10


def build_parser() -> remote.RemoteParser:
    """``kfp-tabular schedule`` options."""
    parser = remote.new_parser("kfp-tabular schedule", __doc__)
    group = parser.add_argument_group("schedule")
    group.add_argument(
        "--cron",
        required=True,
        help='"0 2 * * *" (5 fields, converted) or "0 0 2 * * *" (6, seconds first) or @daily',
    )
    group.add_argument("--name", help="recurring run name (default: <pipeline> <cron>)")
    group.add_argument("--description", help="recurring run description")
    group.add_argument(
        "--max-concurrency",
        type=int,
        default=1,
        help=f"runs of this schedule allowed at once, 1-{MAX_CONCURRENCY} (default 1)",
    )
    group.add_argument("--start-time", help="first possible run, ISO 8601 (default: now)")
    group.add_argument("--end-time", help="no runs after this, ISO 8601 (default: never)")
    group.add_argument(
        "--no-catchup",
        action="store_true",
        help="after a pause, run once instead of once per missed interval",
    )
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--enable", dest="enabled", action="store_true", default=True, help="enabled (default)"
    )
    mode.add_argument("--disable", dest="enabled", action="store_false", help="created disabled")
    return parser


def _checked_schedule(args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Cron, times and concurrency, validated before anything is sent."""
    cron, note = to_kfp_cron(args.cron)
    if note:
        progress.info(note)
    if not 1 <= args.max_concurrency <= MAX_CONCURRENCY:
        raise CliError(
            f"--max-concurrency {args.max_concurrency}: KFP accepts 1 to {MAX_CONCURRENCY}"
        )
    start, end = rfc3339("--start-time", args.start_time), rfc3339("--end-time", args.end_time)
    if start and end and end <= start:  # same format, so text order is time order
        raise CliError(f"--end-time {end} is not after --start-time {start}")
    return {
        "cron_expression": cron,
        "start_time": start,
        "end_time": end,
        "max_concurrency": args.max_concurrency,
        "no_catchup": True if args.no_catchup else None,
        "enabled": args.enabled,
    }


def schedule(args: argparse.Namespace, progress: Progress, redactor: Redactor) -> int:
    """Validate, connect, find the experiment, create the recurring run."""
    trigger = _checked_schedule(args, progress)
    with (
        package.resolve(args.pipeline, progress) as resolved,
        remote.caching(args, resolved, progress) as pipeline,
    ):
        arguments = params.build(pipeline, args.params_file, args.param)
        progress.info(
            f"pipeline {pipeline.name} from {pipeline.source}; "
            f"parameters set: {', '.join(sorted(arguments)) or 'none (defaults)'}"
        )
        if note := remote.deployer_note(args, arguments, pipeline.parameters):
            progress.info(note)
        if note := champion.schedule_note(arguments, pipeline.parameters):
            progress.info(note)
        kfp = remote.open_connection(args, progress, redactor)
        experiment = remote.experiment_id(kfp, args.experiment, progress)
        name = args.name or f"{pipeline.name} {trigger['cron_expression']}"
        with (
            progress.step(f"creating recurring run {name!r} ({trigger['cron_expression']})"),
            connection.calling(kfp.where, "creating the recurring run"),
            progress.relaying_stdout(),
        ):
            created: Any = kfp.client.create_recurring_run(
                experiment_id=experiment,
                job_name=name,
                description=args.description,
                params=arguments,
                pipeline_package_path=str(pipeline.path),
                pipeline_root=args.pipeline_root,
                enable_caching=None,  # as the package says: remote.caching
                service_account=args.service_account,
                **trigger,
            )
    progress.result(f"recurring_run_id: {created.recurring_run_id}")
    progress.result(f"name: {name}")
    progress.result(f"cron: {trigger['cron_expression']}")
    progress.result(f"status: {created.status or ('ENABLED' if args.enabled else 'DISABLED')}")
    progress.result(f"experiment_id: {experiment}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``kfp-tabular schedule``."""
    return remote.run_command(build_parser(), argv, schedule)
