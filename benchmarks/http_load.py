"""Open-loop load on loopback against ``mmn-ddx serve --workers 2`` -> benchmarks/results/http_load.json.

Targets (issue #15): 200 requests/s for 60 s, p99 < 100 ms, 0 errors; a killed worker is replaced and the
error rate during the replacement is reported.

Open loop: request ``i`` is sent at ``start + i / rate`` whatever the earlier ones are doing, each on its
own connection, and its latency counts from that scheduled time (a slow server cannot slow the load
down and hide its own queueing). Phases, on one server:

1. **steady**: ``--rate`` requests/s of ``POST /v1/predict`` for ``--seconds``; p50/p95/p99, errors, and
   the server's resident memory (all processes) before and after.
2. **worker killed**: the same load; after ``--kill-after`` s one worker gets SIGKILL. Errors before the
   kill, from the kill until the replacement has started, and after; time to replacement.
3. **batch**: the issue's 1 000 minimal records at ``?detail=compact``: seconds, response bytes, and the
   slowest ``/healthz`` answered meanwhile.

    .venv/bin/python benchmarks/http_load.py --model models/mmn-ddx   # default: the champion
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_latency import free_port, patient_bodies, stop_server, wait_ready  # sibling script
from timing import machine, write_results  # sibling script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "http_load.json"
TARGET_P99_MS = 100.0
STARTED = re.compile(r"Started server process \[(\d+)\]")
READY = "Application startup complete"


def start_server(port: int, model: str | None, workers: int, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", "from mmn_ddx.cli.serve import serve_app; serve_app()", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "info", "--workers", str(workers)]
    if model:
        args += ["--model", model]
    with log.open("wb") as sink:
        return subprocess.Popen(args, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)


def rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its child processes (Linux /proc), in MB."""
    total = 0
    for pid in [str(root), *(p for p in os.listdir("/proc") if p.isdigit() and _parent(p) == str(root))]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status)[1]) if "VmRSS" in status else 0  # type: ignore[index]
    return round(total / 1024, 1)


