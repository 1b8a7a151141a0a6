"""Serving benchmark: this runtime against MLServer 1.7, KServe's ModelServer and a bare floor.

One run, one machine, one model: an xgboost booster (300 trees, depth 6) on 30 numeric columns
of seeded synthetic data, served by

- ``kfp-tabular``: this runtime (``python -m serving``, the lean server) as it starts by default:
  compiled tree evaluation (treelite GTIL here, checked against the booster at bundle build and
  at load), adaptive micro-batching up to 32 rows (a request without concurrent ones is scored
  at once); V2 request with the 30 raw columns as 30 inputs; the bundle's
  featurizer runs on every request;
- ``kfp-tabular booster``: the same with ``--compiled_evaluation=off`` (xgboost
  ``inplace_predict``, the runtime before compiled evaluation);
- ``kfp-tabular unbatched``: the default without micro-batching (``--max_batch_size=0``);
- ``kfp-tabular grpc`` / ``kfp-tabular grpc unbatched``: the default (and unbatched) server over the
  V2 gRPC API, raw columns as typed ``fp64_contents``, load from ``serving_bench/grpc_load.py``;
- ``kfp-tabular (kserve)``: the same runtime under KServe's ModelServer (``--server kserve``;
  no micro-batching there);
- ``mlserver default`` / ``mlserver pw0`` / ``mlserver pw0 batched``: MLServer 1.7.1 +
  mlserver-xgboost in their own virtualenv, ``parallel_workers`` at its default (1), 0, and 0
  with adaptive batching (``max_batch_size`` 32, ``max_batch_time`` 2 ms);
- ``kserve minimal``: KServe's ModelServer with the smallest custom model (serving_bench/);
- ``bare asgi``: the floor, uvicorn + orjson + inplace_predict, nothing else
  (serving_bench/bare_asgi.py).

The others get the featurized matrix as one ``[n, 30]`` tensor. Every server is pinned to core 0
(``taskset``) with ``OMP_NUM_THREADS=1``; ``wrk`` (or the gRPC load generator) runs on core 1.
Cells: 1-row requests at concurrency 1, 8 and 32, 32-row requests at concurrency 8; p50, p99,
requests/s and errors from wrk (``--latency``), after a warm-up; CPU microseconds per request
from the server's process tree (user + system time over the cell / requests answered).

Run (not in CI; needs ``wrk`` from Debian, ``apt-get install wrk``)::

    make bench-serving
    # or: .venv/bin/python tests/perf/bench_serving.py --duration 10 --out results.md
    # one server or a few: --only "bare asgi" --only kfp-tabular

The MLServer virtualenv is created on first use under ``--mlserver-venv`` (default
/tmp/kfp-tabular-bench/mlserver-venv) with ``uv venv`` + ``uv pip install mlserver==1.7.1
mlserver-xgboost==1.7.1 'uvloop<0.22'``: it cannot share a virtualenv with kfp.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import xgboost as xgb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from components._shared.bundle import write_bundle  # noqa: E402
from components._shared.families._xgboost import XGBoostPredictor  # noqa: E402
from components._shared.featurizer import Featurizer  # noqa: E402
from components._shared.schema import ColumnSchema, Schema  # noqa: E402

HERE = Path(__file__).resolve().parent / "serving_bench"
N_FEATURES, N_TREES, DEPTH, SEED = 30, 300, 6, 0
CELLS = [(1, 1), (1, 8), (1, 32), (32, 8)]  # (rows per request, concurrency)
SERVER_CORE, LOAD_CORE = "0", "1"
FLOOR, OURS = "bare asgi", "kfp-tabular"
MICRO_BATCH = 32  # rows: the batched servers' maximum batch
# uvloop 0.22 removed the implicit event loop that MLServer 1.7's parallel workers ask for
# (asyncio.get_event_loop() in a fresh process): with a newer uvloop every worker dies at start.
MLSERVER_PINS = ["mlserver==1.7.1", "mlserver-xgboost==1.7.1", "uvloop<0.22"]


@dataclass
class Server:
    """How to start one server and what to send it."""

    name: str
    command: list[str]
    ready_path: str
    infer_path: str
    raw_columns: bool  # this runtime: raw columns as inputs; the others: one feature tensor
    cwd: Path | None = None
    grpc_port: int | None = None  # measured over the V2 gRPC API instead of HTTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the model -------------------------------------------------------------------------------
def build_model(work: Path) -> tuple[np.ndarray, pd.DataFrame]:
    """Synthetic data, the bundle (featurizer + booster) and the same booster as model.json."""
    rng = np.random.default_rng(SEED)
    n = 20_000
    raw = rng.normal(size=(n, N_FEATURES)) * rng.uniform(0.5, 20, N_FEATURES) + rng.uniform(
        -5, 50, N_FEATURES
    )
    logit = (raw[:, :10] - raw[:, :10].mean(0)) / raw[:, :10].std(0) @ rng.normal(size=10)
    logit += np.sin(raw[:, 10]) * 2
    label = rng.random(n) < 1 / (1 + np.exp(-logit))
    names = [f"f{j:02d}" for j in range(N_FEATURES)]
    frame = pd.DataFrame(raw, columns=names)
    frame["y"] = np.where(label, "1", "0")
    schema = Schema(
        columns=[ColumnSchema(name=c, kind="numeric", nullable=False) for c in names]
        + [ColumnSchema(name="y", kind="categorical", role="target", categories=["0", "1"])],
        target="y",
        positive_label="1",
        class_labels=["0", "1"],
    )
    featurizer = Featurizer().fit(frame, schema)
    features = featurizer.transform_frame(frame)
    booster = xgb.train(
        {
            "max_depth": DEPTH,
            "eta": 0.1,
            "objective": "binary:logistic",
            "tree_method": "hist",
            "seed": SEED,
        },
        xgb.DMatrix(features, label=label.astype(np.int32)),
        num_boost_round=N_TREES,
    )
    (work / "xgb").mkdir(exist_ok=True)
    booster.save_model(str(work / "xgb" / "model.json"))
    write_bundle(
        work / "bundle",
        family="xgboost",
        model=XGBoostPredictor(booster),
        featurizer=featurizer,
        schema=schema,
        profile={},
        candidate={"name": "bench", "family": "xgboost", "params": {}},
        metrics={},
        training_data={"source": None, "train_rows": n},
        model_card="# benchmark model\n",
        # No valid split here: the compiled evaluation is checked on 2,000 of the rows.
        parity_features=features[:2000],
    )
    return features, frame[names]


Bodies = dict[tuple[object, int], Path]


def _grpc_messages() -> Any:
    """KServe's V2 gRPC messages; kserve parses sys.argv when imported (its server flags), so
    it is imported with this script's arguments hidden from it."""
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        from kserve.protocol.grpc import grpc_predict_v2_pb2
    finally:
        sys.argv = argv
    return grpc_predict_v2_pb2


