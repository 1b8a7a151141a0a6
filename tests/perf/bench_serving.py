"""Serving benchmark: this runtime against MLServer 1.7, KServe's ModelServer and a bare floor.

One run, one machine, one model: an xgboost booster (300 trees, depth 6) on 30 numeric columns
of seeded synthetic data, served by

- ``kfp-tabular``: this runtime (``python -m serving``, the lean server), V2 request with the 30
  raw columns as 30 inputs; the bundle's featurizer runs on every request;
- ``kfp-tabular (kserve)``: the same runtime under KServe's ModelServer (``--server kserve``);
- ``mlserver default`` / ``mlserver pw0``: MLServer 1.7.1 + mlserver-xgboost in their own
  virtualenv, ``parallel_workers`` left at its default (1) and set to 0;
- ``kserve minimal``: KServe's ModelServer with the smallest custom model (serving_bench/);
- ``bare asgi``: uvicorn + orjson + inplace_predict, nothing else (serving_bench/bare_asgi.py).

The others get the featurized matrix as one ``[n, 30]`` tensor. Every server is pinned to core 0
(``taskset``) with ``OMP_NUM_THREADS=1``; ``wrk`` runs on core 1. Cells: 1-row requests at
concurrency 1, 8 and 32, 32-row requests at concurrency 8; p50, p99, requests/s and errors from
wrk (``--latency``), after a warm-up.

Run (not in CI; needs ``wrk`` from Debian, ``apt-get install wrk``)::

    make bench-serving
    # or: .venv/bin/python tests/perf/bench_serving.py --duration 10 --out results.md

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

import httpx
import numpy as np
import pandas as pd
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
    )
    return features, frame[names]


def write_bodies(
    work: Path, features: np.ndarray, raw: pd.DataFrame
) -> dict[tuple[bool, int], Path]:
    """Request bodies: (raw columns?, rows) -> file."""
    bodies = {}
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


def mlserver_dir(work: Path, name: str, parallel_workers: int | None) -> tuple[Path, int]:
    folder = work / name
    model = folder / "bench"
    model.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "xgb" / "model.json", model / "model.json")
    (model / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "implementation": "mlserver_xgboost.XGBoostModel",
                "parameters": {"uri": "./model.json"},
            }
        )
    )
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


def servers(work: Path, mlserver_venv: Path, only: set[str] | None) -> Iterator[tuple[Server, int]]:
    py = sys.executable
    specs: list[tuple[str, object]] = [
        ("kfp-tabular", "lean"),
        ("kfp-tabular (kserve)", "kserve"),
        ("mlserver default", None),
        ("mlserver pw0", 0),
        ("kserve minimal", "minimal"),
        ("bare asgi", "bare"),
    ]
    for name, how in specs:
        if only and name not in only:
            continue
        port = free_port()
        if how in ("lean", "kserve"):
            command = [
                py,
                "-m",
                "serving",
                f"--model_dir={work / 'bundle'}",
                "--model_name=bench",
                f"--http_port={port}",
                f"--grpc_port={free_port()}",
                "--enable_grpc=false",
                f"--server={how}",
            ]
            yield (
                Server(name, command, "/v2/health/ready", "/v2/models/bench/infer", True, ROOT),
                port,
            )
        elif how == "minimal":
            command = [
                py,
                str(HERE / "kserve_minimal.py"),
                f"--model_path={work / 'xgb' / 'model.json'}",
                "--model_name=bench",
                f"--http_port={port}",
                "--enable_grpc=false",
            ]
            yield Server(name, command, "/v2/health/ready", "/v2/models/bench/infer", False), port
        elif how == "bare":
            command = [
                py,
                str(HERE / "bare_asgi.py"),
                f"--model={work / 'xgb' / 'model.json'}",
                f"--port={port}",
            ]
            yield Server(name, command, "", "/v2/models/bench/infer", False), port
        else:
            python = mlserver_python(mlserver_venv)
            folder, port = mlserver_dir(work, name.replace(" ", "-"), how)  # type: ignore[arg-type]
            command = [str(python.parent / "mlserver"), "start", str(folder)]
            yield Server(name, command, "/v2/health/ready", "/v2/models/bench/infer", False), port


@contextmanager
def started(server: Server, port: int, log: Path) -> Iterator[str]:
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
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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


def check_answer(server: Server, url: str, body: Path) -> None:
    """One request before the load: the server answers 200 with outputs (not a fast 4xx)."""
    response = httpx.post(
        url + server.infer_path,
        content=body.read_bytes(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    if response.status_code != 200 or "outputs" not in response.json():
        raise RuntimeError(f"{server.name}: {response.status_code} {response.text[:500]}")


# --- report ----------------------------------------------------------------------------------
def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    cells = [f"{rows} row{'s' if rows > 1 else ''} c{c}" for rows, c in CELLS]
    lines = [
        "| server | " + " | ".join(f"{cell}: p50 / p99 ms, req/s, errors" for cell in cells) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for name, by_cell in results.items():
        parts = []
        for cell in cells:
            r = by_cell.get(cell)
            parts.append(
                f"{r['p50_ms']:.3f} / {r['p99_ms']:.3f}, {r['rps']:,.0f}, {r['errors']}"
                if r
                else "n/a"
            )
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def verdict(results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    ours = results.get("kfp-tabular")
    lines = []
    if not ours:
        return lines
    for rows, c in CELLS:
        cell = f"{rows} row{'s' if rows > 1 else ''} c{c}"
        ratio = []
        for other, factor in (("mlserver pw0", 2.0), ("mlserver default", 3.0)):
            if other in results and cell in results[other]:
                x = ours[cell]["rps"] / results[other][cell]["rps"]
                ratio.append(
                    f"{x:.2f}x {other} (target >= {factor:g}x: {'met' if x >= factor else 'MISSED'})"
                )
        if "bare asgi" in results and cell in results["bare asgi"]:
            x = ours[cell]["p50_ms"] / results["bare asgi"][cell]["p50_ms"]
            ratio.append(
                f"p50 {x:.2f}x bare asgi (target <= 1.5x: {'met' if x <= 1.5 else 'MISSED'})"
            )
        lines.append(f"- {cell}: " + "; ".join(ratio))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kfp-tabular-bench"))
    parser.add_argument(
        "--mlserver-venv", type=Path, default=Path("/tmp/kfp-tabular-bench/mlserver-venv")
    )
    parser.add_argument("--only", action="append", help="server name(s) to run (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    features, raw = build_model(args.work)
    bodies = write_bodies(args.work, features, raw)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for server, port in servers(args.work, args.mlserver_venv, set(args.only or []) or None):
        log = args.work / f"{server.name.replace(' ', '_')}.log"
        with started(server, port, log) as url:
            target = url + server.infer_path
            check_answer(server, url, bodies[server.raw_columns, 1])
            wrk(target, bodies[server.raw_columns, 1], 8, args.warmup)
            results[server.name] = {}
            for rows, concurrency in CELLS:
                cell = f"{rows} row{'s' if rows > 1 else ''} c{concurrency}"
                results[server.name][cell] = r = wrk(
                    target, bodies[server.raw_columns, rows], concurrency, args.duration
                )
                print(
                    f"{server.name:22s} {cell:12s} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
                    f"{r['rps']:,.0f} req/s  errors {r['errors']}",
                    flush=True,
                )
    load_after = os.getloadavg()
    report = "\n".join(
        [
            f"Machine: {machine()}. Server on core {SERVER_CORE}, wrk on core {LOAD_CORE}, "
            f"{args.duration:g} s per cell. Load average (1/5/15 min) before "
            f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
            f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}.",
            "",
            table(results),
            "",
            *verdict(results),
        ]
    )
    print("\n" + report)
    if args.out:
        args.out.write_text(report + "\n")
    (args.work / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
