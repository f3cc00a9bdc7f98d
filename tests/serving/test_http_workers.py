"""Issue #15 item 6: ``kill -KILL <worker>`` under ``mmn-ddx serve --workers 2`` no longer stops the server.

The reproduction, against the real CLI: the server keeps answering ``/healthz`` and a new worker replaces
the dead one (uvicorn's supervisor).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from .conftest import free_port

STARTED = re.compile(r"Started server process \[(\d+)\]")
READY = "Application startup complete"


class Served:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.process, self.log, self.url = process, log, url

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in STARTED.findall(self.log.read_text(errors="replace"))]

    def wait_for(self, ready: int, timeout: float = 180) -> None:
        """Until ``ready`` workers have started (ever), or fail with the server's log."""
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count(READY) < ready:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)


@pytest.fixture
def two_workers(predictor: Any, tmp_path: Path) -> Iterator[Served]:
    port, log = free_port(), tmp_path / "serve.log"
    command = [str(Path(sys.executable).with_name("mmn-ddx")), "serve", "--model", predictor.uri, "--port", str(port),
               "--workers", "2", "--log-level", "info"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    served = Served(process, log, f"http://127.0.0.1:{port}")
    try:
        served.wait_for(ready=2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx2.HTTPError:
        return False


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(two_workers: Served) -> None:
    first = two_workers.worker_pids()
    assert len(first) == 2 and _healthy(two_workers.url)
    os.kill(first[0], signal.SIGKILL)
    answered = 0
    deadline = time.monotonic() + 180
    while two_workers.log.read_text(errors="replace").count(READY) < 3:
        assert two_workers.process.poll() is None, "the server exited after a worker died"
        assert time.monotonic() < deadline, two_workers.log.read_text()
        answered += _healthy(two_workers.url)  # the surviving worker answers meanwhile
        time.sleep(0.1)
    assert answered > 0
    now = two_workers.worker_pids()
    assert len(now) == 3 and now[2] not in first
    assert two_workers.process.poll() is None
    assert all(_healthy(two_workers.url) for _ in range(10))
