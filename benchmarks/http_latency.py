"""HTTP latency of ``POST /v1/predict`` with 8 concurrent clients on loopback -> benchmarks/results/http.json.

Targets (issue #5): p50 <= 15 ms, p99 <= 50 ms, zero errors, 2 cores.

The server is ``mmn-ddx serve --workers 2`` in its own processes (the same uvicorn configuration as
in production, one worker per core); the load comes from ``--concurrency`` closed-loop asyncio clients,
each on its own keep-alive connection (a minimal HTTP/1.1 client: httpx cost more CPU than the
server's HTTP layer), each sending synthetic patients from the generator. The run is bounded: ``--requests`` measured
requests after ``--warmup``, and it stops by itself after ``--max-seconds`` whatever happens. Only
127.0.0.1 is contacted.

    .venv/bin/python benchmarks/http_latency.py --model models/mmn-ddx   # default: the champion

Latency is measured client-side (send to last byte), so it includes HTTP parsing, validation,
the explained prediction and JSON serialisation. Client and server share the machine's 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd
from timing import machine, write_results  # sibling script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "http.json"
TARGETS_MS = {"p50": 15.0, "p99": 50.0}
MEMO_DISTINCT = 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def patient_bodies(n: int, seed: int) -> list[bytes]:
    """``n`` synthetic patients as JSON request bodies (nulls left out: unknown)."""
    from mmn_ddx.data.contract import LABEL
    from mmn_ddx.data.generator import generate_cohort

    frame = generate_cohort(n, seed=seed).drop(columns=LABEL)
    bodies = []
    for row in frame.to_dict(orient="records"):
        record = {k: _plain(v) for k, v in row.items()}
        bodies.append(json.dumps({k: v for k, v in record.items() if v is not None}).encode())
    return bodies


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def in_process_p50_ms(model: str | None, bodies: list[bytes], n: int = 60) -> float:
    """p50 of ``Predictor.predict`` in this process, one at a time: the floor under the HTTP figure."""
    from mmn_ddx.serving.predictor import Predictor

    predictor = Predictor.load(model)
    records = [json.loads(b) for b in bodies[:n]]
    predictor.predict(records[0])  # warm caches
    times = []
    for record in records:
        start = time.perf_counter()
        predictor.predict(record)
        times.append((time.perf_counter() - start) * 1000.0)
    return round(float(np.median(times)), 2)


# The HTTP layer alone: the real predictor answers each distinct record once, then its result is served
# from memory, so what remains is parsing, validation, serialisation of the real-sized result and uvicorn.
MEMO_SERVER = """
import sys, uvicorn
from mmn_ddx.serving.http import create_app
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.cli.serve import server_config

class Memo:
    def __init__(self, predictor):
        self.predictor, self.cache = predictor, {}
    def predict(self, record):
        key = record.model_dump_json()
        if key not in self.cache:
            self.cache[key] = self.predictor.predict(record)
        return self.cache[key]
    def predict_many(self, records):
        return [self.predict(r) for r in records]
    def __getattr__(self, name):
        return getattr(self.predictor, name)

