"""Fetch an exported model by its MLflow URI (``models:/mmn-ddx@champion``, ``runs:/...``): the artifact's
one read-only use of MLflow, so a bundle can be loaded from a registry without the fitting code.

Writing to the store (runs, registration, the champion alias) stays in
:mod:`mmn_ddx.training.fitting.tracking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmn_ddx.settings import get_settings


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI was downloaded to, and the registry name, version and alias it resolved to."""

    path: Path
    name: str | None
    version: str | None
    alias: str | None


def use_project_store() -> str:
    """Point MLflow at the project's tracking store unless this process chose one; returns the URI in effect.

    Precedence: ``mlflow.set_tracking_uri`` in this process, then ``MLFLOW_TRACKING_URI``, then
    ``<home>/mlruns.db`` (:mod:`mmn_ddx.settings`), so ``models:/mmn-ddx@champion`` resolves where
    ``mmn-ddx train`` registered it - not in MLflow's own default, ``./mlflow.db``.
    """
    import mlflow  # only URIs need MLflow; a model directory loads without it

    if not mlflow.tracking.is_tracking_uri_set():
        mlflow.set_tracking_uri(get_settings().tracking_uri)
    return str(mlflow.get_tracking_uri())


def download_model(uri: str, destination: Path) -> ResolvedModel:
    """Download any MLflow model URI into ``destination``, resolving registry name/version/alias."""
    import mlflow
    from mlflow import MlflowClient

    use_project_store()
    name = version = alias = None
    if uri.startswith("models:/") and not uri.startswith("models:/m-"):
        ref = uri.removeprefix("models:/")
        if "@" in ref:
            name, alias = ref.split("@", 1)
            version = str(MlflowClient().get_model_version_by_alias(name, alias).version)
        elif "/" in ref:
            name, version = ref.split("/", 1)
    destination.mkdir(parents=True, exist_ok=True)
    path = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(destination)))
    return ResolvedModel(path=path, name=name, version=version, alias=alias)
