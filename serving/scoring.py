"""The request path, kserve-free: decode -> featurize -> predict -> encode.

:class:`Scorer` is the one implementation. The kserve.Model subclass (:mod:`serving.model`)
delegates to it, the HTTP app reaches it through that model, and :mod:`serving.selfcheck` calls it
directly, so the gate's self-check exercises exactly the code that answers HTTP requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from components import __version__
from components._shared import keys
from components._shared.bundle import Bundle
from components._shared.errors import DataError
from serving.codec import Codec, Decoded, RequestError, binary, dump_json, parse_json

# Called after every prediction with the scores and the unseen-value counts per column
# (the runtime's Prometheus metrics; None in the self-check).
Observer = Callable[[np.ndarray, Mapping[str, int]], None]
# Called before featurizing with the decoded input columns (nulls and out-of-range metrics).
InputObserver = Callable[[Mapping[str, np.ndarray]], None]

PLATFORM = "kfp-tabular"


class Scorer:
    """A loaded bundle behind the V1 and V2 request formats.

    Args:
        bundle: The verified bundle (:func:`components._shared.bundle.load_bundle`).
        name: The model name in URLs and responses.
        ignore_unknown_columns: Accept and ignore columns the schema does not know.
        threshold: P(positive) from which the predicted label is the positive one.
        observer: Receives the scores and unseen counts of every prediction.
        input_observer: Receives the decoded input columns of every prediction.
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        name: str,
        ignore_unknown_columns: bool = False,
        threshold: float = 0.5,
        observer: Observer | None = None,
        input_observer: InputObserver | None = None,
    ) -> None:
        self.bundle = bundle
        self.name = name
        self.observer = observer
        self.input_observer = input_observer
        self.codec = Codec(
            bundle.schema,
            bundle.featurizer.input_columns_,
            ignore_unknown_columns=ignore_unknown_columns,
            threshold=threshold,
        )

    # --- the path ---------------------------------------------------------------------------
    def score(self, decoded: Decoded) -> np.ndarray:
        """P(positive) of the decoded rows: the bundle's featurizer, then its booster."""
        unseen: dict[str, int] = {}
        if self.input_observer is not None:
            self.input_observer(decoded.columns)
        try:
            features = self.bundle.featurizer.transform(decoded.columns, unseen=unseen)
        except DataError as exc:  # the codec checks first; anything left is still the input's
            raise RequestError(str(exc)) from None
        probability = self.bundle.predict_features(features)
        if self.observer is not None:
            self.observer(probability, unseen)
        return probability

    def predict_v1(self, body: Any) -> dict[str, Any]:
        """A parsed V1 request body to the V1 response body."""
        decoded = self.codec.decode_v1(body)
        return self.codec.encode_v1(self.score(decoded), decoded)

    def predict_v2(self, body: Any) -> dict[str, Any]:
        """A parsed V2 (OIP) request body to the V2 response body."""
        decoded = self.codec.decode_v2(body)
        return self.codec.encode_v2(self.score(decoded), decoded, self.name)

    def predict_v1_bytes(self, body: bytes) -> bytes:
        """V1 request bytes to response bytes (the HTTP path)."""
        return dump_json(self.predict_v1(parse_json(body)))

    def predict_v2_bytes(self, body: bytes) -> bytes:
        """V2 JSON request bytes to JSON response bytes."""
        return dump_json(self.predict_v2(parse_json(body)))

    def predict_v2_rest(self, body: bytes, header_length: int | None) -> tuple[bytes, int | None]:
        """A V2 REST body to the response body and, when it carries raw outputs, its header length.

        ``header_length`` is the request's ``Inference-Header-Content-Length``: the body is then
        a JSON header followed by raw input tensors (:mod:`serving.codec.binary`).
        """
        request = (
            parse_json(body) if header_length is None else binary.split_request(body, header_length)
        )
        decoded = self.codec.decode_v2(request)
        response = self.codec.encode_v2(self.score(decoded), decoded, self.name)
        return binary.encode_response(response, decoded.binary_outputs)

    # --- metadata ---------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """OIP model metadata: inputs from the bundle schema, outputs, and what the model is."""
        manifest = self.bundle.manifest
        return {
            "name": self.name,
            "versions": [],
            "platform": PLATFORM,
            "inputs": self.codec.input_metadata(),
            "outputs": self.codec.output_metadata(),
            "parameters": {
                "family": self.bundle.family,
                "candidate": self.bundle.name,
                "target": self.bundle.schema.target,
                "positive_label": self.bundle.schema.positive_label,
                "class_labels": ",".join(self.codec.class_labels),
                "threshold": self.codec.threshold,
                "code_version": str(manifest.get(keys.MANIFEST_CODE_VERSION, "")),
                "runtime_version": __version__,
            },
        }