def write_bodies(work: Path, features: np.ndarray, raw: pd.DataFrame) -> Bodies:
    """Request bodies: (raw columns? or "grpc", rows) -> file."""
    bodies: Bodies = {}
    for rows in sorted({r for r, _ in CELLS}):
        part = raw.iloc[:rows]
        columns = {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": c, "shape": [rows], "datatype": "FP64", "data": part[c].tolist()}
                for c in part.columns
            ],
        }
        tensor = {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [rows, N_FEATURES],
                    "datatype": "FP32",
                    "data": features[:rows].astype(np.float32).ravel().tolist(),
                }
            ]
        }
        for is_raw, body in ((True, columns), (False, tensor)):
            path = work / f"body-{'raw' if is_raw else 'tensor'}-{rows}.json"
            path.write_text(json.dumps(body))
            bodies[is_raw, rows] = path
        grpc_request = _grpc_messages().ModelInferRequest(model_name="bench")
        for name in part.columns:
            tensor_pb = grpc_request.inputs.add(name=name, datatype="FP64", shape=[rows])
            tensor_pb.contents.fp64_contents.extend(part[name].tolist())
        path = work / f"body-grpc-{rows}.bin"
        path.write_bytes(grpc_request.SerializeToString())
        bodies["grpc", rows] = path
    return bodies


