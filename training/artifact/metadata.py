"""The bundle's metadata: who the model is, what it was trained on, how good it is and what it is for.

Serving copies it into every result's audit block, so a prediction can always be traced back to one
model version, one training data digest and one code version.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

import mmn_ddx
from mmn_ddx.data import SCHEMA_VERSION, SkippedRows

if TYPE_CHECKING:
    from mmn_ddx.data import World

SYNTHETIC_SOURCE = "synthetic"
"""``training_data_source`` of generated patients alone; a user cohort added to them reads ``synthetic + <file>``
(:func:`with_user_cohort`), a user cohort alone its file name."""
_WITH_USER_COHORT = f"{SYNTHETIC_SOURCE} + "

SyntheticTraining: TypeAlias = Literal["only", "partly"]
"""How much of a model's training data was synthetic (:attr:`BundleMetadata.synthetic_training`)."""


def with_user_cohort(name: str) -> str:
    """The ``training_data_source`` of generated patients with the user cohort file ``name`` added to them."""
    return f"{_WITH_USER_COHORT}{name}"


def synthetic_share(source: str) -> SyntheticTraining | None:
    """How much of the training data a ``training_data_source`` names was synthetic: ``"only"``, ``"partly"`` (a
    user cohort added to generated patients) or None (a user cohort alone, whatever its file is called)."""
    if source == SYNTHETIC_SOURCE:
        return "only"
    return "partly" if source.startswith(_WITH_USER_COHORT) else None


def user_cohort(source: str) -> str | None:
    """The user cohort among a model's training data (its ``training_data_source``), None for synthetic only."""
    share = synthetic_share(source)
    return None if share == "only" else source.removeprefix(_WITH_USER_COHORT) if share == "partly" else source


def training_data_words(source: str) -> str:
    """What a model was trained on, in words, from its ``training_data_source``: the generator's patients, a
    user cohort, or both (the card and the intended use say the same)."""
    synthetic = "synthetic patients drawn from a generator built on published frequencies"
    share = synthetic_share(source)
    if share == "only":
        return synthetic
    return f"{synthetic}, together with a user cohort ({user_cohort(source)})" if share else f"a user cohort ({source})"


def intended_use(source: str = SYNTHETIC_SOURCE) -> str:
    return ("Research and teaching: ranks multifocal motor neuropathy (MMN), motor neuron disease (MND), typical "
            "CIDP and MADSAM for an adult with chronic asymmetric or multifocal weakness, from the findings of a "
            "neuromuscular work-up, and explains which findings drive the ranking. Trained on "
            f"{training_data_words(source)}; not validated on real patients; not for clinical use.")


INTENDED_USE = intended_use()
"""The intended use of a model trained on synthetic patients only (older bundles carry no other)."""


class TrainingWorld(BaseModel):
    """The world synthetic training patients came from: a prediction names it, so a model trained on a world
    fitted to one clinic's cohort (``mmn-ddx world fit``, issue #14) is never mistaken for the literature's."""

    model_config = ConfigDict(frozen=True)

    digest: str = Field(description="SHA-256 of the world's parameters (data/world.py), provenance left out.")
    source: str = Field(description="Where the world came from, e.g. 'literature (data/priors.yaml)' or the "
                        "fitted cohort it was updated with.")
    provenance: dict[str, Any] = Field(default_factory=dict, description="The world file's provenance block "
                                       "(e.g. the fitted cohort's digest and size, the prior strength, the date).")

    @classmethod
    def of(cls, world: World) -> TrainingWorld:
        """The world's name in a bundle; provenance values as JSON (a YAML date becomes its ISO text)."""
        from mmn_ddx.data.world import PROVENANCE  # only training builds it: serving never loads the world

        provenance = world.parameters.get(PROVENANCE) or {}
        return cls(digest=world.digest, source=world.source, provenance=json.loads(json.dumps(provenance, default=str)))


class BundleMetadata(BaseModel):
    """Facts recorded with every exported model (JSON in ``bundle.json``)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    name: str = Field(description="Registered model name, e.g. 'mmn-ddx' or 'mmn-ddx-with-treatment'.")
    version: str | None = Field(default=None, description="Registry version; None for an unregistered export.")
    alias: str | None = None
    uri: str | None = Field(default=None, description="Where this bundle was loaded from.")
    mode: str
    family: str
    params: dict[str, Any] = Field(default_factory=dict)
    training_data_digest: str
    training_data_source: str = SYNTHETIC_SOURCE
    n_training: int
    skipped_rows: SkippedRows | None = Field(
        default=None, description="The user cohort's rows read, used and rejected when `--skip-invalid` left "
        "rejected rows out of the training data (counts only); None when none were, or for a bundle exported "
        "before it was recorded.")
    training_prior: dict[str, float] | None = Field(
        default=None, description="The class mix the probabilities are calibrated to (the fit's class weights): "
        "a clinical setting's pre-test probabilities are applied relative to it (training.artifact.clinical_setting). "
        "None for a bundle exported before it was recorded.")
    generator_version: str | None = Field(description="Generator version for synthetic data, else None.")
    training_worlds: str | None = Field(default=None, description="The generator worlds of synthetic training "
                                        "data (the literature world, or K worlds drawn within its uncertainty); "
                                        "None for a user cohort.")
    training_world: TrainingWorld | None = Field(default=None, description="The world (or the base of the drawn "
                                                 "worlds) of the synthetic training patients; None for a user "
                                                 "cohort alone or a bundle exported before it was recorded.")
    next_test_world: str | None = Field(default=None, description="The world(s) the next-test outcome tables "
                                        "(P(result | diagnosis)) were generated in: those of the synthetic training "
                                        "patients, or the literature world for a user cohort alone, never the user "
                                        "cohort. None: a bundle exported before it was recorded (the literature "
                                        "world).")
    code_version: str
    schema_version: int = SCHEMA_VERSION
    trained_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seed: int | None = None
    run_id: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, description="Evaluation metrics (outer CV, held out).")
    intended_use: str = INTENDED_USE

    @property
    def synthetic_training(self) -> SyntheticTraining | None:
        """Whether the model learned from synthetic patients: ``"only"`` (generated patients alone), ``"partly"``
        (``train --synthetic N --data FILE``: a user cohort added to them) or None (a user cohort alone).

        The one reading of ``training_data_source``: every entry point's ``synthetic_training_data`` warning (the
        Python API, CLI and HTTP API through serving, the pyfunc of ``mlflow models serve`` and Spark) and its words
        follow it. A user file whose name merely starts with "synthetic" is a user cohort.
        """
        return synthetic_share(self.training_data_source)


def data_digest(frame: pd.DataFrame) -> str:
    """A content digest of a cohort (values and column names), stable across runs and machines."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """Package version, plus the git commit (``-dirty`` for local changes) when it runs from a checkout."""
    try:
        version = importlib_metadata.version("mmn-ddx")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - running from a bare tree
        version = "0+unknown"
    checkout = _source_checkout()
    if checkout is None:
        return version
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=checkout,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit}{'-dirty' if dirty else ''}"


def _source_checkout() -> Path | None:
    """The project's git checkout when the code runs from one (an editable install), else None.

    ``mmn_ddx/`` sits beside ``pyproject.toml`` and ``.git`` in a checkout; an installed copy sits in
    site-packages, which may itself lie inside some checkout (a ``.venv``) whose commit says nothing
    about the installed code.
    """
    root = Path(mmn_ddx.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / ".git").exists() else None
