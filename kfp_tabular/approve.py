"""Approve (or reject) a registered model version for deploy: the person's step of the approval.

    kfp-tabular approve --tracking-uri http://mlflow:5000 --model churn --version 3
    kfp-tabular approve --model churn --version 3 --reject --note "slice tenure<6 regressed"

Sets the version's tag ``approval`` (``approved`` or ``rejected``) and ``approval_by``, and adds
the event to its audit trail in the registry (who, when, which version, which decision). A deploy
with ``approval_timeout_s`` >= 0 waits for this tag and refuses a rejected version. The tracking
URI defaults to ``$MLFLOW_TRACKING_URI``; who defaults to ``$USER``. Prints the version's audit
trail afterwards.

Exit codes: 0 recorded, 2 usage or configuration error (no tracking URI, no such model or version,
the registry did not answer).
"""

from __future__ import annotations

import argparse
import sys

from components._shared import registry, tracking
from kfp_tabular.errors import EXIT_OK, CliError


def build_parser() -> argparse.ArgumentParser:
    """``kfp-tabular approve`` options."""
    parser = argparse.ArgumentParser(
        prog="kfp-tabular approve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--tracking-uri", default="", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    parser.add_argument("--model", required=True, help="registered model name")
    parser.add_argument("--version", required=True, help="model version number")
    parser.add_argument(
        "--reject", action="store_true", help="reject the version: deploy refuses it"
    )
    parser.add_argument("--who", default=None, help="who decides (default: $USER)")
    parser.add_argument("--note", default="", help="why, kept in the audit trail")
    return parser


def approve(args: argparse.Namespace) -> list[registry.AuditEntry]:
    """Record the decision; the version's audit trail afterwards.

    Raises:
        CliError: no tracking URI, a version that does not exist, a registry that fails.
    """
    if not args.version.isdigit():
        raise CliError(f"--version: expected a version number such as 3, got {args.version!r}")
    found = registry.open_registry(args.tracking_uri)
    if found is None:
        raise CliError(f"no tracking URI: pass --tracking-uri or set {tracking.ENV_TRACKING_URI}")
    decision = registry.REJECTED if args.reject else registry.APPROVED
    who = args.who or registry.who_default()
    try:
        found.client.get_model_version(args.model, args.version)
        found.approve(args.model, args.version, who=who, decision=decision, note=args.note)
        return found.audit_trail(args.model, args.version)
    except CliError:
        raise
    except Exception as error:  # MlflowException (no such model/version), connection errors
        uri = tracking.tracking_uri(args.tracking_uri)
        raise CliError(
            f"model {args.model!r} version {args.version} at {uri}: {type(error).__name__}: "
            f"{_first_line(error)}"
        ) from None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def main(argv: list[str] | None = None) -> int:
    """``kfp-tabular approve``."""
    args = build_parser().parse_args(argv)
    try:
        trail = approve(args)
    except CliError as error:
        print(f"kfp-tabular approve: error: {error}", file=sys.stderr)
        return error.exit_code
    decision = "rejected" if args.reject else "approved"
    print(f"model {args.model} version {args.version}: {decision}")
    print("audit trail:")
    for entry in trail:
        detail = f" ({entry.detail})" if entry.detail else ""
        print(f"  {entry.when}  {entry.event:<15} {entry.who}{detail}")
    return EXIT_OK
