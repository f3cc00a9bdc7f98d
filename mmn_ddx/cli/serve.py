"""``mmn-ddx serve``: the HTTP API and clinician page on uvicorn (127.0.0.1:8000 by default).

Loopback by default on purpose: the model is research software, and a page that takes patient
findings should not be reachable from the network unless someone decides so (``--host 0.0.0.0``).

Logging: uvicorn's access log is off (it prints raw paths with query strings, where a client may
put anything); :class:`serving.http.middleware.AccessLogMiddleware` logs route templates, status and
duration instead. No request body, query string or header value is ever logged.

Limits (:class:`serving.http.limits.ServerLimits`): idle and request-head timeout, body-read timeout (408),
connections per worker (503 beyond), each an option; request-head size (16 KiB, 431). With ``--workers N``
uvicorn's own supervisor runs the workers and replaces one that dies.
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

from mmn_ddx.serving.http import ServerLimits
from mmn_ddx.settings import MODEL_NAMES

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
                   configure_logging: bool = True, limits: ServerLimits = ServerLimits()) -> dict[str, Any]:
    """The one set of uvicorn options (the CLI, the browser test and the benchmark all use it)."""
    return {
        **limits.uvicorn_options(),
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": log_config(log_level) if configure_logging else None,
        "log_level": log_level,
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
    }


def server_config(app: Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info",
                  configure_logging: bool = True, limits: ServerLimits = ServerLimits()) -> uvicorn.Config:
    """A uvicorn configuration for one in-process server around ``app`` (built with ``limits.timeout_body``)."""
    config = uvicorn.Config(app, **server_options(host, port, log_level, configure_logging, limits))
    disable_access_logger()
    return config


def disable_access_logger() -> None:
    """uvicorn writes its access line (raw path and query string) whenever "uvicorn.access" has any
    handler, whatever ``access_log`` says, and test runners or log shippers may attach one."""
    logging.getLogger("uvicorn.access").disabled = True


def load_predictor(model: str | None, mode: str | None) -> Any:
    from mmn_ddx.serving import Predictor  # heavy import, only when serving

    return Predictor.load(model, mode=mode)


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; keep loopback unless you mean it.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    model: Annotated[
        str | None,
        typer.Option(help="MLflow model URI (models:/mmn-ddx@champion, runs:/...) or exported model directory. "
                          "Default: the champion if a tracking store is configured or <home>/mlruns.db exists, else "
                          f"the mode's export, <home>/models/{' or '.join(MODEL_NAMES.values())} (home is "
                          "$MMN_DDX_HOME, else the working directory)."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="Feature mode: 'at-presentation' (default model) or 'with-treatment' (uses treatment "
                          "responses); picks the default model, or is checked against --model."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[int, typer.Option(
        min=1, max=32, help="Worker processes, each with its own copy of the model, supervised by uvicorn (a worker "
                            "that dies is replaced). One process computes one prediction at a time (Python's "
                            "GIL); use one per core under concurrent load.")] = 1,
    timeout_keep_alive: Annotated[int, typer.Option(
        min=1, help="Seconds a connection may stay idle, and may take to send a complete request head.")
    ] = ServerLimits.timeout_keep_alive,
    timeout_body: Annotated[float, typer.Option(
        min=0.1, help="Seconds to receive a request body after its head; slower requests get 408.")
    ] = ServerLimits.timeout_body,
    limit_concurrency: Annotated[int, typer.Option(
        min=1, help="Open connections plus running requests per worker; beyond it requests get 503.")
    ] = ServerLimits.limit_concurrency,
) -> None:
    """Serve the HTTP API (/v1/..., /docs) and the clinician web page (/) on uvicorn."""
    from mmn_ddx.serving.http import BODY_TIMEOUT_ENV, MODE_ENV, MODEL_ENV, create_app  # keeps `mmn-ddx --help` fast

    limits = ServerLimits(timeout_keep_alive=timeout_keep_alive, timeout_body=timeout_body,
                          limit_concurrency=limit_concurrency)
    try:
        predictor = load_predictor(model, mode)  # in this process first: a bad model fails here, readably
    except Exception as exc:  # noqa: BLE001 - any load failure ends here with a readable message
        err.print(f"[bold red]Error:[/] could not load the model ({type(exc).__name__}: {exc}). "
                  "Train and export one first, or pass --model.")
        raise typer.Exit(code=1) from None
    err.print(f"Serving {predictor.uri} on http://{host}:{port}/  (API docs: http://{host}:{port}/docs) with "
              f"{workers} worker process{'es' if workers > 1 else ''}. Research software: not for clinical use.")
    if workers == 1:
        app = create_app(predictor, body_timeout=limits.timeout_body)
        gc.freeze()  # the model and lookup tables live as long as the server: keep them out of every GC pass
        uvicorn.Server(server_config(app, host, port, log_level, limits=limits)).run()
        return
    # each worker builds the app from an import string and loads the model this process resolved
    os.environ[MODEL_ENV], os.environ[MODE_ENV] = predictor.uri, predictor.mode
    os.environ[BODY_TIMEOUT_ENV] = str(limits.timeout_body)
    run_workers(workers, server_options(host, port, log_level, limits=limits))


WORKER_APP = "mmn_ddx.serving.http.app:create_app_from_environment"


def run_workers(workers: int, options: dict[str, Any]) -> None:
    """``workers`` processes under uvicorn's own supervisor (``uvicorn.run(..., workers=N)``).

    The supervisor pings each worker every half second and replaces one that died or hangs (a crash
    no longer stops the server); SIGHUP restarts them one by one, SIGTTIN/SIGTTOU add or remove one.
    The workers share one listening socket.
    """
    _check_port_free(options["host"], options["port"])
    uvicorn.run(WORKER_APP, factory=True, workers=workers, **options)


def _check_port_free(host: str, port: int) -> None:
    """Fail with a readable message (uvicorn would log a bare socket error and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            err.print(f"[bold red]Error:[/] cannot listen on {host}:{port} ({exc.strerror}).")
            raise typer.Exit(code=1) from None
