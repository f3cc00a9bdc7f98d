"""HTTP and browser fixtures: the app around the quick model, a live uvicorn server, vignettes."""

from __future__ import annotations

import csv
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mmn_ddx.cli.serve import server_config
from mmn_ddx.data.contract import LABEL, fields
from mmn_ddx.serving.http import create_app

VIGNETTES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "vignettes.csv"


def _cell(name: str, raw: str) -> Any:
    """A vignette CSV cell as a JSON value of the contract type ('' = unknown)."""
    if raw == "":
        return None
    kind = fields()[name].type
    if kind == "float":
        return float(raw)
    if kind == "int":
        return int(raw)
    if kind == "bool":
        return raw == "True"
    return raw


@pytest.fixture(scope="session")
def vignettes() -> dict[str, dict[str, Any]]:
    """The four textbook vignettes by diagnosis, as JSON-ready records without the label."""
    with VIGNETTES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {row[LABEL]: {k: _cell(k, v) for k, v in row.items() if k != LABEL} for row in rows}


@pytest.fixture(scope="session")
def predictor(quick_bundle_dir: Path) -> Any:
    from mmn_ddx.serving.predictor import Predictor

    return Predictor.load(str(quick_bundle_dir))


@pytest.fixture(scope="session")
def app(predictor: Any) -> FastAPI:
    return create_app(predictor)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a server-side exception must surface as the status it got.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server


@pytest.fixture(scope="module")
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """The app on uvicorn (the same configuration as ``mmn-ddx serve``) on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="info"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    assert httpx2.get(f"{url}/healthz", timeout=5).status_code == 200
    try:
        yield LiveServer(url=url, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
