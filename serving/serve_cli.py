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
import os
import socket
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
    from serving.predictor import Predictor  # noqa: PLC0415 - heavy import, only when serving

    return Predictor.load(model, mode=mode)


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; keep loopback unless you mean it.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    model: Annotated[
        str | None,
        typer.Option(help="MLflow model URI (models:/mmn-ddx@champion, runs:/...) or exported model directory. "
                          "Default: the champion if a tracking store is configured, else models/."),
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
    from serving.http.app import MODEL_ENV, MODE_ENV, create_app  # noqa: PLC0415 - keeps `mmn-ddx --help` fast

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
    # uvicorn starts the workers from an import string: each loads the model this process resolved
    os.environ[MODEL_ENV], os.environ[MODE_ENV] = predictor.uri, predictor.mode
    disable_access_logger()
    run_workers(uvicorn.Config("serving.http.app:create_app_from_environment", factory=True, workers=workers,
                               **server_options(host, port, log_level)))


def run_workers(config: uvicorn.Config) -> None:
    """``uvicorn.run`` for several workers, with ``TCP_NODELAY`` on the shared listening socket.

    The workers receive the socket through multiprocessing, and asyncio then no longer recognises it as
    TCP, so it leaves Nagle's algorithm on: a response written in two parts waited for the client's
    delayed ACK, 40 ms per request (measured). Accepted sockets inherit the option from the listener.
    """
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - only for several workers

    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
