"""The serving path without a server: what the gate calls to check serving parity.

kserve-free and HTTP-free. Each function loads the bundle (sha256 verified), builds the request a
client would send, runs it through :class:`serving.scoring.Scorer` (the very decode -> featurize
-> predict -> encode code the HTTP server runs, from request bytes to response bytes) and parses
the response::

    from serving.selfcheck import predict_via_v2
    p = predict_via_v2(bundle_dir, records)   # P(positive) per record, float64
    assert np.allclose(p, bundle.predict_proba_frame(frame))

``records`` are raw rows as JSON-like dicts: :func:`components._shared.bundle.json_record` of a
typed split row gives exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from components._shared.bundle import load_bundle
from components._shared.oip import OUTPUT_PROBABILITY, v2_output, v2_request
from serving.codec import dump_json, parse_json
from serving.scoring import Scorer

MODEL_NAME = "selfcheck"


def _scorer(bundle_dir: str) -> Scorer:
    return Scorer(load_bundle(bundle_dir), name=MODEL_NAME)


def predict_via_v2(bundle_dir: str, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """P(positive) of ``records`` through a V2 request with one input per column.

    The request is :func:`components._shared.oip.v2_request` (datatypes from the bundle schema),
    encoded to JSON bytes; the response bytes are parsed back and its ``probability`` output
    returned.

    Raises:
        BundleError: the bundle does not verify.
        RequestError: the server would answer 400 (the message says why).
    """
    scorer = _scorer(bundle_dir)
    body = dump_json(v2_request(records, scorer.bundle.schema))
    response = parse_json(scorer.predict_v2_bytes(body))
    return v2_output(response, OUTPUT_PROBABILITY).astype(np.float64)


def predict_via_v1(bundle_dir: str, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """P(positive) of ``records`` through a V1 request (``instances`` as objects).

    Columns of the schema the model does not read (ids, the target) may stay in the records.
    """
    scorer = _scorer(bundle_dir)
    body = dump_json({"instances": [dict(record) for record in records]})
    response = parse_json(scorer.predict_v1_bytes(body))
    return np.array([p[OUTPUT_PROBABILITY] for p in response["predictions"]], dtype=np.float64)
