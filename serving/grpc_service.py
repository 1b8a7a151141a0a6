"""The V2 gRPC service (``inference.GRPCInferenceService``) of the lean server, on the HTTP loop.

ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer answer from
the same :class:`~serving.model.TabularModel` as the REST routes: requests are decoded by the same
codec (:mod:`serving.grpc_messages`), predictions are timed into the same metrics, and errors get
the status codes KServe's interceptor gives them: INVALID_ARGUMENT for a bad request, NOT_FOUND
for an unknown model, UNAVAILABLE before the model is ready, INTERNAL (logged) for a bug of ours.
The repository RPCs (load/unload) answer UNIMPLEMENTED, as one-model servers do.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from kserve.errors import InvalidInput
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

from serving.codec import RequestError
from serving.grpc_messages import request_body, response_message
from serving.metrics import GrpcRequestMetrics, count_grpc_error
from serving.model import TabularModel

logger = logging.getLogger("serving")

Request = TypeVar("Request")
Response = TypeVar("Response")
Handler = Callable[[Any, Request, grpc.aio.ServicerContext], Response]


class RPCError(Exception):
    """An error answered with a gRPC status code and its message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _status(
    handler: Handler[Request, Response],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]:
    """An RPC whose errors end the call with the status code KServe gives them."""

    @functools.wraps(handler)
    async def rpc(self: Any, request: Request, context: grpc.aio.ServicerContext) -> Response:
        try:
            response = handler(self, request, context)
            if inspect.isawaitable(response):  # ModelInfer awaits the micro-batcher
                response = await response
            return response
        except RPCError as exc:
            code, message = exc.code, str(exc)
        except (RequestError, InvalidInput) as exc:
            code, message = grpc.StatusCode.INVALID_ARGUMENT, str(exc)
        except Exception as exc:  # a bug of ours, not the client's: logged with its trace
            logger.exception("unexpected error in gRPC %s", handler.__name__)
            code, message = grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}"
        if handler.__name__ == "ModelInfer":
            # Counted before abort sends the status: a client that reads /metrics right after
            # the error must find it (the interceptor counts only calls that end well).
            count_grpc_error(self.model.name, code)
        await context.abort(code, message)
        raise AssertionError("context.abort returned")  # it raises; this line is never reached

    return rpc


class InferenceService(pb_grpc.GRPCInferenceServiceServicer):
    """The V2 gRPC API of one model.

    Args:
        model: The loaded model the REST routes serve too.
        server_metadata: ``name``, ``version`` and ``extensions`` of the server.
    """

    def __init__(self, model: TabularModel, server_metadata: dict[str, Any]) -> None:
        self.model = model
        self.server_metadata = server_metadata

    def _check(self, name: str, *, ready: bool = True) -> None:
        if name != self.model.name:
            raise RPCError(grpc.StatusCode.NOT_FOUND, f"Model with name {name} does not exist.")
        if ready and not self.model.ready:
            raise RPCError(grpc.StatusCode.UNAVAILABLE, f"Model with name {name} is not ready.")

    @_status
    def ServerLive(self, request: pb.ServerLiveRequest, context: Any) -> pb.ServerLiveResponse:
        """The process answers."""
        return pb.ServerLiveResponse(live=True)

    @_status
    def ServerReady(self, request: pb.ServerReadyRequest, context: Any) -> pb.ServerReadyResponse:
        """The model is loaded."""
        return pb.ServerReadyResponse(ready=bool(self.model.ready))

    @_status
    def ModelReady(self, request: pb.ModelReadyRequest, context: Any) -> pb.ModelReadyResponse:
        """Whether the named model is ready; NOT_FOUND for another name."""
        self._check(request.name, ready=False)
        return pb.ModelReadyResponse(ready=bool(self.model.ready))

    @_status
    def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: Any
    ) -> pb.ServerMetadataResponse:
        """Server name, version and protocol extensions."""
        return pb.ServerMetadataResponse(**self.server_metadata)

    @_status
    def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: Any
    ) -> pb.ModelMetadataResponse:
        """The model's inputs (one per raw column) and outputs, as ``GET /v2/models/<name>``."""
        self._check(request.name)
        metadata = self.model.metadata()
        return pb.ModelMetadataResponse(
            name=metadata["name"],
            versions=metadata["versions"],
            platform=metadata["platform"],
            inputs=[pb.ModelMetadataResponse.TensorMetadata(**t) for t in metadata["inputs"]],
            outputs=[pb.ModelMetadataResponse.TensorMetadata(**t) for t in metadata["outputs"]],
        )

    @_status
    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: Any
    ) -> pb.ModelInferResponse:
        """A prediction: the same codec, scorer and metrics as ``POST /v2/models/<name>/infer``
        (micro-batched with concurrent REST and gRPC requests when batching is on)."""
        self._check(request.model_name)
        response = await self.model.predict_v2_body_async(request_body(request))
        return response_message(response, raw=bool(request.raw_input_contents))


def grpc_server(
    service: InferenceService, address: str, *, max_message_bytes: int
) -> grpc.aio.Server:
    """A gRPC server (not yet started) on ``address`` (``host:port``) serving ``service``."""
    server = grpc.aio.server(
        interceptors=[GrpcRequestMetrics(service.model.name)],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ],
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(service, server)
    if server.add_insecure_port(address) == 0:
        raise OSError(f"gRPC: cannot listen on {address}")
    return server
