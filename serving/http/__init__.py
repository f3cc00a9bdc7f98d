"""HTTP API and clinician web page (FastAPI): ``create_app(predictor)``; run it with ``mmn-ddx serve``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.serving.http.app import BODY_TIMEOUT_ENV, MODE_ENV, MODEL_ENV, create_app
    from mmn_ddx.serving.http.limits import ServerLimits