def _parent(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return None


def _request(port: int, body: bytes) -> bytes:
    return (f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _one(port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        if not line:
            raise ConnectionAbortedError("closed without a response")  # e.g. no request head read in time
        status = int(line.split()[1])
        await reader.read()  # Connection: close - the body ends with the connection
        return status
    finally:
        writer.close()


async def open_loop(port: int, bodies: list[bytes], rate: float, seconds: float,
                    at: dict[float, Any] | None = None) -> list[tuple[float, float | None, str]]:
    """(scheduled offset s, latency ms or None, outcome) per request; ``at`` maps offsets to callbacks."""
    prepared = [_request(port, b) for b in bodies]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    records: list[tuple[float, float | None, str]] = []
    pending = dict(sorted((at or {}).items()))

    async def fire(offset: float, request: bytes) -> None:
        try:
            status = await asyncio.wait_for(_one(port, request), 30)
            outcome = "ok" if status == 200 else f"HTTP {status}"
        except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            status, outcome = 0, type(exc).__name__
        elapsed = (loop.time() - (start + offset)) * 1000.0
        records.append((offset, elapsed if outcome == "ok" else None, outcome))

    tasks = []
    for i in range(int(rate * seconds)):
        offset = i / rate
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        while pending and next(iter(pending)) <= offset:
            pending.pop(next(iter(pending)))()
        tasks.append(asyncio.create_task(fire(offset, prepared[i % len(prepared)])))
    await asyncio.gather(*tasks)
    return records


def summary(records: list[tuple[float, float | None, str]]) -> dict[str, Any]:
    ms = np.asarray([latency for _, latency, _ in records if latency is not None])
    errors: dict[str, int] = {}
    for _, _, outcome in records:
        if outcome != "ok":
            errors[outcome] = errors.get(outcome, 0) + 1
    pct = {f"p{q}_ms": round(float(np.percentile(ms, q)), 1) if ms.size else None for q in (50, 95, 99)}
    return {"requests": len(records), "errors": sum(errors.values()), "error_kinds": errors, **pct,
            "max_ms": round(float(ms.max()), 1) if ms.size else None}


def worker_pids(log: Path) -> list[int]:
    return [int(pid) for pid in STARTED.findall(log.read_text(errors="replace"))]


def kill_phase(port: int, bodies: list[bytes], rate: float, seconds: float, kill_after: float,
               log: Path) -> dict[str, Any]:
    victim = worker_pids(log)[0]
    ready_before = log.read_text(errors="replace").count(READY)
    killed: dict[str, float] = {}
    replaced: dict[str, float] = {}
    stop = threading.Event()

    def kill() -> None:
        killed["t"] = time.monotonic()
        os.kill(victim, signal.SIGKILL)

    def watch() -> None:  # the replacement is ready when uvicorn logs one more startup
        while not stop.wait(0.05):
            if log.read_text(errors="replace").count(READY) > ready_before:
                replaced["t"] = time.monotonic()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic() + 0.2
    records = asyncio.run(open_loop(port, bodies, rate, seconds, at={kill_after: kill}))
    stop.set()
    if "t" not in replaced:  # the load ended first: wait for the replacement a little longer
        watcher.join(timeout=0)
        deadline = time.monotonic() + 120
        while "t" not in replaced and time.monotonic() < deadline:
            if log.read_text(errors="replace").count(READY) > ready_before:
                replaced["t"] = time.monotonic()
            time.sleep(0.1)
    kill_at = killed["t"] - started
    replaced_at = replaced["t"] - started if "t" in replaced else None
    end = replaced_at if replaced_at is not None else float("inf")
    window = [r for r in records if kill_at <= r[0] < end]
    return {
        "killed_worker_after_s": round(kill_at, 2),
        "replacement_ready_after_kill_s": round(replaced_at - kill_at, 2) if replaced_at is not None else None,
        "replaced": replaced_at is not None,
        "worker_pids": worker_pids(log),
        "before_kill": summary([r for r in records if r[0] < kill_at]),
        "during_replacement": {**summary(window), "error_rate": round(summary(window)["errors"] / len(window), 4)
                               if window else None},
        "after_replacement": summary([r for r in records if r[0] >= end]),
        "whole_phase": summary(records),
    }


def batch_phase(url: str) -> dict[str, Any]:
    records = [{"age_at_onset_years": 20 + i % 60, "sex": "male" if i % 2 else "female"} for i in range(1000)]
    body = json.dumps({"records": records}).encode()
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx2.Client(base_url=url, timeout=30) as client:
            while not done.is_set():
                start = time.perf_counter()
                client.get("/healthz")
                health.append((time.perf_counter() - start) * 1000.0)
                time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    start = time.perf_counter()
    response = httpx2.post(f"{url}/v1/predict/batch?detail=compact", content=body, timeout=300,
                          headers={"content-type": "application/json"})
    seconds = time.perf_counter() - start
    done.set()
    prober.join(timeout=30)
    return {"records": len(records), "request_bytes": len(body), "status": response.status_code,
            "response_bytes": len(response.content), "seconds": round(seconds, 2),
            "healthz_during_batch": {"answered": len(health), "p50_ms": round(float(np.median(health)), 1),
                                     "max_ms": round(max(health), 1)} if health else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model URI or exported directory (default: the champion / models/)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the steady phase")
    parser.add_argument("--kill-seconds", type=float, default=30.0, help="length of the worker-killed phase")
    parser.add_argument("--kill-after", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    bodies = patient_bodies(500, seed=2024)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = args.output.parent / ".http_load_server.log"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    server = start_server(port, args.model, args.workers, log)
    try:
        wait_ready(url, server, timeout_s=300)
        while log.read_text(errors="replace").count(READY) < args.workers:
            time.sleep(0.2)
        model = httpx2.get(f"{url}/v1/model", timeout=10).json()
        asyncio.run(open_loop(port, bodies, args.rate, 3))  # warm-up, discarded
        rss_before = rss_mb(server.pid)
        steady = summary(asyncio.run(open_loop(port, bodies, args.rate, args.seconds)))
        rss_after = rss_mb(server.pid)
        killed = kill_phase(port, bodies, args.rate, args.kill_seconds, args.kill_after, log)
        batch = batch_phase(url)
    finally:
        stop_server(server)
        log.unlink(missing_ok=True)
    figures = {
        "server": f"mmn-ddx serve --workers {args.workers} (uvicorn's supervisor; default limits)",
        "load": f"open loop, {args.rate:g} requests/s of POST /v1/predict, one connection per request, synthetic "
                "patients; latency from the scheduled send time to the last byte",
        "steady": {"seconds": args.seconds, **steady, "rss_mb_before": rss_before, "rss_mb_after": rss_after},
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": bool(steady["errors"] == 0 and steady["p99_ms"] is not None
                             and steady["p99_ms"] < TARGET_P99_MS),
        "worker_killed": {"seconds": args.kill_seconds, **killed},
        "batch_1000_compact": batch,

        "model": {k: model.get(k) for k in ("name", "version", "uri", "mode")},
        "machine": machine(load_before),
    }
    write_results(args.output, figures)


if __name__ == "__main__":
    main()
