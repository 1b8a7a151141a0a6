"""The lean ASGI app: KServe's V1 and V2 REST routes around one :class:`TabularModel`.

Why not KServe's own FastAPI server: on one core its request path (FastAPI routing, pydantic
parsing of the V2 body, the timing middleware, the DataPlane and ``Model.__call__`` wrappers)
costs about 0.45 ms before the model runs, three times what a one-row prediction costs, so the
latency and throughput targets of this runtime cannot be met through it (serving/README.md has
the profile). This app keeps KServe's URLs, bodies, error format (``{"error": ...}``) and status
codes, its health and metadata routes and its Prometheus metrics, and calls the same model
object; ``python -m serving --server kserve`` still runs KServe's ModelServer instead.

Routes (``<name>`` is the model name; ``/versions/<v>`` is accepted after it on V2 routes)::

    GET  /  /v2/health/live  /v2/health/ready  /v2  /metrics  /openapi.json
    GET  /v1/models  /v1/models/<name>  /v2/models/<name>  /v2/models/<name>/ready
    POST /v1/models/<name>:predict  /v2/models/<name>/infer

Prediction runs on the event loop itself, as KServe runs a synchronous ``predict``: a thread
hop would cost more than the prediction on one core. Concurrent requests are scored together
(:mod:`serving.batching`, ``--max_batch_size``, on by default); bodies of 64 KiB and more go to a
thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, Final

from kserve.errors import InvalidInput
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from components import __version__
from serving.codec import binary, dump_json
from serving.model import TabularModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
# Bodies from this size on are scored in a worker thread (about 150 Telco rows of JSON): a
# one-row request costs less than a thread hop, so it runs on the event loop (micro-batched with
# its neighbours when batching is on), but a large batch (47,000 rows: about a second) would hold
# the loop, and with it the probes (Kubernetes' default timeout is 1 s) and every other request;
# in a thread it does not (numpy and the tree engines release the GIL while they work).
OFF_LOOP_BYTES: Final = 64 * 1024
# What is read and dropped of a refused body so that the client receives its 413.
DRAIN_BYTES: Final = 64 * 1024 * 1024
SERVER_NAME: Final = "kfp-tabular"
# Triton's name for the binary tensor data extension (serving.codec.binary), which clients probe.
EXTENSIONS: Final = ("binary_tensor_data",)
_JSON: Final = [(b"content-type", b"application/json")]
_BINARY: Final = [(b"content-type", b"application/octet-stream")]
_HEADER_LENGTH: Final = binary.HEADER_LENGTH.encode()
# zlib window bits of the request Content-Encodings read (Triton's client can send both).
_ZLIB_WBITS: Final = {b"gzip": 16 + zlib.MAX_WBITS, b"deflate": zlib.MAX_WBITS}
# /v2/models/<name>[/versions/<version>][/<action>]
_V2_MODEL = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(?:/(ready|infer))?$")
_V1_MODEL = re.compile(r"^/v1/models/([^/:]+)(:predict)?$")

logger = logging.getLogger("serving")


def server_metadata() -> dict[str, Any]:
    """OIP server metadata (``GET /v2``, gRPC ServerMetadata): name, version, extensions."""
    return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}


class HTTPError(Exception):
    """An error answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class App:
    """ASGI application serving one model.

    Args:
        model: The loaded model (``load()`` called; ``ready`` set).
        max_body_bytes: Largest request body accepted; larger ones get 413 before being read.
        openapi: The OpenAPI document served at ``/openapi.json``.
    """

    def __init__(
        self,
        model: TabularModel,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        openapi: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.max_body_bytes = max_body_bytes
        self._openapi = dump_json(openapi or {})
        self._server_metadata = dump_json(server_metadata())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body, headers = await self._route(scope, receive)
        except HTTPError as exc:
            status, body, headers = exc.status, dump_json({"error": exc.message}), _JSON
        except InvalidInput as exc:
            status, body, headers = 400, dump_json({"error": str(exc)}), _JSON
        except Exception as exc:  # a bug of ours, not the client's: 500, logged with its trace
            logger.exception("unexpected error on %s %s", scope["method"], scope["path"])
            status, body = 500, dump_json({"error": f"internal error: {type(exc).__name__}"})
            headers = _JSON
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _route(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method, path = scope["method"], scope["path"]
        if path.startswith("/v2/models/"):
            match = _V2_MODEL.match(path)
            if match:
                name, _version, action = match.groups()
                self._check_name(name)
                if action == "infer":
                    self._allow(method, "POST")
                    body = await self._body(scope, receive)
                    header_length = _header_length(scope)
                    if len(body) < OFF_LOOP_BYTES:
                        return _infer_answer(
                            *await self.model.predict_v2_rest_async(body, header_length)
                        )
                    return await asyncio.to_thread(self._infer, body, header_length)
                self._allow(method, "GET")
                if action == "ready":
                    return 200, dump_json({"name": name, "ready": self.model.ready}), _JSON
                return 200, dump_json(self.model.metadata()), _JSON
        elif path.startswith("/v1/models/"):
            match = _V1_MODEL.match(path)
            if match:
                name, predict = match.groups()
                self._check_name(name)
                if predict:
                    self._allow(method, "POST")
                    body = await self._body(scope, receive)
                    if len(body) < OFF_LOOP_BYTES:
                        return 200, await self.model.predict_v1_async(body), _JSON
                    response = await asyncio.to_thread(self.model.predict_v1_bytes, body)
                    return 200, response, _JSON
                self._allow(method, "GET")
                return 200, dump_json({"name": name, "ready": self.model.ready}), _JSON
        else:
            static = self._static(path)
            if static is not None:
                self._allow(method, "GET")
                return static
        raise HTTPError(404, f"no route for {method} {path}: see /openapi.json")

    def _infer(
        self, body: bytes, header_length: int | None
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """A V2 inference: JSON, or the binary tensor extension's JSON header and raw tensors."""
        return _infer_answer(*self.model.predict_v2_rest(body, header_length))

    def _static(self, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        ready = bool(self.model.ready)
        if path in ("/", "/v2/health/live"):
            return 200, dump_json({"status": "alive", "live": True}), _JSON
        if path == "/v2/health/ready":
            # KServe answers 503 while no model is ready, so a readiness probe can rely on it.
            return (200 if ready else 503), dump_json({"ready": ready}), _JSON
        if path == "/v1/models":
            return 200, dump_json({"models": [self.model.name]}), _JSON
        if path == "/v2":
            return 200, self._server_metadata, _JSON
        if path == "/metrics":
            return 200, generate_latest(REGISTRY), [(b"content-type", CONTENT_TYPE_LATEST.encode())]
        if path == "/openapi.json":
            return 200, self._openapi, _JSON
        return None

    def _check_name(self, name: str) -> None:
        if name != self.model.name:
            # KServe's ModelNotFound is a 404 with this wording.
            raise HTTPError(404, f"Model with name {name} does not exist.")
        if not self.model.ready:
            raise HTTPError(503, f"Model with name {name} is not ready.")

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed and not (allowed == "GET" and method == "HEAD"):
            raise HTTPError(405, f"method {method} not allowed here: expected {allowed}")

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole request body, uncompressed (gzip, deflate), 413 as soon as it is over the limit."""
        body = await self._raw_body(scope, receive)
        for key, value in scope["headers"]:
            if key == b"content-encoding" and value not in (b"identity", b""):
                return _decompressed(body, value, self.max_body_bytes)
        return body

    async def _raw_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole request body as sent, refused with 413 as soon as it is over the limit.

        Before the 413 goes out, what the client is still sending is read and dropped (up to
        :data:`DRAIN_BYTES`): a server that answers and closes with unread bytes in its socket
        sends a TCP reset, and a client that asked for ``Connection: close`` would see the reset
        instead of the 413.
        """
        limit = self.max_body_bytes
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise HTTPError(400, "content-length: expected an integer") from None
                if declared > limit:
                    await _drain(receive)
                    raise HTTPError(413, _too_large(declared, limit))
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body"):
            return body
        chunks = [body]
        size = len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _drain(receive, more=bool(message.get("more_body")))
                raise HTTPError(413, _too_large(size, limit))
            chunks.append(chunk)
        return b"".join(chunks)


async def _drain(receive: Receive, *, more: bool = True) -> None:
    """Read and drop the rest of a request body, at most :data:`DRAIN_BYTES`."""
    dropped = 0
    while more and dropped < DRAIN_BYTES:
        message = await receive()
        if message.get("type") != "http.request":
            return  # the client went away
        dropped += len(message.get("body", b""))
        more = bool(message.get("more_body"))


def _infer_answer(
    response: bytes, json_length: int | None
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """A V2 inference's answer: JSON, or a JSON header and raw outputs with its length header."""
    if json_length is None:
        return 200, response, _JSON
    return 200, response, [*_BINARY, (_HEADER_LENGTH, str(json_length).encode())]


def _decompressed(body: bytes, encoding: bytes, limit: int) -> bytes:
    """A gzip or deflate (zlib) body inflated, 413 past ``limit`` bytes (no decompression bomb)."""
    wbits = _ZLIB_WBITS.get(encoding.lower())
    if wbits is None:
        raise HTTPError(
            415,
            f"Content-Encoding header: expected gzip, deflate or identity, got "
            f"{encoding.decode('latin-1')!r}",
        )
    inflater = zlib.decompressobj(wbits)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HTTPError(
            400, f"request body: expected {encoding.decode()} data, got data it cannot read ({exc})"
        ) from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise HTTPError(413, _too_large(len(inflated), limit))
    return inflated


def _header_length(scope: Scope) -> int | None:
    """The request's Inference-Header-Content-Length (binary tensor extension), if any."""
    for key, value in scope["headers"]:
        if key == _HEADER_LENGTH:
            try:
                return int(value)
            except ValueError:
                raise HTTPError(
                    400,
                    f"Inference-Header-Content-Length header: expected the length in bytes of the "
                    f"JSON header, got {value.decode('latin-1')!r}",
                ) from None
    return None


def _too_large(size: int, limit: int) -> str:
    return (
        f"request body: expected at most {limit} bytes (--max_body_bytes), got "
        f"{size} bytes or more ({HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase})"
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
