"""The KServe runtime that serves kfp-tabular bundles: raw columns in, P(positive) and label out.

Modules, smallest dependency first:

- :mod:`serving.codec`: V1 and Open Inference Protocol (V2) requests to numpy columns, scores to
  responses (:class:`~serving.codec.Codec`); every client mistake a
  :class:`~serving.codec.RequestError` naming the field. One module per seam: ``v1``, ``v2``,
  ``columns`` (numpy columns of a request), ``values`` (one column per schema kind), ``json_io``.
- :mod:`serving.scoring`: :class:`~serving.scoring.Scorer`, the one request path
  (decode -> the bundle's featurizer -> the booster -> encode).
- :mod:`serving.selfcheck`: ``predict_via_v2`` / ``predict_via_v1`` run that path without a
  server (kserve-free, HTTP-free) for the gate's parity check.
- :mod:`serving.model`: the ``kserve.Model`` subclass (load verifies the bundle's sha256).
- :mod:`serving.app`: the lean ASGI app serving KServe's V1/V2 routes, health, metadata and
  metrics; :mod:`serving.metrics`, :mod:`serving.openapi`; ``python -m serving`` starts it.

Importing this package imports nothing heavy: the gate imports :mod:`serving.selfcheck` without
kserve, FastAPI or uvicorn.
"""
