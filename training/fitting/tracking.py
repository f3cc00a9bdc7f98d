"""The one MLflow adapter: tracking store, runs, datasets, model logging/export, registry calls.

Zero set-up: the default store is ``sqlite:///<home>/mlruns.db`` with artifacts in ``<home>/mlartifacts``
(:mod:`mmn_ddx.settings`; MLflow 3 deprecates the file store); ``MLFLOW_TRACKING_URI`` or ``--tracking-uri``
points elsewhere, e.g. a team server. For any sqlite store the artifacts go beside the database file, so a
test's store in ``tmp_path`` never writes into the repository. Creating an sqlite store and moving the
champion alias hold the store's lock (:mod:`training.fitting.store_lock`), so concurrent runs can share it.

Traps handled here (MLflow issue tracker):
* the model signature declares the outputs and the ``setting`` parameter but no inputs (see
  :func:`model_signature`): MLflow enforces an input schema before the pyfunc runs and loses what the
  contract must see (unknown fields dropped, quoted numbers converted, nulls turned into 'None');
* the input example is written in JSON types (counts as integers, ``null`` for not examined), so the
  served model documents the records it takes, and NaN (not JSON) never appears in it;
* pip requirements are given explicitly, which also skips MLflow's slow requirement inference.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import Array, ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

from mmn_ddx.data import FEATURE_FIELDS, ID_FIELD, LABEL, fields
from mmn_ddx.features import fields_for_mode
from mmn_ddx.settings import CHAMPION_ALIAS, artifact_dir, get_settings, sqlite_file
from mmn_ddx.training.artifact.pyfunc import OUTPUT_TYPES, PARAMS
from mmn_ddx.training.fitting.store_lock import locked as lock_sqlite_store

with warnings.catch_warnings():
    # MLflow 3.17's sqlite store maps a relationship with SQLAlchemy 2.1's deprecated ``noload`` strategy
    # when the store module is imported; nothing we can change. Imported here, once, with just that
    # warning silenced, so the test suite can keep treating every other DeprecationWarning as an error.
    warnings.filterwarnings(
        "ignore", message=r".*``noload`` loader strategy is deprecated", category=DeprecationWarning
    )
    import mlflow.store.model_registry.sqlalchemy_store
    import mlflow.store.tracking.sqlalchemy_store

LOADER_MODULE = "mmn_ddx.training.artifact.pyfunc"
EXPERIMENT = "mmn-ddx"
_JSON_TYPE: dict[str, Any] = {"float": float, "int": int, "bool": bool, "category": str, "string": str}
"""The Python type of each field type's JSON value (the input example's cells)."""
_REQUIREMENTS = ("numpy", "pandas", "scikit-learn", "xgboost-cpu", "skops", "shap", "pydantic", "pyyaml", "scipy",
                 "pyarrow")
_OUTPUT_TYPE: dict[str, Any] = {"string": DataType.string, "double": DataType.double,
                                "array<string>": Array(DataType.string), "array<double>": Array(DataType.double)}
"""The pyfunc's output columns (Spark SQL types, :data:`training.artifact.pyfunc.OUTPUT_TYPES`) as MLflow types."""


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the sqlite file in the home directory (:mod:`mmn_ddx.settings`)."""
    return get_settings().tracking_uri


def artifact_root(tracking_uri: str) -> str | None:
    """Artifacts beside an sqlite database (``<dir>/mlartifacts``); a server chooses its own."""
    directory = artifact_dir(tracking_uri)
    return None if directory is None else directory.resolve().as_uri()


def store_lock(tracking_uri: str | None = None) -> contextlib.AbstractContextManager[object]:
    """The exclusive lock of an sqlite store (see :mod:`training.fitting.store_lock`); a no-op for a server.

    Defaults to the store MLflow currently points at.
    """
    db = sqlite_file(tracking_uri or mlflow.get_tracking_uri())
    return nullcontext() if db is None else lock_sqlite_store(db)


def configure(tracking_uri: str | None = None, experiment: str = EXPERIMENT) -> str:
    """Point MLflow at the store and make sure the experiment exists with the right artifact root.

    A new sqlite store is created (MLflow's migrations) under its lock: concurrent first runs crash otherwise.
    """
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with store_lock(uri):
        client = MlflowClient(uri)  # creates the tracking store (and a new sqlite database's tables)
        client.search_registered_models(max_results=1)  # and the registry's
        if client.get_experiment_by_name(experiment) is None:
            root = artifact_root(uri)
            try:
                client.create_experiment(experiment, artifact_location=f"{root}/{experiment}" if root else None)
            except mlflow.exceptions.MlflowException as exc:  # a server: another run created it meanwhile
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
        mlflow.set_experiment(experiment)
    return uri


# --- signature and environment -----------------------------------------------------------------------


def model_signature() -> ModelSignature:
    """The outputs (:data:`OUTPUT_TYPES`) and the ``setting`` parameter; deliberately no input schema.

    Why no inputs: MLflow (3.x, ``mlflow.models.utils._enforce_schema``) enforces an input schema before
    ``predict`` runs, so the pyfunc would check MLflow's conversion of a record, not the record: a column the
    schema does not name is dropped with a log warning (a misspelt field scored as not examined), ``"8"`` and
    ``"NaN"`` are cast to a number or null, an int64 column is refused for a ``double`` one (the README's own
    record), and the ``inputs``/``instances`` formats cast a null ``string`` cell to the text 'None'. An
    ``AnyType`` or optional column still drops unknown columns; only ``inputs=None`` skips the enforcement
    (``mlflow.pyfunc._validate_prediction_input``), while MLflow still enforces ``params`` (the ``setting`` of
    ``/invocations`` and ``spark_udf``), the scoring server still parses every format and ``spark_udf`` still
    hands over each batch of its struct column as a frame. The pyfunc then applies the record contract itself
    (:func:`training.artifact.model_input.canonical_input`), as every other entry point does. The outputs name
    the result's columns; the input example documents the fields.
    """
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec(_OUTPUT_TYPE[kind], name, required=name != ID_FIELD) for name, kind in OUTPUT_TYPES.items()
    ]
    params = ParamSchema([ParamSpec(name, kind, default) for name, (kind, default) in PARAMS.items()])
    return ModelSignature(inputs=None, outputs=Schema(outputs), params=params)


def input_example(frame: pd.DataFrame, mode: str, n: int = 2) -> pd.DataFrame:
    """A few rows of every field the ``mode`` reads, each cell in its JSON type (``None`` = null).

    Object columns keep the types: pandas would make a count with a null a float and the null NaN, which
    MLflow writes into the example as ``NaN`` (not JSON: the HTTP API and the CLI refuse it).
    """
    specs = fields()
    columns = [ID_FIELD, *fields_for_mode(FEATURE_FIELDS, mode)]
    rows = frame.head(n).reset_index(drop=True)
    example = {}
    for name in columns:
        column = rows[name].astype(object) if name in rows.columns else pd.Series([None] * len(rows), dtype=object)
        example[name] = [None if pd.isna(cell) else _JSON_TYPE[specs[name].type](cell) for cell in column]
    # object column labels: pandas 3 string labels trip MLflow's ``columns == range(...)`` check
    return pd.DataFrame(example, columns=pd.Index(columns, dtype=object), dtype=object)


def pip_requirements() -> list[str]:
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            pins.append(name)
    return [*pins, f"mlflow=={mlflow.__version__}"]


def save_pyfunc(bundle_dir: Path, path: Path, *, example: pd.DataFrame | None = None) -> Path:
    """Export a bundle as a self-contained MLflow model directory (no tracking store needed)."""
    mlflow.pyfunc.save_model(
        path=str(path), loader_module=LOADER_MODULE, data_path=str(bundle_dir), signature=model_signature(),
        input_example=example, pip_requirements=pip_requirements(),
    )
    return path


def log_pyfunc(bundle_dir: Path, *, example: pd.DataFrame | None = None, name: str = "model") -> str:
    """Log the bundle as the active run's pyfunc model; returns its model URI."""
    info = mlflow.pyfunc.log_model(
        name=name, loader_module=LOADER_MODULE, data_path=str(bundle_dir), signature=model_signature(),
        input_example=example, pip_requirements=pip_requirements(),
    )
    return str(info.model_uri)


def logged_signature(model_uri: str) -> ModelSignature | None:
    """The signature MLflow actually stored for a model (None if it was dropped)."""
    return mlflow.models.get_model_info(model_uri).signature


# --- runs ---------------------------------------------------------------------------------------------


@contextmanager
def run(name: str, *, nested: bool = False, tags: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start a (nested) run; yields its id."""
    with mlflow.start_run(run_name=name, nested=nested, tags=dict(tags or {})) as active:
        yield active.info.run_id


def log_params(params: Mapping[str, Any]) -> None:
    mlflow.log_params({k: str(v) for k, v in params.items()})


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)


def set_tags(tags: Mapping[str, Any]) -> None:
    mlflow.set_tags({k: str(v) for k, v in tags.items()})


def log_dataset(frame: pd.DataFrame, *, name: str, source: Mapping[str, Any], digest: str, context: str) -> None:
    """Log a cohort as a run input: its digest and schema (values stay out of the store).

    ``source`` describes where the data came from (generator version and seed, or the file name).
    Categories become strings and counts doubles, so MLflow's schema inference neither fails nor warns about
    integer columns that may hold nulls.
    """
    plain = pd.DataFrame({
        c: frame[c].astype(object) if isinstance(frame[c].dtype, pd.CategoricalDtype)
        else frame[c].astype("float64") if pd.api.types.is_integer_dtype(frame[c].dtype) else frame[c]
        for c in frame.columns
    })
    dataset = from_pandas(plain, source=CodeDatasetSource({k: str(v) for k, v in source.items()}),
                                      targets=LABEL if LABEL in frame else None, name=name, digest=digest)
    mlflow.log_input(dataset, context=context)


def log_dict(data: Any, artifact_file: str) -> None:
    mlflow.log_dict(data, artifact_file)


def log_text(text: str, artifact_file: str) -> None:
    mlflow.log_text(text, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    mlflow.log_figure(figure, artifact_file)


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path)


# --- registry -----------------------------------------------------------------------------------------


def register(model_uri: str, name: str, tags: Mapping[str, Any] | None = None) -> str:
    """Register a logged model under ``name``; returns the new version."""
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in (tags or {}).items()})
    return str(version.version)


def champion_version(name: str) -> str | None:
    """The version holding the ``champion`` alias, or None (no model or no alias yet)."""
    client = MlflowClient()
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except mlflow.exceptions.MlflowException:
        return None


def move_champion(name: str, version: str, expected: str | None) -> bool:
    """Compare-and-set: give ``version`` the alias if it is still on ``expected`` (None: no champion yet).

    The registry has no atomic compare-and-set, so the alias is read before and after the move; False
    means another run moved it in between and the caller must compare again. Under the sqlite store's
    lock nothing else moves it; on a tracking server this narrows the race to the two calls around the
    move (run trainings that share a server one at a time to close it).
    """
    if champion_version(name) != expected:
        return False
    MlflowClient().set_registered_model_alias(name, CHAMPION_ALIAS, version)
    return champion_version(name) == version


def set_version_tags(name: str, version: str, tags: Mapping[str, Any]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))


def version_tags(name: str, version: str) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(name, version).tags)


def reset() -> None:
    """Forget the process-wide tracking/registry URIs set by :func:`configure` (tests switch stores).

    MLflow has no public way to unset them; these two module globals are what ``set_tracking_uri`` and
    ``set_registry_uri`` write. ``set_registry_uri`` also exports ``MLFLOW_REGISTRY_URI`` (for child
    processes), which would otherwise keep pointing the registry at the previous store; the project's
    registry is always its tracking store. ``MLFLOW_TRACKING_URI`` is the user's (or the test's) setting
    and stays.
    """
    if mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking._tracking_service.utils._tracking_uri = None
    mlflow.tracking._model_registry.utils._registry_uri = None
    os.environ.pop("MLFLOW_REGISTRY_URI", None)


def migrate(tracking_uri: str) -> None:
    """Create (and migrate) an empty sqlite store, e.g. a template that tests copy."""
    with store_lock(tracking_uri):
        MlflowClient(tracking_uri).search_experiments()
