"""``python -m serving``: serve a kfp-tabular bundle on KServe's V1 and V2 protocols (REST, gRPC).

The arguments are KServe's model-server arguments (``kserve.model_server.parser``: --model_name,
--http_port, --grpc_port, --enable_grpc, --timeout-keep-alive, ...) plus the ones below, so the
ServingRuntime passes the usual ``--model_name={{.Name}} --model_dir=/mnt/models
--http_port=8080 --grpc_port=8081``. A bundle that fails its sha256 verification stops the
process with exit code 1 and a message naming the file.
"""

from __future__ import annotations

import argparse
import os
import sys

from components._shared import compiled
from components._shared.errors import BundleError
from components._shared.keys import MANIFEST_SHA256_ENV
from components._shared.oip import DEFAULT_THRESHOLD
from serving.app import DEFAULT_MAX_BODY_BYTES
from serving.batching import DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_WAIT_S

DEFAULT_MODEL_DIR = "/mnt/models"
COMPILED_ENV = "KFP_TABULAR_COMPILED_EVALUATION"
BATCH_SIZE_ENV = "KFP_TABULAR_MAX_BATCH_SIZE"
BATCH_WAIT_ENV = "KFP_TABULAR_MAX_BATCH_WAIT_MS"


def build_parser() -> argparse.ArgumentParser:
    """KServe's model-server parser plus this runtime's options."""
    from kserve import model_server

    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description=__doc__.splitlines()[0],
        parents=[model_server.parser],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model_dir", default=DEFAULT_MODEL_DIR, help="The bundle directory (or its parent)."
    )
    parser.add_argument(
        "--server",
        choices=["lean", "kserve"],
        default="lean",
        help="lean: this runtime's ASGI app (fast path); kserve: KServe's ModelServer.",
    )
    parser.add_argument("--host", default="0.0.0.0", help="Address the lean server listens on.")
    parser.add_argument(
        "--max_body_bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="Largest request body accepted (HTTP 413 above it; the gRPC message limit too); lean server.",
    )
    parser.add_argument(
        "--ignore_unknown_columns",
        action="store_true",
        help="Accept and ignore request columns the bundle schema does not know (default: 400).",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="P(positive) from which the predicted label is the positive one.",
    )
    parser.add_argument(
        "--access_log", action="store_true", help="Log one line per request (lean server)."
    )
    parser.add_argument(
        "--manifest_sha256",
        default=os.environ.get(MANIFEST_SHA256_ENV, ""),
        help="Refuse a bundle whose manifest.json has another sha256 (deploy sets "
        f"${MANIFEST_SHA256_ENV} from the blessed bundle; empty: not required).",
    )
    _add_speed_options(parser)
    return parser


def _add_speed_options(parser: argparse.ArgumentParser) -> None:
    """Compiled tree evaluation and micro-batching (serving/README.md, "Speed")."""
    parser.add_argument(
        "--compiled_evaluation",
        choices=["auto", "off"],
        default=os.environ.get(COMPILED_ENV, "auto"),
        help="auto: evaluate the trees with the compiled engine (lleaves, treelite GTIL) where "
        "its predictions match the booster's on the bundle's parity rows, else the booster; "
        f"off: the booster (${COMPILED_ENV}).",
    )
    parser.add_argument(
        "--parity_tolerance",
        type=float,
        default=compiled.TOLERANCE,
        help="Largest |compiled - booster| probability accepted on the parity rows at load.",
    )
    parser.add_argument(
        "--max_batch_size",
        type=int,
        default=int(os.environ.get(BATCH_SIZE_ENV, DEFAULT_MAX_BATCH_SIZE)),
        help="Micro-batch concurrent prediction requests up to this many rows (0 or 1: off; "
        f"${BATCH_SIZE_ENV}); a request without concurrent ones is scored at once; lean server.",
    )
    parser.add_argument(
        "--max_batch_wait_ms",
        type=float,
        default=float(os.environ.get(BATCH_WAIT_ENV, DEFAULT_MAX_WAIT_S * 1e3)),
        help="0: a micro-batch closes once the event loop has run the requests that were ready; "
        f"> 0: after this many ms or at --max_batch_size rows (${BATCH_WAIT_ENV}).",
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, load and verify the bundle, and serve it until stopped."""
    import kserve
    from kserve import logging as kserve_logging

    from serving import server
    from serving.model import TabularModel

    args = build_parser().parse_args(argv)
    if args.configure_logging:
        kserve_logging.configure_logging(args.log_config_file)
    model = TabularModel(
        args.model_name,
        args.model_dir,
        ignore_unknown_columns=args.ignore_unknown_columns,
        threshold=args.threshold,
        manifest_sha256=args.manifest_sha256,
        compiled_evaluation=args.compiled_evaluation == "auto",
        parity_tolerance=args.parity_tolerance,
        max_batch_size=args.max_batch_size if args.server == "lean" else 0,
        max_batch_wait_s=args.max_batch_wait_ms / 1e3,
    )
    try:
        model.load()
    except BundleError as exc:
        sys.exit(f"python -m serving: refusing to serve {args.model_dir}: {exc}")
    kserve_logging.logger.info(
        "serving bundle %s (%s, trees: %s) as %r on HTTP port %d, gRPC %s (%s server, "
        "micro-batching %s)",
        args.model_dir,
        model.scorer.bundle.family if model.scorer else "?",
        model.scorer.evaluation.path if model.scorer else "?",
        args.model_name,
        args.http_port,
        f"port {args.grpc_port}" if args.enable_grpc else "off",
        args.server,
        f"up to {model.max_batch_size} rows" if model.batcher else "off",
    )
    if args.server == "kserve":
        kserve.ModelServer().start([model])
        return
    server.run(model, args)


if __name__ == "__main__":
    main()
