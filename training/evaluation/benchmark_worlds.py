"""The world a benchmark's synthetic figures come from, and the note when the champion learnt from another.

Why: the Bayes ceiling is the exact posterior of the world the synthetic test patients were drawn from. A champion
trained in another world (e.g. one fitted to a clinic's cohort by ``mmn-ddx world fit``) is then measured under a
world shift: a legitimate measurement, but its ratio to that ceiling is not its distance from its own world's best
answer, so the report says so beside the figures instead of refusing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmn_ddx.data import LITERATURE_WORLD, World, load_world, world_name
from mmn_ddx.training.artifact.metadata import BundleMetadata


def world_digest(world: World | None) -> str:
    """The digest of ``world`` (None: the literature world's)."""
    return (world or load_world()).digest


@dataclass(frozen=True)
class TrainingOrigin:
    """Where a champion's training patients came from, as the world-shift note names it."""

    digest: str | None
    """The digest of the world (the base of drawn worlds) its synthetic training patients came from; None: it
    learnt from no synthetic patient (a user cohort alone)."""
    words: str

    @classmethod
    def of_world(cls, world: World | None) -> TrainingOrigin:
        """Synthetic patients of ``world`` (None: the literature world)."""
        return cls(world_digest(world), world_name(world))

    @classmethod
    def of_user_cohort(cls, source: str) -> TrainingOrigin:
        return cls(None, f"a user cohort alone ({source}), no synthetic world")

    @classmethod
    def of_bundle(cls, meta: BundleMetadata) -> TrainingOrigin:
        """From a saved bundle's metadata; a bundle naming no world predates ``train --world``: the literature's."""
        if meta.synthetic_training is None:
            return cls.of_user_cohort(meta.training_data_source)
        digest = meta.training_world.digest if meta.training_world is not None else world_digest(None)
        return cls(digest, meta.training_worlds or LITERATURE_WORLD)


def world_shift_note(origin: TrainingOrigin | None, world: World | None) -> str | None:
    """The note for a synthetic test cohort of ``world`` when the champion learnt from another world (None: no
    shift, or the champion's origin unknown)."""
    if origin is None or origin.digest == world_digest(world):
        return None
    return (f"World shift: the champion learnt from {origin.words}, but these test patients and the Bayes ceiling "
            f"come from {world_name(world)}; its gap and ratio to the ceiling measure it under that shift, not its "
            "distance from its own world's best answer.")
