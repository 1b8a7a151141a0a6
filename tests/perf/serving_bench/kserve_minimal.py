"""KServe's plain ModelServer with a minimal custom model: V2 tensor in, inplace_predict, out.

The smallest model a KServe user would write for this booster; run by bench_serving.py with the
ModelServer defaults (one worker, latency logging on, as shipped).
"""

from __future__ import annotations

import argparse
import uuid

import kserve
import numpy as np
import xgboost as xgb
from kserve import InferOutput, InferRequest, InferResponse, model_server


class MinimalModel(kserve.Model):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.booster: xgb.Booster | None = None

    def load(self) -> bool:
        self.booster = xgb.Booster()
        self.booster.load_model(self.path)
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None) -> InferResponse:
        features = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        assert self.booster is not None
        scores = self.booster.inplace_predict(features)
        output = InferOutput(name="p", shape=[len(scores)], datatype="FP32", data=scores.tolist())
        return InferResponse(
            model_name=self.name,
            infer_outputs=[output],
            response_id=payload.id or str(uuid.uuid4()),
        )


def main() -> None:
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    model = MinimalModel(args.model_name, args.model_path)
    model.load()
    kserve.ModelServer().start([model])


if __name__ == "__main__":
    main()