model = sys.argv[2] or None
uvicorn.Server(server_config(create_app(Memo(Predictor.load(model))), "127.0.0.1", int(sys.argv[1]), "warning")).run()
"""


def start_server(port: int, model: str | None, memo: bool = False, workers: int = 1) -> subprocess.Popen[bytes]:
    """``mmn-ddx serve --workers N`` (or the memoised single-process variant) in its own process."""
    if memo:
        args = [sys.executable, "-c", MEMO_SERVER, str(port), model or ""]
    else:
        args = [sys.executable, "-c", "from mmn_ddx.cli.serve import serve_app; serve_app()",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
        if model:
            args += ["--model", model]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise SystemExit(f"the server exited with code {server.returncode}:\n{stderr[-2000:]}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server was not ready within {timeout_s:.0f} s")


def _request(port: int, body: bytes) -> bytes:
    return (f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection, read the whole response; its status code."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = None
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ConnectionError("response without Content-Length")
    await reader.readexactly(length)
    return status


async def load(url: str, bodies: list[bytes], concurrency: int, warmup: int, requests: int,
               max_seconds: float) -> dict[str, Any]:
    """Closed-loop clients, each on its own keep-alive connection, sending whole prepared requests.

    A minimal HTTP/1.1 client on asyncio streams rather than httpx: httpx spent ~2.5 ms of CPU per
    request, and client and server share the 2 cores, so it measured mostly itself.
    """
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    deadline = time.monotonic() + max_seconds
    port = int(url.rsplit(":", 1)[1])
    prepared = [_request(port, body) for body in bodies]

    async def worker() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while issued < warmup + requests and time.monotonic() < deadline:
                index = issued
                issued += 1
                start = time.perf_counter()
                try:
                    status = await asyncio.wait_for(_exchange(reader, writer, prepared[index % len(prepared)]), 30)
                    outcome = "ok" if status == 200 else f"HTTP {status}"
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    outcome = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                elapsed = time.perf_counter() - start
                if index < warmup:
                    continue
                if outcome == "ok":
                    latencies.append(elapsed * 1000.0)
                else:
                    errors[outcome] = errors.get(outcome, 0) + 1
        finally:
            writer.close()

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, client_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    ms = np.asarray(latencies)
    done = len(latencies) + sum(errors.values())
    return {
        "requests_measured": done,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "p50_ms": round(float(np.percentile(ms, 50)), 2) if ms.size else None,
        "p90_ms": round(float(np.percentile(ms, 90)), 2) if ms.size else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 2) if ms.size else None,
        "max_ms": round(float(ms.max()), 2) if ms.size else None,
        "mean_ms": round(float(ms.mean()), 2) if ms.size else None,
        "throughput_rps": round(done / wall, 1) if wall > 0 and not warmup else None,
        "client_cpu_ms_per_request": round(1000.0 * client_cpu / done, 3) if done else None,
        "stopped_by_time_limit": done < requests,
    }


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def server_cpu_s(server: subprocess.Popen[bytes]) -> float | None:
    """CPU seconds used so far by the server process and its worker processes (Linux /proc), all threads.

    Unlike wall-clock latency, CPU per request does not depend on what else the machine is running.
    """
    own = _stat(server.pid)
    if own is None:
        return None
    children = [s for pid in os.listdir("/proc") if pid.isdigit() and (s := _stat(pid)) and s[1] == str(server.pid)]
    ticks = sum(int(s[11]) + int(s[12]) for s in (own, *children))
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(url: str, server: subprocess.Popen[bytes], bodies: list[bytes], concurrency: int, requests: int,
            max_seconds: float) -> dict[str, Any]:
    """One load pass, plus the server's CPU milliseconds per request during it."""
    before = server_cpu_s(server)
    figures = asyncio.run(load(url, bodies, concurrency, 0, requests, max_seconds))
    after = server_cpu_s(server)
    done = figures["requests_measured"]
    if before is not None and after is not None and done:
        figures["server_cpu_ms_per_request"] = round(1000.0 * (after - before) / done, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model URI or exported directory (default: the champion / models/)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=180.0, help="hard stop for each load pass")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (one per core)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    bodies = patient_bodies(500, seed=2024)
    floor_ms = in_process_p50_ms(args.model, bodies)

    url = f"http://127.0.0.1:{free_port()}"
    server = start_server(int(url.rsplit(":", 1)[1]), args.model, workers=args.workers)
    try:
        wait_ready(url, server)
        model = httpx2.get(f"{url}/v1/model", timeout=10).json()
        asyncio.run(load(url, bodies, args.concurrency, 0, args.warmup, args.max_seconds))  # warm-up, discarded
        single = measure(url, server, bodies, 1, 100, args.max_seconds / 4)
        figures = measure(url, server, bodies, args.concurrency, args.requests, args.max_seconds)
    finally:
        stop_server(server)

    memo_url = f"http://127.0.0.1:{free_port()}"
    distinct = bodies[:MEMO_DISTINCT]
    server = start_server(int(memo_url.rsplit(":", 1)[1]), args.model, memo=True)
    try:
        wait_ready(memo_url, server)
        asyncio.run(load(memo_url, distinct, args.concurrency, 0, 2 * MEMO_DISTINCT, args.max_seconds))  # fill
        http_only = measure(memo_url, server, distinct, args.concurrency, args.requests, args.max_seconds)
        http_only_single = measure(memo_url, server, distinct, 1, 200, args.max_seconds / 4)
    finally:
        stop_server(server)

    keep = ("requests_measured", "errors", "p50_ms", "p99_ms", "throughput_rps", "server_cpu_ms_per_request",
            "client_cpu_ms_per_request")
    figures = {
        "endpoint": "POST /v1/predict (explained prediction, next test included)",
        "concurrency": args.concurrency,
        **figures,
        "targets_ms": TARGETS_MS,
        "meets_targets": bool(
            figures["errors"] == 0 and figures["p50_ms"] is not None
            and figures["p50_ms"] <= TARGETS_MS["p50"] and figures["p99_ms"] <= TARGETS_MS["p99"]),
        "one_client": {k: single.get(k) for k in keep},
        "in_process_predict_p50_ms": floor_ms,
        "http_layer_only": {
            "how": f"same load; the server answers each of {MEMO_DISTINCT} distinct patients once with the real "
                   "predictor, then from memory: what remains is HTTP, validation, batching and serialisation",
            f"concurrency_{args.concurrency}": {k: http_only.get(k) for k in keep},
            "one_client": {k: http_only_single.get(k) for k in keep},
        },
        "server": f"mmn-ddx serve --workers {args.workers} (uvicorn; each worker micro-batches concurrent single "
                  "predictions); the HTTP-layer-only figures use 1 process; the load generator is a separate "
                  "process on the same 2 cores",
        "model": {k: model.get(k) for k in ("name", "version", "alias", "uri", "mode")},
        "machine": machine(load_before),
    }
    write_results(args.output, figures)


if __name__ == "__main__":
    main()
