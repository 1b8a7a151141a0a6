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

from components._shared.errors import BundleError
from components._shared.keys import MANIFEST_SHA256_ENV
from components._shared.oip import DEFAULT_THRESHOLD
from serving.app import DEFAULT_MAX_BODY_BYTES

DEFAULT_MODEL_DIR = "/mnt/models"


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
    return parser


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
    )
    try:
        model.load()
    except BundleError as exc:
        sys.exit(f"python -m serving: refusing to serve {args.model_dir}: {exc}")
    kserve_logging.logger.info(
        "serving bundle %s (%s) as %r on HTTP port %d, gRPC %s (%s server)",
        args.model_dir,
        model.scorer.bundle.family if model.scorer else "?",
        args.model_name,
        args.http_port,
        f"port {args.grpc_port}" if args.enable_grpc else "off",
        args.server,
    )
    if args.server == "kserve":
        kserve.ModelServer().start([model])
        return
    server.run(model, args)


if __name__ == "__main__":
    main()
