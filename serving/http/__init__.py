"""HTTP API and clinician web page (FastAPI): ``create_app(predictor)``; run it with ``mmn-ddx serve``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BODY_TIMEOUT_ENV": "mmn_ddx.serving.http.app",
    "create_app": "mmn_ddx.serving.http.app",
    "MODE_ENV": "mmn_ddx.serving.http.app",
    "MODEL_ENV": "mmn_ddx.serving.http.app",
    "ServerLimits": "mmn_ddx.serving.http.limits",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.serving.http.app import BODY_TIMEOUT_ENV, MODE_ENV, MODEL_ENV, create_app
    from mmn_ddx.serving.http.limits import ServerLimits
