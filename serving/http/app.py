"""The FastAPI application: the ``/v1`` API, the clinician page at ``/`` and offline API docs.

``create_app(predictor)`` is the one way to build it (tests pass a predictor; ``mmn-ddx serve``
passes the one it loaded). Everything is served from the package itself, nothing from a CDN: the
page's HTML/CSS/JS from ``serving/web/``, Swagger UI and ReDoc from the ``fastapi-offline`` wheel,
so the tool works on a hospital machine without internet access.

Middleware, outermost first: access log (no patient data; gives each request an id) -> request-head size
(431) -> body-read timeout (408) -> body-size limit (413) -> catch-all (an unexpected error is a 500 naming
the request id, never a traceback in the log). Error handlers: :mod:`serving.http.errors`. Connection limits and
timeouts: :mod:`serving.http.limits`.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from mmn_ddx.serving.http.batch import BATCH_PATH, MAX_BATCH
from mmn_ddx.serving.http.errors import install_error_handlers
from mmn_ddx.serving.http.limits import BodyTimeoutMiddleware, ServerLimits
from mmn_ddx.serving.http.middleware import (
    AccessLogMiddleware,
    BodySizeLimitMiddleware,
    RequestHeadLimitMiddleware,
    SafeErrorsMiddleware,
)
from mmn_ddx.serving.http.model_info import PredictorLike
from mmn_ddx.serving.http.routes import attach_predictor, router
from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE

logger = logging.getLogger("mmn_ddx.http")

RECORD_BODY_LIMIT = 64 * 1024
"""Bytes for one record: a complete record is ~2 kB of JSON, so 64 KiB leaves room for whitespace."""
BATCH_BODY_LIMIT = MAX_BATCH * 4 * 1024
"""Bytes for a batch of ``MAX_BATCH`` complete, pretty-printed records."""

WEB_DIR = Path(str(resources.files("mmn_ddx.serving").joinpath("web")))

# The page loads nothing but its own files; fetch() only talks to this origin.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _offline_docs_dir() -> Path | None:
    try:
        import fastapi_offline  # optional: only its static files are used
    except ImportError:
        return None
    return Path(fastapi_offline.__file__).parent / "static"


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc``, from local files when available.

    Without the ``fastapi-offline`` package the pages fall back to FastAPI's CDN assets (they then
    need internet); ``/openapi.json`` works offline either way.
    """
    static = _offline_docs_dir()
    if static is not None:
        app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")
        assets: dict[str, Any] = {"swagger_js_url": "/docs-static/swagger-ui-bundle.js",
                  "swagger_css_url": "/docs-static/swagger-ui.css",
                  "swagger_favicon_url": "/docs-static/favicon.png"}
        redoc = {"redoc_js_url": "/docs-static/redoc.standalone.js", "redoc_favicon_url": "/docs-static/favicon.png"}
    else:
        logger.warning("fastapi-offline is not installed: /docs and /redoc load their assets from a CDN")
        assets, redoc = {}, {}

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - API", **assets)

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - API",
                              with_google_fonts=False, **redoc)


def _add_page(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})


def _load_default_predictor() -> PredictorLike:
    from mmn_ddx.serving.predictor import Predictor  # heavy; only when no predictor is given

    return Predictor.load()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await app.state.batcher.close()  # stop the micro-batch worker before the loop closes


MODEL_ENV = "MMN_DDX_SERVE_MODEL"
MODE_ENV = "MMN_DDX_SERVE_MODE"
BODY_TIMEOUT_ENV = "MMN_DDX_SERVE_BODY_TIMEOUT"
"""Set by ``mmn-ddx serve --workers N`` for its worker processes (see :func:`create_app_from_environment`)."""


def create_app_from_environment() -> FastAPI:
    """The app factory each worker of ``mmn-ddx serve --workers N`` calls: the model named by
    :data:`MODEL_ENV` (and :data:`MODE_ENV`), as resolved by the parent, else the champion."""
    from mmn_ddx.serving.predictor import Predictor  # heavy

    predictor = Predictor.load(os.environ.get(MODEL_ENV) or None, mode=os.environ.get(MODE_ENV) or None)
    app = create_app(predictor, body_timeout=float(os.environ.get(BODY_TIMEOUT_ENV) or ServerLimits.timeout_body))
    gc.freeze()  # the model and lookup tables live as long as the worker: keep them out of every GC pass
    return app


def create_app(predictor: PredictorLike | None = None, *, body_timeout: float = ServerLimits.timeout_body,
               **fastapi_kwargs: Any) -> FastAPI:
    """Build the app around ``predictor`` (default: ``Predictor.load()``, the champion model); a request
    body must arrive within ``body_timeout`` seconds."""
    predictor = predictor if predictor is not None else _load_default_predictor()
    app = FastAPI(
        lifespan=_lifespan,
        title="mmn-ddx",
        summary="Explained differential diagnosis of MMN vs MND, CIDP and MADSAM.",
        description=NOT_FOR_CLINICAL_USE,
        version="1",
        docs_url=None,
        redoc_url=None,
        **fastapi_kwargs,
    )
    attach_predictor(app.state, predictor)
    install_error_handlers(app)
    app.include_router(router)
    _add_page(app)
    _add_docs(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(SafeErrorsMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, default_limit=RECORD_BODY_LIMIT,
                       path_limits={BATCH_PATH: BATCH_BODY_LIMIT})
    app.add_middleware(BodyTimeoutMiddleware, seconds=body_timeout)
    app.add_middleware(RequestHeadLimitMiddleware, max_bytes=ServerLimits.max_head_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app