# --- servers ---------------------------------------------------------------------------------
def mlserver_python(venv: Path) -> Path:
    """The MLServer virtualenv's python, created with uv on first use."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "mlserver").exists():
        uv = shutil.which("uv")
        if uv is None:
            raise SystemExit("uv is needed to create the MLServer virtualenv (pip install uv)")
        subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(venv)], check=True)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(python), *MLSERVER_PINS], check=True
        )
    return python


def mlserver_dir(
    work: Path, name: str, parallel_workers: int | None, batch: bool
) -> tuple[Path, int]:
    folder = work / name
    model = folder / "bench"
    model.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "xgb" / "model.json", model / "model.json")
    model_settings: dict[str, object] = {
        "name": "bench",
        "implementation": "mlserver_xgboost.XGBoostModel",
        "parameters": {"uri": "./model.json"},
    }
    if batch:  # MLServer's adaptive batching: up to this many requests or this long (seconds)
        model_settings.update(max_batch_size=MICRO_BATCH, max_batch_time=0.002)
    (model / "model-settings.json").write_text(json.dumps(model_settings))
    port = free_port()
    settings = {
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "debug": False,
    }
    if parallel_workers is not None:
        settings["parallel_workers"] = parallel_workers
    (folder / "settings.json").write_text(json.dumps(settings))
    return folder, port


# name -> extra arguments of `python -m serving` (None: not a kfp-tabular server) and gRPC?
LEAN: dict[str, tuple[list[str], bool]] = {
    OURS: ([], False),
    "kfp-tabular booster": (["--compiled_evaluation=off"], False),
    "kfp-tabular unbatched": (["--max_batch_size=0"], False),
    "kfp-tabular grpc": ([], True),
    "kfp-tabular grpc unbatched": (["--max_batch_size=0"], True),
    "kfp-tabular (kserve)": (["--server=kserve"], False),
}
# name -> (parallel_workers, adaptive batching)
MLSERVER: dict[str, tuple[int | None, bool]] = {
    "mlserver default": (None, False),
    "mlserver pw0": (0, False),
    "mlserver pw0 batched": (0, True),
}
ORDER = [FLOOR, *LEAN, *MLSERVER, "kserve minimal"]


def lean_server(work: Path, name: str, port: int) -> Server:
    extra, over_grpc = LEAN[name]
    grpc_port = free_port()
    command = [
        sys.executable,
        "-m",
        "serving",
        f"--model_dir={work / 'bundle'}",
        "--model_name=bench",
        f"--http_port={port}",
        f"--grpc_port={grpc_port}",
        f"--enable_grpc={'true' if over_grpc else 'false'}",
        *extra,
    ]
    return Server(
        name,
        command,
        "/v2/health/ready",
        "/v2/models/bench/infer",
        True,
        ROOT,
        grpc_port if over_grpc else None,
    )


def servers(work: Path, mlserver_venv: Path, only: set[str] | None) -> Iterator[tuple[Server, int]]:
    py = sys.executable
    for name in ORDER:
        if only and name not in only:
            continue
        port = free_port()
        if name in LEAN:
            yield lean_server(work, name, port), port
        elif name == "kserve minimal":
            command = [
                py,
                str(HERE / "kserve_minimal.py"),
                f"--model_path={work / 'xgb' / 'model.json'}",
                "--model_name=bench",
                f"--http_port={port}",
                "--enable_grpc=false",
            ]
            yield Server(name, command, "/v2/health/ready", "/v2/models/bench/infer", False), port
        elif name == FLOOR:
            command = [
                py,
                str(HERE / "bare_asgi.py"),
                f"--model={work / 'xgb' / 'model.json'}",
                f"--port={port}",
            ]
            yield Server(name, command, "", "/v2/models/bench/infer", False), port
        else:
            python = mlserver_python(mlserver_venv)
            workers, batch = MLSERVER[name]
            folder, port = mlserver_dir(work, name.replace(" ", "-"), workers, batch)
            command = [str(python.parent / "mlserver"), "start", str(folder)]
            yield Server(name, command, "/v2/health/ready", "/v2/models/bench/infer", False), port


@contextmanager
def started(server: Server, port: int, log: Path) -> Iterator[tuple[str, psutil.Process]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *server.command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=server.cwd,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{server.name} exited:\n{log.read_text()[-3000:]}")
                try:
                    if server.ready_path:
                        if httpx.get(url + server.ready_path, timeout=2).status_code == 200:
                            break
                    else:
                        httpx.get(url + "/", timeout=2)
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} not ready:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url, psutil.Process(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of the server and every process it started (MLServer's workers)."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


# --- load ------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(url: str, body: Path, concurrency: int, seconds: int) -> dict[str, float]:
    """One wrk run on the load core: p50/p99 (ms), requests/s, errors (non-2xx + socket)."""
    command = [
        "taskset",
        "-c",
        LOAD_CORE,
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "post.lua"),
        url,
        "--",
        str(body),
    ]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr or run.stdout}")
    out = run.stdout
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    if not (p50 and p99 and rps and total):
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return {
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "errors": errors,
    }


def grpc_load(port: int, body: Path, concurrency: int, seconds: int) -> dict[str, float]:
    """The gRPC load generator on the load core, as :func:`wrk` for HTTP."""
    command = [
        "taskset",
        "-c",
        LOAD_CORE,
        sys.executable,
        str(HERE / "grpc_load.py"),
        f"--target=127.0.0.1:{port}",
        f"--body={body}",
        f"--concurrency={concurrency}",
        f"--duration={seconds}",
    ]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"grpc_load failed ({run.returncode}): {run.stderr[-2000:]}")
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def load_cell(
    server: Server, url: str, process: psutil.Process, body: Path, concurrency: int, seconds: int
) -> dict[str, float]:
    """One cell's figures, with the server's CPU microseconds per request."""
    before = cpu_seconds(process)
    if server.grpc_port is not None:
        result = grpc_load(server.grpc_port, body, concurrency, seconds)
    else:
        result = wrk(url + server.infer_path, body, concurrency, seconds)
    spent = cpu_seconds(process) - before
    result["cpu_us"] = spent / max(1, int(result["requests"])) * 1e6
    return result


def check_answer(server: Server, url: str, body: Path) -> str:
    """One request before the load: the server answers 200 with outputs (not a fast 4xx).

    Returns how a kfp-tabular server evaluates its trees (its metadata), else "".
    """
    response = httpx.post(
        url + server.infer_path,
        content=body.read_bytes(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    if response.status_code != 200 or "outputs" not in response.json():
        raise RuntimeError(f"{server.name}: {response.status_code} {response.text[:500]}")
    if not server.raw_columns:
        return ""
    parameters = httpx.get(url + "/v2/models/bench", timeout=10).json().get("parameters") or {}
    if "evaluation" not in parameters:  # KServe's ModelServer answers its own metadata
        return ""
    return f"{parameters['evaluation']} ({parameters.get('evaluation_engine', '')})"


# --- report ----------------------------------------------------------------------------------
def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


Results = dict[str, dict[str, dict[str, float]]]


def cell_name(rows: int, concurrency: int) -> str:
    return f"{rows} row{'s' if rows > 1 else ''} c{concurrency}"


def table(results: Results) -> str:
    cells = [cell_name(rows, c) for rows, c in CELLS]
    lines = [
        "| server | "
        + " | ".join(f"{cell}: p50 / p99 ms, req/s, CPU us/req, errors" for cell in cells)
        + " |",
        "|---|" + "---|" * len(cells),
    ]
    for name, by_cell in results.items():
        parts = []
        for cell in cells:
            r = by_cell.get(cell)
            parts.append(
                f"{r['p50_ms']:.3f} / {r['p99_ms']:.3f}, {r['rps']:,.0f}, {r['cpu_us']:,.0f}, "
                f"{r['errors']}"
                if r
                else "n/a"
            )
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def summary(results: Results) -> str:
    """The issue's table: 1-row c1 p50, 1-row c32 req/s and p99, CPU us per request."""
    c1, c32 = cell_name(1, 1), cell_name(1, 32)
    lines = [
        "| server | 1 row c1 p50 ms | 1 row c32 req/s | 1 row c32 p99 ms | CPU us/req c1 | CPU us/req c32 |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_cell in results.items():
        one, many = by_cell.get(c1), by_cell.get(c32)
        if not (one and many):
            continue
        lines.append(
            f"| {name} | {one['p50_ms']:.3f} | {many['rps']:,.0f} | {many['p99_ms']:.3f} | "
            f"{one['cpu_us']:,.0f} | {many['cpu_us']:,.0f} |"
        )
    return "\n".join(lines)


def verdict(results: Results) -> list[str]:
    """The targets of issue 17 (against the floor) for each kfp-tabular server measured."""
    floor = results.get(FLOOR)
    c1, c32 = cell_name(1, 1), cell_name(1, 32)
    if not floor or c1 not in floor or c32 not in floor:
        return []
    lines = []
    for name, by_cell in results.items():
        if name not in LEAN or c1 not in by_cell or c32 not in by_cell:
            continue
        p50 = by_cell[c1]["p50_ms"] / floor[c1]["p50_ms"]
        rps = by_cell[c32]["rps"] / floor[c32]["rps"]
        p99 = by_cell[c32]["p99_ms"] / floor[c32]["p99_ms"]
        lines.append(
            f"- {name}: c1 p50 {p50:.2f}x the floor (target <= 1: {_met(p50 <= 1)}); "
            f"c32 {rps:.2f}x the floor's req/s (target >= 1.5: {_met(rps >= 1.5)}); "
            f"c32 p99 {p99:.2f}x the floor's (target <= 1: {_met(p99 <= 1)})"
        )
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def measure(
    server: Server, port: int, args: argparse.Namespace, bodies: Bodies
) -> tuple[dict[str, dict[str, float]], str]:
    """Every cell of one server, and how it evaluates its trees (kfp-tabular servers)."""
    log = args.work / f"{server.name.replace(' ', '_')}.log"
    by_cell: dict[str, dict[str, float]] = {}
    kind: object = "grpc" if server.grpc_port is not None else server.raw_columns
    with started(server, port, log) as (url, process):
        evaluation = check_answer(server, url, bodies[server.raw_columns, 1])
        load_cell(server, url, process, bodies[kind, 1], 8, args.warmup)
        for rows, concurrency in CELLS:
            cell = cell_name(rows, concurrency)
            by_cell[cell] = r = load_cell(
                server, url, process, bodies[kind, rows], concurrency, args.duration
            )
            print(
                f"{server.name:24s} {cell:12s} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
                f"{r['rps']:,.0f} req/s  CPU {r['cpu_us']:,.0f} us/req  errors {r['errors']}",
                flush=True,
            )
    return by_cell, evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kfp-tabular-bench"))
    parser.add_argument(
        "--mlserver-venv", type=Path, default=Path("/tmp/kfp-tabular-bench/mlserver-venv")
    )
    parser.add_argument(
        "--only", action="append", help=f"server name(s) to run (repeatable): {ORDER}"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    features, raw = build_model(args.work)
    bodies = write_bodies(args.work, features, raw)
    results: Results = {}
    evaluations: dict[str, str] = {}
    for server, port in servers(args.work, args.mlserver_venv, set(args.only or []) or None):
        results[server.name], evaluations[server.name] = measure(server, port, args, bodies)
    load_after = os.getloadavg()
    trees = "; ".join(f"{name}: {how}" for name, how in evaluations.items() if how)
    report = "\n".join(
        [
            f"Machine: {machine()}. Server on core {SERVER_CORE}, load generator on core "
            f"{LOAD_CORE}, {args.duration:g} s per cell. Load average (1/5/15 min) before "
            f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
            f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}. Trees: {trees}.",
            "",
            summary(results),
            "",
            *verdict(results),
            "",
            table(results),
        ]
    )
    print("\n" + report)
    if args.out:
        args.out.write_text(report + "\n")
    (args.work / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
