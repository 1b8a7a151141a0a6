"""The kserve.Model of a kfp-tabular bundle: load verifies, predict scores raw columns.

One small class, like KServe's sklearnserver: :meth:`load` reads the bundle with
:func:`components._shared.bundle.load_bundle` (every sha256 checked; a mismatch names the file
and the server refuses to start), and :meth:`predict` hands V1 bodies (dicts) and V2 requests
(``InferRequest``) to :class:`serving.scoring.Scorer`. Client mistakes become KServe's
``InvalidInput`` (HTTP 400). The same object serves under KServe's ModelServer
(``--server kserve``) and under the lean ASGI app (:mod:`serving.app`, the default), which calls
the ``*_bytes`` methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import kserve
import numpy as np
from kserve.errors import InvalidInput
from kserve.logging import logger
from kserve.metrics import PREDICT_HIST_TIME, get_labels
from kserve.protocol.infer_type import InferRequest

from components._shared import compiled, keys
from components._shared.bundle import load_bundle
from components._shared.oip import DEFAULT_THRESHOLD
from serving.batching import DEFAULT_MAX_WAIT_S, MicroBatcher
from serving.codec import Decoded, RequestError
from serving.metrics import (
    MICRO_BATCH,
    ModelMetrics,
    describe_model,
    numeric_ranges,
    read_profile,
)
from serving.scoring import Scorer

T = TypeVar("T")


def bundle_directory(model_dir: str) -> str:
    """The bundle inside ``model_dir``: the directory itself, or its one sub-directory.

    KServe's storage initializer copies a ``storageUri`` prefix into /mnt/models as is; a URI
    one level above the bundle leaves the bundle in a sub-directory.
    """
    path = Path(model_dir)
    if not (path / keys.MANIFEST_FILE).is_file() and path.is_dir():
        inner = [p for p in path.iterdir() if p.is_dir() and (p / keys.MANIFEST_FILE).is_file()]
        if len(inner) == 1:
            return str(inner[0])
    return model_dir


def infer_request_dict(request: InferRequest) -> dict[str, Any]:
    """A KServe ``InferRequest`` as the V2 JSON body it came from."""
    body: dict[str, Any] = {
        "inputs": [
            {
                "name": tensor.name,
                "shape": list(tensor.shape),
                "datatype": tensor.datatype,
                "data": tensor.data,
                **({"parameters": dict(tensor.parameters)} if tensor.parameters else {}),
            }
            for tensor in request.inputs
        ]
    }
    if request.id:
        body["id"] = request.id
    if request.parameters:
        body["parameters"] = dict(request.parameters)
    if request.request_outputs:
        body["outputs"] = [{"name": output.name} for output in request.request_outputs]
    return body


class TabularModel(kserve.Model):
    """A kfp-tabular bundle served with raw columns in, P(positive) and label out.

    Args:
        name: Model name in the URLs (``/v2/models/<name>/infer``).
        model_dir: The bundle directory (KServe's /mnt/models, or any local path).
        ignore_unknown_columns: Accept and ignore columns the schema does not know.
        threshold: P(positive) from which the predicted label is the positive one.
        manifest_sha256: When set, the bundle's ``manifest.json`` must have this sha256 (deploy
            sets it from the blessed bundle; a changed manifest is refused at load).
        compiled_evaluation: Use the compiled trees where they match the booster (at load).
        parity_tolerance: Largest |compiled - booster| accepted on the bundle's parity rows.
        max_batch_size: Micro-batch concurrent requests up to this many rows (< 2: off).
        max_batch_wait_s: 0: a batch closes once the event loop ran what was ready; > 0: after
            this long (or at ``max_batch_size`` rows).
    """

    def __init__(
        self,
        name: str,
        model_dir: str,
        *,
        ignore_unknown_columns: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        manifest_sha256: str | None = None,
        compiled_evaluation: bool = True,
        parity_tolerance: float = compiled.TOLERANCE,
        max_batch_size: int = 0,
        max_batch_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.manifest_sha256 = manifest_sha256 or None
        self.ignore_unknown_columns = ignore_unknown_columns
        self.threshold = threshold
        self.compiled_evaluation = compiled_evaluation
        self.parity_tolerance = parity_tolerance
        self.max_batch_size = max_batch_size
        self.max_batch_wait_s = max_batch_wait_s
        self.scorer: Scorer | None = None
        self.batcher: MicroBatcher | None = None
        self._latency = PREDICT_HIST_TIME.labels(**get_labels(name))

    def load(self) -> bool:
        """Load and verify the bundle; raises BundleError naming the file that fails."""
        bundle = load_bundle(bundle_directory(self.model_dir), manifest_sha256=self.manifest_sha256)
        profile = read_profile(bundle_directory(self.model_dir))
        metrics = ModelMetrics(self.name, numeric_ranges(profile))
        self.scorer = Scorer(
            bundle,
            name=self.name,
            ignore_unknown_columns=self.ignore_unknown_columns,
            threshold=self.threshold,
            observer=metrics,
            input_observer=metrics.inputs,
            compiled_evaluation=self.compiled_evaluation,
            parity_tolerance=self.parity_tolerance,
        )
        evaluation = self.scorer.evaluation
        logger.info("model %s: trees evaluated by %s", self.name, evaluation.describe())
        if self.max_batch_size >= 2:
            self.batcher = MicroBatcher(
                self.scorer.score_many,
                self.scorer.score,
                max_batch_size=self.max_batch_size,
                max_wait_s=self.max_batch_wait_s,
                observe=MICRO_BATCH.labels(self.name).observe,
            )
        describe_model(self.name, bundle, profile, evaluation)
        self.ready = True
        return self.ready

    def _scorer(self) -> Scorer:
        if self.scorer is None:
            raise kserve.errors.ModelNotReady(self.name)
        return self.scorer

    # --- KServe's ModelServer path --------------------------------------------------------
    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """V1 (a dict) or V2 (an InferRequest) to the response body; 400 for bad input."""
        scorer = self._scorer()
        try:
            if isinstance(payload, InferRequest):
                return scorer.predict_v2(infer_request_dict(payload))
            return scorer.predict_v1(payload)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None

    def get_input_types(self) -> list[dict[str, Any]]:
        """Model metadata inputs: one tensor per raw column, datatype from the schema."""
        return self._scorer().codec.input_metadata()

    def get_output_types(self) -> list[dict[str, Any]]:
        """Model metadata outputs: probability, label, class_probabilities."""
        return self._scorer().codec.output_metadata()

    # --- the lean ASGI path (serving.app) -------------------------------------------------
    def predict_v1_bytes(self, body: bytes) -> bytes:
        """V1 request bytes to response bytes; InvalidInput for bad input."""
        return self._timed(self._scorer().predict_v1_bytes, body)

    def predict_v2_bytes(self, body: bytes) -> bytes:
        """V2 JSON request bytes to response bytes; InvalidInput for bad input."""
        return self._timed(self._scorer().predict_v2_bytes, body)

    def predict_v2_rest(self, body: bytes, header_length: int | None) -> tuple[bytes, int | None]:
        """V2 REST body (JSON, or binary tensors) to response bytes and their JSON header length."""
        return self._timed(self._scorer().predict_v2_rest, body, header_length)

    def predict_v2_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A V2 request as a dict (the gRPC service's) to the response dict; InvalidInput."""
        return self._timed(self._scorer().predict_v2, body)

    async def predict_v1_async(self, body: bytes) -> bytes:
        """:meth:`predict_v1_bytes`, micro-batched with concurrent requests when batching is on."""
        scorer = self._scorer()
        if self.batcher is None:
            return self.predict_v1_bytes(body)
        return await self._batched(lambda: scorer.decode_v1_bytes(body), scorer.encode_v1_bytes)

    async def predict_v2_rest_async(
        self, body: bytes, header_length: int | None
    ) -> tuple[bytes, int | None]:
        """:meth:`predict_v2_rest`, micro-batched with concurrent requests when batching is on."""
        scorer = self._scorer()
        if self.batcher is None:
            return self.predict_v2_rest(body, header_length)
        return await self._batched(
            lambda: scorer.decode_v2_rest(body, header_length), scorer.encode_v2_rest
        )

    async def predict_v2_body_async(self, body: dict[str, Any]) -> dict[str, Any]:
        """:meth:`predict_v2_body` (the gRPC service's), micro-batched when batching is on."""
        scorer = self._scorer()
        if self.batcher is None:
            return self.predict_v2_body(body)
        return await self._batched(
            lambda: scorer.codec.decode_v2(body),
            lambda probability, decoded: scorer.codec.encode_v2(probability, decoded, self.name),
        )

    async def _batched(
        self, decode: Callable[[], Decoded], encode: Callable[[np.ndarray, Decoded], T]
    ) -> T:
        """Decode on its own, score in the micro-batch, encode on its own; 400 for bad input."""
        assert self.batcher is not None
        start = time.perf_counter()
        try:
            decoded = decode()
            return encode(await self.batcher.score(decoded), decoded)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None
        finally:
            self._latency.observe(time.perf_counter() - start)

    def metadata(self) -> dict[str, Any]:
        """OIP model metadata (``GET /v2/models/<name>``)."""
        return self._scorer().metadata()

    def _timed(self, predict: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        try:
            return predict(*args)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None
        finally:
            # KServe's own request_predict_seconds, so dashboards built for KServe keep working.
            self._latency.observe(time.perf_counter() - start)
