"""``mmn-ddx serve``: the HTTP API and clinician page on uvicorn (127.0.0.1:8000 by default).

Loopback by default on purpose: the model is research software, and a page that takes patient
findings should not be reachable from the network unless someone decides so (``--host 0.0.0.0``).

Logging: uvicorn's access log is off (it prints raw paths with query strings, where a client may
put anything); :class:`serving.http.middleware.AccessLogMiddleware` logs route templates, status and
duration instead. No request body, query string or header value is ever logged.
"""

from __future__ import annotations

import copy
import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

serve_app = typer.Typer(add_completion=False)
err = Console(stderr=True, highlight=False)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging config plus our ``mmn_ddx`` loggers, without uvicorn's access handler."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"].pop("uvicorn.access", None)
    config["handlers"].pop("access", None)
    config["formatters"].pop("access", None)
    config["loggers"]["mmn_ddx"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def server_options(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info",
                   configure_logging: bool = True) -> dict[str, Any]:
    """The one set of uvicorn options (the CLI, the browser test and the benchmark all use it)."""
    return {
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": log_config(log_level) if configure_logging else None,
        "log_level": log_level,
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
    }


def server_config(app: Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                  log_level: str = "info", configure_logging: bool = True) -> uvicorn.Config:
    """A uvicorn configuration for one in-process server around ``app``."""
    config = uvicorn.Config(app, **server_options(host, port, log_level, configure_logging))
    disable_access_logger()
    return config


def disable_access_logger() -> None:
    """uvicorn writes its access line (raw path and query string) whenever "uvicorn.access" has any
    handler, whatever ``access_log`` says, and test runners or log shippers may attach one."""
    logging.getLogger("uvicorn.access").disabled = True


def load_predictor(model: str | None, mode: str | None) -> Any:
    from mmn_ddx.serving.predictor import Predictor  # noqa: PLC0415 - heavy import, only when serving

    return Predictor.load(model, mode=mode)


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; keep loopback unless you mean it.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    model: Annotated[
        str | None,
        typer.Option(help="MLflow model URI (models:/mmn-ddx@champion, runs:/...) or exported model directory. "
                          "Default: the champion if a tracking store is configured or <home>/mlruns.db exists, else "
                          "<home>/models/ (home is $MMN_DDX_HOME, else the working directory)."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="Feature mode: 'at-presentation' (default model) or 'with-treatment' (uses treatment "
                          "responses); picks the default model, or is checked against --model."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[int, typer.Option(
        min=1, max=32, help="Worker processes, each with its own copy of the model. One process computes one "
                            "prediction at a time (Python's GIL); use one per core under concurrent load.")] = 1,
) -> None:
    """Serve the HTTP API (/v1/..., /docs) and the clinician web page (/) on uvicorn."""
    from mmn_ddx.serving.http.app import MODEL_ENV, MODE_ENV, create_app  # noqa: PLC0415 - keeps `mmn-ddx --help` fast

    try:
        predictor = load_predictor(model, mode)  # in this process first: a bad model fails here, readably
    except Exception as exc:  # noqa: BLE001 - any load failure ends here with a readable message
        err.print(f"[bold red]Error:[/] could not load the model ({type(exc).__name__}: {exc}). "
                  "Train and export one first, or pass --model.")
        raise typer.Exit(code=1) from None
    err.print(f"Serving {predictor.uri} on http://{host}:{port}/  (API docs: http://{host}:{port}/docs) with "
              f"{workers} worker process{'es' if workers > 1 else ''}. Research software: not for clinical use.")
    if workers == 1:
        app = create_app(predictor)
        gc.freeze()  # the model and lookup tables live as long as the server: keep them out of every GC pass
        uvicorn.Server(server_config(app, host, port, log_level)).run()
        return
    # each worker builds the app from an import string and loads the model this process resolved
    os.environ[MODEL_ENV], os.environ[MODE_ENV] = predictor.uri, predictor.mode
    run_workers(workers, server_options(host, port, log_level))


WORKER_APP = "mmn_ddx.serving.http.app:create_app_from_environment"


def run_workers(workers: int, options: dict[str, Any]) -> None:
    """Run ``workers`` uvicorn processes, each with its own ``SO_REUSEPORT`` listening socket.

    Why not ``uvicorn --workers``: its workers share one listening socket, and the first one to wake
    accepts every connection that is waiting, so a handful of keep-alive clients all land on one
    worker (measured: 8 clients, 2 workers, one core busy). With a socket per worker the kernel spreads
    connections over the workers. ``TCP_NODELAY`` is set on the listener (accepted sockets inherit it):
    asyncio does not set it on a socket it did not create, and a response written in two parts then
    waited 40 ms for the client's delayed ACK.
    """
    guard = _listener(options["host"], options["port"], listen=False)  # the port is free, or fail here
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(options,), name=f"mmn-ddx-worker-{i}", daemon=True)
                 for i in range(workers)]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for process in processes:
            process.start()
        while not stop.wait(0.5):
            if any(not p.is_alive() for p in processes):
                err.print("[bold red]Error:[/] a worker process exited; stopping the server.")
                break
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        guard.close()
    if not stop.is_set():
        raise typer.Exit(code=1)


def _listener(host: str, port: int, *, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        err.print(f"[bold red]Error:[/] cannot listen on {host}:{port} ({exc.strerror}).")
        raise typer.Exit(code=1) from None
    if listen:
        sock.listen(2048)
        sock.set_inheritable(True)
    return sock


def _worker(options: dict[str, Any]) -> None:
    """One worker process: its own listening socket on the shared port, one uvicorn server."""
    config = uvicorn.Config(WORKER_APP, factory=True, **options)  # configures this process's logging
    disable_access_logger()
    sock = _listener(options["host"], options["port"])
    uvicorn.Server(config).run(sockets=[sock])
