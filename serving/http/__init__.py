"""HTTP API and clinician web page (FastAPI): ``create_app(predictor)``; run it with ``mmn-ddx serve``."""

from mmn_ddx.serving.http.app import create_app

__all__ = ["create_app"]
