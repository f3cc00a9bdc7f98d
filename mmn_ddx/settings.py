"""Where mmn-ddx keeps what it makes, and the names it registers models under: written once, read by all.

Runtime locations never come from the source tree: an installed package lives in site-packages, which
is neither writable nor where a user looks for a model. Everything made at run time goes under one
home directory, the current working directory unless ``MMN_DDX_HOME`` names another:

* ``<home>/mlruns.db``: the MLflow tracking store (sqlite), unless ``MLFLOW_TRACKING_URI`` names one
  (MLflow's own variable, e.g. a team server); artifacts of an sqlite store go beside its database
  file, so those of the default store are in ``<home>/mlartifacts``;
* ``<home>/models/<name>``: the exported champions (MLflow model directories, loadable without a store);
* ``<home>/reports``: benchmark reports; ``<home>/data/cohort.parquet``: the default generated cohort.

The environment is read on every :func:`get_settings` call (cheap), so a test or a command that sets
``MMN_DDX_HOME`` later is honoured; command-line options (``--tracking-uri``, ``--model``, ...) override.
This module imports nothing from the layers, so every layer can import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ARTIFACTS_DIR", "CHAMPION_ALIAS", "HOME_ENV", "MODEL_NAMES", "TRACKING_DB", "TRACKING_URI_ENV", "Settings",
           "artifact_dir", "get_settings", "sqlite_file"]

HOME_ENV = "MMN_DDX_HOME"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
MODEL_NAMES: dict[str, str] = {"at-presentation": "mmn-ddx", "with-treatment": "mmn-ddx-with-treatment"}
"""Registered (and exported) model name per feature mode (the modes of :data:`mmn_ddx.features.modes.MODES`)."""
CHAMPION_ALIAS = "champion"
"""The registry alias of the model that serving uses by default; it moves only to a better model."""
TRACKING_DB = "mlruns.db"
ARTIFACTS_DIR = "mlartifacts"
_SQLITE = "sqlite:///"


class Settings(BaseModel):
    """The runtime locations of one process (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    home: Path = Field(description="Absolute directory under which everything made at run time goes.")
    tracking_uri_from_env: str | None = Field(
        default=None, description=f"${TRACKING_URI_ENV} when set; None means the default sqlite store in home.")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        home = Path(environ.get(HOME_ENV) or Path.cwd()).expanduser().resolve()
        return cls(home=home, tracking_uri_from_env=environ.get(TRACKING_URI_ENV) or None)

    @property
    def tracking_db(self) -> Path:
        """The default store's sqlite file (used when no tracking URI is configured)."""
        return self.home / TRACKING_DB

    @property
    def tracking_uri(self) -> str:
        return self.tracking_uri_from_env or f"{_SQLITE}{self.tracking_db}"

    @property
    def has_tracking_store(self) -> bool:
        """A store was configured, or the default one exists (then ``models:/...@champion`` is the model)."""
        return self.tracking_uri_from_env is not None or self.tracking_db.exists()

    @property
    def artifacts_dir(self) -> Path:
        """Artifacts of the default store (those of any sqlite store lie beside its file: :func:`artifact_dir`)."""
        return self.home / ARTIFACTS_DIR

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def cohort_path(self) -> Path:
        return self.home / "data" / "cohort.parquet"

    def exported_model(self, mode: str) -> Path:
        """Where ``train`` exports the champion of ``mode``."""
        return self.models_dir / MODEL_NAMES[mode]


def get_settings() -> Settings:
    """The settings from the current environment and working directory."""
    return Settings.from_environment()


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of an ``sqlite:///`` tracking URI (relative to the working directory if relative);
    None for any other store."""
    if not tracking_uri.startswith(_SQLITE):
        return None
    return Path(tracking_uri.removeprefix(_SQLITE).split("?", 1)[0])


def artifact_dir(tracking_uri: str) -> Path | None:
    """Artifacts of an sqlite store go beside its database file; a server chooses its own (None)."""
    db = sqlite_file(tracking_uri)
    return None if db is None else db.parent / ARTIFACTS_DIR
