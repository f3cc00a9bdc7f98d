"""Worlds: one full set of generator parameters, with where it came from and a digest.

The literature world is ``data/priors.yaml``; :func:`draw_world` draws another world within the
literature's stated uncertainty (``data/uncertainty.py``); a :class:`WorldMixture` of K drawn worlds is
what training uses by default, so a model learns what every plausible world shares instead of the
details of one guess (issue #13). ``generate_cohort``, ``posterior`` and the fidelity figures take
``world=`` (default: the literature world); the cohort model is built once per world digest.

A world file has the format of ``priors.yaml`` plus a ``world`` block (its provenance), so any world
can be written, read back and used wherever the literature world is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mmn_ddx.data.latents import LITERATURE, literature_priors, parameters_in_use
from mmn_ddx.data.uncertainty import check_parameters, redraw

PROVENANCE = "world"
"""Top-level key of a world file's provenance block (not a parameter: left out of the digest)."""
LITERATURE_WORLD = "the literature world (data/priors.yaml)"
"""How a bundle, a model card or a report names the default world (see :func:`world_name`)."""
DEFAULT_WORLDS = 100
"""Worlds drawn for a randomised cohort: enough that each one's quirks average out in training. A record's
likelihood is carried by the few worlds nearest to it, so 20 were too coarse a sample of the uncertainty: with
the same training the champion paid 1.12 x the literature world's ceiling against 1.09 x at 100 (paired
difference 0.035 [0.013-0.055], 10 000 patients), and did as well in worlds it was not trained on (docs/measurements.md,
"Randomised worlds and the shifted-world benchmark"); generating takes ~3 x as long (20 s per 100 000)."""


@dataclass(frozen=True)
class World:
    """A complete parameter tree (``priors.yaml`` format), its provenance and its digest."""

    parameters: dict[str, Any] = field(repr=False)
    source: str

    @cached_property
    def digest(self) -> str:
        return parameter_digest(self.parameters)

    @property
    def is_literature(self) -> bool:
        return self.digest == _literature_digest()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within the block the generator, the cohort model and the posterior use this world."""
        key = LITERATURE if self.is_literature else self.digest
        with parameters_in_use(key, self.parameters):
            yield

    def to_yaml(self, path: Path) -> Path:
        """Write the world in the format of ``priors.yaml`` (round trip: ``load_world(path)``)."""
        provenance = dict(self.parameters.get(PROVENANCE) or {}) | {"source": self.source, "digest": self.digest}
        tree = {PROVENANCE: provenance} | {
            k: v for k, v in self.parameters.items() if k != PROVENANCE}
        path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path


@dataclass(frozen=True)
class WorldMixture:
    """K worlds with equal weight: each patient comes from one of them (``cohort generate --randomize``)."""

    worlds: tuple[World, ...]
    seed: int

    def __post_init__(self) -> None:
        if not self.worlds:
            raise ValueError("a world mixture needs at least one world")

    @property
    def digest(self) -> str:
        return hashlib.sha256("".join(w.digest for w in self.worlds).encode()).hexdigest()

    @property
    def source(self) -> str:
        return f"{len(self.worlds)} worlds drawn from the literature's uncertainty (seed {self.seed})"


@cache
def _literature_digest() -> str:
    return parameter_digest(literature_priors())


def parameter_digest(parameters: dict[str, Any]) -> str:
    """SHA-256 of the parameters (provenance left out), stable across a YAML round trip.

    Canonical JSON rather than YAML: the same tree gives the same text, ~40 x faster, which matters when
    a training draws many worlds. Non-string keys (the count tables' 0, 1, 2) keep their type in the text."""
    tree = {k: v for k, v in parameters.items() if k != PROVENANCE}
    return hashlib.sha256(json.dumps(_typed_keys(tree), sort_keys=True).encode()).hexdigest()


def _typed_keys(value: Any) -> Any:
    """The tree with every non-string mapping key written as ``type:key`` (JSON keys are strings)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else f"{type(k).__name__}:{k}": _typed_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed_keys(v) for v in value]
    return value


def load_world(path: Path | None = None) -> World:
    """The world in ``path`` (``priors.yaml`` format), or the literature world ``data/priors.yaml``."""
    if path is None:
        return World(literature_priors(), "literature (data/priors.yaml)")
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    literature = literature_priors()
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: not a world file (expected a mapping in the format of priors.yaml)")
    missing = sorted(set(literature) - set(tree))
    if missing:
        raise ValueError(f"{path}: not a world file, missing the top-level keys {missing}")
    check_parameters(tree)
    provenance = tree.get(PROVENANCE) or {}
    return World(tree, str(provenance.get("source", path.name)))


def draw_world(rng: np.random.Generator, base: World | None = None) -> World:
    """A world with every parameter drawn within its stated uncertainty around ``base`` (default: literature)."""
    base = base or load_world()
    return World(redraw(base.parameters, rng), f"drawn from {base.digest[:12]} ({base.source})")


def draw_worlds(k: int, seed: int, base: World | None = None) -> WorldMixture:
    """``k`` independent worlds, reproducible from ``seed``."""
    if k < 1:
        raise ValueError(f"the number of worlds must be at least 1, got {k}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED_0F_3A]))
    worlds = tuple(draw_world(rng, base) for _ in range(k))
    return WorldMixture(tuple(World(w.parameters, f"world {i + 1}/{k}, seed {seed}, {w.source}")
                              for i, w in enumerate(worlds)), seed)


def world_name(world: World | None) -> str:
    """A world as bundles, model cards and reports name it: :data:`LITERATURE_WORLD` for the default (None), else
    by its digest's first 12 digits and its source, so a fitted world is never read as the literature's."""
    return LITERATURE_WORLD if world is None else f"the world {world.digest[:12]} ({world.source})"


def in_use(world: World | None) -> AbstractContextManager[None]:
    """``world`` in use within the block; ``None`` changes nothing (the caller's world, by default literature)."""
    return nullcontext() if world is None else world.active()
