"""The generator's discrete latent states and the parameters resolved onto them.

Two grids:

* the *reduced* grid ``(diagnosis, phenotype, stage, document)``, on which every finding except
  the MRC grades and the onset region depends (``document``: the kind of record, which drives the
  reporting model);
* the *full* grid, which adds the onset region, the more-affected side, the severity and the
  weakness pattern (needed for the regional MRC pattern). ``full.reduced_index`` maps each full state
  onto its reduced state.

Everything numeric lives in ``data/priors.yaml``; this module only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from mmn_ddx.data.contract import DIAGNOSES

STAGE_KEYS = ("early", "established", "late")
LITERATURE = "literature"
"""Key of the literature world (``data/priors.yaml``) in the per-world caches."""
WORLD_CACHE_SIZE = 64

_IN_USE: ContextVar[tuple[str, dict[str, Any]] | None] = ContextVar("mmn_ddx_world_parameters", default=None)


@cache
def literature_priors() -> dict[str, Any]:
    """The literature world ``data/priors.yaml``, whatever world is in use."""
    text = resources.files("mmn_ddx.data").joinpath("priors.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_priors() -> dict[str, Any]:
    """The generator's parameters: those of the world in use (:func:`parameters_in_use`), by default the
    literature world ``data/priors.yaml``."""
    in_use = _IN_USE.get()
    return literature_priors() if in_use is None else in_use[1]


def world_key() -> str:
    """Digest of the world in use (``LITERATURE`` by default): the key of every per-world cache."""
    in_use = _IN_USE.get()
    return LITERATURE if in_use is None else in_use[0]


@contextmanager
def parameters_in_use(key: str, parameters: dict[str, Any]) -> Iterator[None]:
    """Within the block, every reader of the parameters sees ``parameters`` (a world drawn from the
    literature's uncertainty, ``data/world.py``); a context variable, so threads and other callers keep theirs."""
    token = _IN_USE.set((key, parameters))
    try:
        yield
    finally:
        _IN_USE.reset(token)


CLASS_PRIOR_PRESETS: dict[str, dict[str, float]] = literature_priors()["class_prior_presets"]
"""The named class mixes (balanced, new-patients, follow-up, referral): the generator's populations and the
clinical settings served predictions are adjusted to. Here, beside the parameter file's reader, so that
the CLI and the HTTP server read them without loading the generator (pandas)."""


def atypical_rate() -> float:
    """Probability that a recorded finding comes from the broad 'atypical' distribution."""
    return float(load_priors()["atypical"]["rate"])


def mrc_atypical_rate() -> float:
    """Probability that one MRC region's grade comes from the broad 'atypical' distribution (per region,
    smaller than :func:`atypical_rate`: eight regions are one examination)."""
    return float(load_priors()["atypical"]["mrc_rate"])


def resolve(value: Any, phenotype: str, stage: str) -> Any:
    """Pick a parameter for one (phenotype, stage): phenotype keys first, then stage keys.

    A sub-phenotype ``parent.child`` (e.g. ``lmn_predominant_pma.with_block``) takes its own keys first,
    then its parent's, so it differs from its parent only where the priors say so.
    """
    if isinstance(value, Mapping):
        for key in _lineage(phenotype):
            if key in value:
                return resolve(value[key], phenotype, stage)
        if "default" in value:
            return resolve(value["default"], phenotype, stage)
        if stage in value:
            return resolve(value[stage], phenotype, stage)
    return value


def _lineage(phenotype: str) -> list[str]:
    """``a.b.c`` -> ``[a.b.c, a.b, a]``: the phenotype, then the phenotypes it refines."""
    parts = phenotype.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def normalise_class_priors(class_priors: Mapping[str, float] | None) -> np.ndarray:
    """Class priors in ``DIAGNOSES`` order; ``None`` means the balanced preset."""
    priors = class_priors or load_priors()["class_prior_presets"]["balanced"]
    unknown = set(priors) - set(DIAGNOSES)
    if unknown:
        raise ValueError(f"unknown diagnosis in class priors: {sorted(unknown)}; expected {list(DIAGNOSES)}")
    weights = np.array([float(priors.get(d, 0.0)) for d in DIAGNOSES])
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("class priors must be non-negative and not all zero")
    return weights / weights.sum()


@dataclass(frozen=True)
class ReducedGrid:
    """States (diagnosis, phenotype, stage, document) with their prior weight within diagnosis."""

    diagnosis: np.ndarray      # int index into DIAGNOSES
    phenotype: np.ndarray      # str
    stage: np.ndarray          # int index into STAGE_KEYS
    document: np.ndarray       # int index into reporting.documents
    log_weight: np.ndarray     # log p(phenotype, stage, document | diagnosis)

    def __len__(self) -> int:
        return len(self.diagnosis)

    def raw(self, field: str, i: int) -> dict[str, Any]:
        """All parameters of a field for state ``i``, resolved for its phenotype and stage."""
        spec = load_priors()["diseases"][DIAGNOSES[self.diagnosis[i]]]["fields"][field]
        phenotype, stage = self.phenotype[i], STAGE_KEYS[self.stage[i]]
        return {key: resolve(value, phenotype, stage) for key, value in spec.items()}

    def param(self, field: str, key: str) -> np.ndarray:
        """One scalar parameter of a field, resolved for every state."""
        priors = load_priors()["diseases"]
        return np.array([
            resolve(priors[DIAGNOSES[d]]["fields"][field][key], p, STAGE_KEYS[s])
            for d, p, s in zip(self.diagnosis, self.phenotype, self.stage, strict=True)
        ])


@dataclass(frozen=True)
class FullGrid:
    """Reduced states crossed with onset region and more-affected side."""

    reduced_index: np.ndarray
    onset: np.ndarray          # str, an onset_region category
    side: np.ndarray           # 0 = left, 1 = right
    severity: np.ndarray       # int index into priors["severity_levels"]
    pattern: np.ndarray        # str, a weakness pattern of the diagnosis (``mrc.patterns``)
    log_weight: np.ndarray     # log p(onset | diagnosis, phenotype) + log p(side) + log p(severity | stage)
    #                            + log p(pattern | phenotype, stage)

    def __len__(self) -> int:
        return len(self.reduced_index)


def reduced_grid() -> ReducedGrid:
    return _reduced_grid(world_key())


@lru_cache(maxsize=WORLD_CACHE_SIZE)
def _reduced_grid(key: str) -> ReducedGrid:
    priors = load_priors()
    documents = np.array(priors["reporting"]["weights"], dtype=float)
    rows: list[tuple[int, str, int, int, float]] = []
    for d, diagnosis in enumerate(DIAGNOSES):
        disease = priors["diseases"][diagnosis]
        stage_weights = np.array(disease["stage"]["weights"], dtype=float)
        for phenotype, spec in disease["phenotypes"].items():
            for s, w_stage in enumerate(stage_weights):
                for c, w_c in enumerate(documents):
                    rows.append((d, phenotype, s, c, float(np.log(spec["weight"] * w_stage * w_c))))
    diagnoses, phenotypes, stages, docs, log_weights = zip(*rows, strict=True)
    return ReducedGrid(np.array(diagnoses), np.array(phenotypes, dtype=object), np.array(stages), np.array(docs),
                       np.array(log_weights))


def full_grid() -> FullGrid:
    return _full_grid(world_key())


@lru_cache(maxsize=WORLD_CACHE_SIZE)
def _full_grid(key: str) -> FullGrid:
    priors = load_priors()["diseases"]
    reduced = reduced_grid()
    rows: list[tuple[int, str, int, int, str, float]] = []
    for r in range(len(reduced)):
        disease = priors[DIAGNOSES[reduced.diagnosis[r]]]
        phenotype, stage = reduced.phenotype[r], STAGE_KEYS[reduced.stage[r]]
        onset = disease["phenotypes"][phenotype]["onset"]
        severity = resolve(disease["fields"]["mrc"]["severity_weights"], phenotype, stage)
        patterns = pattern_weights(disease["fields"]["mrc"], phenotype, stage)
        for region, w_onset in onset.items():
            for side in (0, 1):
                for level, w_severity in enumerate(severity):
                    for pattern, w_pattern in patterns.items():
                        rows.append((r, region, side, level, pattern,
                                     float(np.log(w_onset * 0.5 * w_severity * w_pattern))))
    ri, o, sd, sv, pt, w = zip(*rows, strict=True)
    return FullGrid(np.array(ri), np.array(o, dtype=object), np.array(sd), np.array(sv),
                    np.array(pt, dtype=object), np.array(w))


DEFAULT_PATTERN = "default"


def pattern_weights(mrc: Mapping[str, Any], phenotype: str, stage: str) -> dict[str, float]:
    """p(weakness pattern | phenotype, stage), normalised; one ``default`` pattern where none is given.

    A pattern ties the regions together (e.g. MMN confined to one side vs. spread to the other side):
    it scales every region's p_weak by role (``mrc.patterns.<name>.scale``), so whether the other side
    is weak is one draw per patient, not one per region.
    """
    patterns = mrc.get("patterns")
    if not patterns:
        return {DEFAULT_PATTERN: 1.0}
    weights = {name: float(resolve(spec["weight"], phenotype, stage)) for name, spec in patterns.items()}
    total = sum(weights.values())
    if total <= 0 or min(weights.values()) <= 0:
        raise ValueError(f"weakness-pattern weights must be positive (no hard zeros): {weights}")
    return {name: w / total for name, w in weights.items()}


def pattern_scale(mrc: Mapping[str, Any], pattern: str, role: str, phenotype: str, stage: str) -> float:
    """The factor a weakness pattern puts on one region role's p_weak: the product of the pattern's
    ``scale`` entries whose key is a part of the role (``other``, ``secondary``, ``proximal``, ...)."""
    if pattern == DEFAULT_PATTERN:
        return 1.0
    scale = mrc["patterns"][pattern].get("scale", {})
    factor = 1.0
    for part in role.split("_"):
        if part in scale:
            factor *= float(resolve(scale[part], phenotype, stage))
    return factor
