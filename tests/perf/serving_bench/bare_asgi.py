"""The floor: a bare ASGI endpoint (uvicorn + orjson + xgboost inplace_predict), nothing else.

Answers ``POST /v2/models/<any>/infer`` with a V2 body holding one FP32/FP64 tensor of features
(``shape [n, 30]``); no validation, no metrics, no logging. Run by bench_serving.py.
"""

from __future__ import annotations

import argparse

import numpy as np
import orjson
import uvicorn
import xgboost as xgb


def make_app(model_path: str):
    booster = xgb.Booster()
    booster.load_model(model_path)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        tensor = orjson.loads(body)["inputs"][0]
        features = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        scores = booster.inplace_predict(features)
        out = orjson.dumps(
            {
                "model_name": "bench",
                "id": "0",
                "outputs": [
                    {
                        "name": "p",
                        "datatype": "FP32",
                        "shape": [len(scores)],
                        "data": scores.tolist(),
                    }
                ],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.model),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()
