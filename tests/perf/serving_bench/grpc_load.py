"""A closed-loop gRPC load generator for the V2 ``ModelInfer`` RPC (wrk's role, for gRPC).

``concurrency`` coroutines on one grpc.aio channel each send the same serialized
``ModelInferRequest`` again and again for ``duration`` seconds; prints one JSON line with p50 and
p99 latency (ms), requests/s, the request count and the errors. Run by bench_serving.py, pinned
to the load core; bounded in time and sent only to the given localhost address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import grpc

METHOD = "/inference.GRPCInferenceService/ModelInfer"


async def load(target: str, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD)  # bytes in, bytes out: no (de)serialization cost
        await call(body)  # the channel is connected before the clock starts
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < deadline:
                try:
                    await call(body, timeout=10)
                except grpc.aio.AioRpcError:
                    errors += 1
                latencies.append(time.perf_counter() - now)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "p50_ms": latencies[n // 2] * 1e3 if n else float("nan"),
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1e3 if n else float("nan"),
        "rps": n / elapsed,
        "requests": n,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the gRPC server")
    parser.add_argument("--body", type=Path, required=True, help="a serialized ModelInferRequest")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    result = asyncio.run(load(args.target, args.body.read_bytes(), args.concurrency, args.duration))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
