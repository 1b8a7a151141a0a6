"""The lean server process: the ASGI app on uvicorn and the V2 gRPC service, on one event loop.

One loop, one thread, one model: a gRPC call and an HTTP request never run at the same time, as
neither does any two HTTP requests (prediction runs on the loop; a thread hop costs more than a
one-row prediction on one core).

Before serving, the loaded heap is frozen (:func:`freeze_loaded_heap`): otherwise every full
collection of Python's garbage collector walks the model and its libraries, and stops the loop
for 115-140 ms on one core (serving/README.md, "Speed").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging

import grpc
import uvicorn
from kserve.logging import logger as kserve_logger

from components import __version__
from serving.app import App, server_metadata
from serving.grpc_service import InferenceService, grpc_server
from serving.metrics import RequestMetrics
from serving.model import TabularModel
from serving.openapi import build_openapi

GRPC_GRACE_S = 5.0

logger = logging.getLogger("serving")


def run(model: TabularModel, args: argparse.Namespace) -> None:
    """Serve ``model`` over HTTP (and gRPC when ``--enable_grpc``) until the process is stopped."""
    assert model.scorer is not None
    app = App(
        model,
        max_body_bytes=args.max_body_bytes,
        openapi=build_openapi(model.scorer.codec, args.model_name, __version__),
    )
    config = uvicorn.Config(
        RequestMetrics(app, model.name),
        host=args.host,
        port=args.http_port,
        loop="asyncio" if args.event_loop == "asyncio" else "uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=args.access_log,
        timeout_keep_alive=args.timeout_keep_alive,
    )
    grpc_address = f"{args.host}:{args.grpc_port}" if args.enable_grpc else None
    frozen = freeze_loaded_heap()
    kserve_logger.info(
        "garbage collector: %d objects of the loaded model and libraries frozen", frozen
    )
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(uvicorn.Server(config), model, grpc_address, args.max_body_bytes))


def freeze_loaded_heap() -> int:
    """Collect the garbage of loading, then hide every live object from the garbage collector.

    The loaded process holds some 250,000 objects the collector tracks (the model, kserve,
    numpy, the tree engines). A full (generation 2) collection walks all of them: 115-140 ms on
    one core, during which the event loop answers nothing. Collections are triggered by objects
    that outlive two younger collections, which requests waiting together in a micro-batch do,
    so under batched load at concurrency 32 one came every 3-5 s and made the p99 latency
    70-130 ms (wrk's correction counts the requests the stall held back). Frozen
    (:func:`gc.freeze`), those objects stay alive as they would anyway, and a full collection
    walks only what was made since: under a millisecond. Returns the number of objects frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def _serve(
    http: uvicorn.Server, model: TabularModel, grpc_address: str | None, max_bytes: int
) -> None:
    """Start gRPC (created here: it binds to the running loop), then serve HTTP until stopped."""
    rpc: grpc.aio.Server | None = None
    if grpc_address is not None:
        service = InferenceService(model, server_metadata())
        rpc = grpc_server(service, grpc_address, max_message_bytes=max_bytes)
        await rpc.start()
        logger.info("V2 gRPC service listening on %s", grpc_address)
    try:
        await http.serve()
    finally:
        if rpc is not None:
            await rpc.stop(GRPC_GRACE_S)
