"""The request path, kserve-free: decode -> featurize -> predict -> encode.

:class:`Scorer` is the one implementation. The kserve.Model subclass (:mod:`serving.model`)
delegates to it, the HTTP app reaches it through that model, and :mod:`serving.selfcheck` calls it
directly, so the gate's self-check exercises exactly the code that answers HTTP requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from components import __version__
from components._shared import compiled, ensemble, keys
from components._shared.bundle import Bundle
from components._shared.errors import DataError
from serving.codec import Codec, Decoded, RequestError, binary, dump_json, parse_json

# Called after every prediction with the scores and the unseen-value counts per column
# (the runtime's Prometheus metrics; None in the self-check).
Observer = Callable[[np.ndarray, Mapping[str, int]], None]
# Called before featurizing with the decoded input columns (nulls and out-of-range metrics).
InputObserver = Callable[[Mapping[str, np.ndarray]], None]

PLATFORM = "kfp-tabular"


def choose_evaluation(bundle: Bundle, *, enabled: bool, tolerance: float) -> compiled.Evaluation:
    """How the bundle's trees are evaluated: :func:`compiled.choose`, or for an ensemble bundle
    :func:`ensemble.choose` (each member's own choice, combined)."""
    if bundle.family == ensemble.FAMILY:
        return ensemble.choose(bundle, enabled=enabled, tolerance=tolerance)
    return compiled.choose(
        bundle.predictor,
        bundle.manifest,
        bundle.parity_rows,
        enabled=enabled,
        tolerance=tolerance,
    )


class Scorer:
    """A loaded bundle behind the V1 and V2 request formats.

    Args:
        bundle: The verified bundle (:func:`components._shared.bundle.load_bundle`).
        name: The model name in URLs and responses.
        ignore_unknown_columns: Accept and ignore columns the schema does not know.
        threshold: P(positive) from which the predicted label is the positive one.
        observer: Receives the scores and unseen counts of every prediction.
        input_observer: Receives the decoded input columns of every prediction.
        compiled_evaluation: Evaluate the trees with the compiled engine where it matches the
            booster on the bundle's parity rows (:func:`compiled.choose`); False: the booster.
        parity_tolerance: Largest |compiled - booster| accepted on those rows.
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
        compiled_evaluation: bool = True,
        parity_tolerance: float = compiled.TOLERANCE,
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
        self.evaluation = choose_evaluation(
            bundle, enabled=compiled_evaluation, tolerance=parity_tolerance
        )

    # --- the path ---------------------------------------------------------------------------
    def score(self, decoded: Decoded, *, as_rows: int | None = None) -> np.ndarray:
        """P(positive) of the decoded rows: the bundle's featurizer, then its trees (compiled
        where they match the booster, :attr:`evaluation`), as chosen for a request of
        ``as_rows`` rows (default: this request's own size)."""
        rows = decoded.rows if as_rows is None else as_rows
        return self.score_columns(decoded.columns, self.evaluation.for_rows(rows))

    def score_columns(
        self, columns: Mapping[str, np.ndarray], predict: compiled.PredictFn
    ) -> np.ndarray:
        """P(positive) of decoded input columns (one request's, or a micro-batch's)."""
        unseen: dict[str, int] = {}
        if self.input_observer is not None:
            self.input_observer(columns)
        try:
            features = self.bundle.featurizer.transform(columns, unseen=unseen)
        except DataError as exc:  # the codec checks first; anything left is still the input's
            raise RequestError(str(exc)) from None
        probability = predict(features)
        if self.observer is not None:
            self.observer(probability, unseen)
        return probability

    def score_many(self, requests: Sequence[Decoded]) -> list[np.ndarray]:
        """The P(positive) of each decoded request, scored in one featurizer and model call.

        Every row's result depends on that row alone (the featurizer is row-wise, the trees
        too), so each request gets exactly the values it would get on its own.
        """
        if len(requests) == 1:
            return [self.score(requests[0])]
        # Requests are grouped by the evaluation their own size selects (compiled or booster).
        groups: dict[compiled.PredictFn, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(self.evaluation.for_rows(request.rows), []).append(i)
        results: list[np.ndarray] = [np.empty(0)] * len(requests)
        for predict, members in groups.items():
            columns = {
                name: np.concatenate([requests[i].columns[name] for i in members])
                for name in requests[members[0]].columns
            }
            probability = self.score_columns(columns, predict)
            bounds = np.cumsum([requests[i].rows for i in members])[:-1]
            for i, part in zip(members, np.split(probability, bounds), strict=True):
                results[i] = part
        return results

    def predict_v1(self, body: Any, *, as_rows: int | None = None) -> dict[str, Any]:
        """A parsed V1 request body to the V1 response body.

        ``as_rows`` scores it with the evaluation a request of that many rows gets, so that a
        caller splitting one batch into parts (batch scoring isolating a refused row) scores
        every row as the whole batch would have been scored.
        """
        decoded = self.codec.decode_v1(body)
        return self.codec.encode_v1(self.score(decoded, as_rows=as_rows), decoded)

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
        decoded = self.decode_v2_rest(body, header_length)
        return self.encode_v2_rest(self.score(decoded), decoded)

    # --- the steps, for micro-batching (serving.batching): decode, score together, encode ---
    def decode_v1_bytes(self, body: bytes) -> Decoded:
        """V1 request bytes decoded."""
        return self.codec.decode_v1(parse_json(body))

    def encode_v1_bytes(self, probability: np.ndarray, decoded: Decoded) -> bytes:
        """A V1 response's bytes."""
        return dump_json(self.codec.encode_v1(probability, decoded))

    def decode_v2_rest(self, body: bytes, header_length: int | None) -> Decoded:
        """A V2 REST body (JSON, or a JSON header and raw tensors) decoded."""
        request = (
            parse_json(body) if header_length is None else binary.split_request(body, header_length)
        )
        return self.codec.decode_v2(request)

    def encode_v2_rest(self, probability: np.ndarray, decoded: Decoded) -> tuple[bytes, int | None]:
        """A V2 REST response: its bytes and, with raw outputs, its JSON header length."""
        response = self.codec.encode_v2(probability, decoded, self.name)
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
                # How the trees are evaluated: compiled (engine, parity) or the booster, and why.
                "evaluation": self.evaluation.path,
                "evaluation_engine": self.evaluation.engine or "",
                "evaluation_reason": self.evaluation.reason,
            },
        }
