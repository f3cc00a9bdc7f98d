"""Champion promotion: the ``champion`` alias moves only to a model that is better on the same data.

The comparison is made on the new run's held-out evaluation split, which neither the new model nor its
calibration has seen. The currently registered champion is loaded from the registry and scored on the
same patients; the new version gets the alias only if its log-loss is strictly lower. (If the old
champion was trained on data that overlaps this split, for example an earlier run on the same file
with another seed, the comparison favours the old model: the error is always on the side of not
promoting.) Both losses, the decision and its reason are returned for logging as metrics and tags.

Concurrent runs: reading the champion, scoring it and moving the alias is one step with respect to
other runs (:func:`promote`). On an sqlite store it holds the store's lock
(:mod:`training.fitting.store_lock`); on a tracking server the alias is moved by compare-and-set
(:func:`training.fitting.tracking.move_champion`): if another run moved it since it was read, the new
champion is scored and the decision made again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmn_ddx.training.artifact.calibration import log_loss

__all__ = ["Promotion", "compare_with_champion", "decide", "log_loss", "promote"]

MAX_ATTEMPTS = 5
"""Comparisons before giving up when other runs keep moving the alias (tracking servers only)."""

Loader = Callable[[str], Callable[[pd.DataFrame], np.ndarray]]
"""Model URI -> a ``predict_proba`` on canonical frames (``load_bundle(uri).predict_proba`` in production)."""


@dataclass(frozen=True)
class Promotion:
    """The outcome of comparing a new version with the current champion."""

    promoted: bool
    reason: str
    new_log_loss: float
    champion_version: str | None
    champion_log_loss: float | None

    def metrics(self) -> dict[str, float]:
        out = {"comparison_new_log_loss": self.new_log_loss}
        if self.champion_log_loss is not None:
            out["comparison_champion_log_loss"] = self.champion_log_loss
            out["comparison_log_loss_gain"] = self.champion_log_loss - self.new_log_loss
        return out

    def tags(self) -> dict[str, str]:
        return {"promoted": str(self.promoted).lower(), "promotion_reason": self.reason,
                "compared_with_version": self.champion_version or "none"}


def decide(new_log_loss: float, champion_version: str | None, champion_log_loss: float | None,
           error: str = "") -> Promotion:
    """Promote when there is no champion yet or the new log-loss is strictly lower; never otherwise."""
    if champion_version is None:
        return Promotion(True, "no champion registered yet", new_log_loss, None, None)
    if champion_log_loss is None or not np.isfinite(champion_log_loss):
        why = f" ({error})" if error else ""
        return Promotion(False, f"champion v{champion_version} could not be evaluated{why}; alias left in place",
                         new_log_loss, champion_version, None)
    if new_log_loss < champion_log_loss:
        return Promotion(True, f"log-loss {new_log_loss:.4f} < champion v{champion_version} {champion_log_loss:.4f}",
                         new_log_loss, champion_version, champion_log_loss)
    return Promotion(False, f"log-loss {new_log_loss:.4f} >= champion v{champion_version} {champion_log_loss:.4f}",
                     new_log_loss, champion_version, champion_log_loss)


def compare_with_champion(name: str, new_probs: np.ndarray, evaluation: pd.DataFrame, y: np.ndarray,
                          loader: Loader) -> Promotion:
    """Score the registered champion of ``name`` on ``evaluation`` and decide (no registry writes).

    The champion is loaded by its version, not through the alias, so the model scored is the one
    the decision names even if the alias moves meanwhile.
    """
    from mmn_ddx.training.fitting import tracking

    version = tracking.champion_version(name)
    champion_loss, error = None, ""
    if version is not None:
        try:
            champion_loss = log_loss(loader(f"models:/{name}/{version}")(evaluation), y)
        except Exception as exc:  # noqa: BLE001 - any failure to load or score means "cannot compare"
            error = f"{type(exc).__name__}: {exc}"[:300]
    return decide(log_loss(new_probs, y), version, champion_loss, error)


def promote(name: str, version: str, new_probs: np.ndarray, evaluation: pd.DataFrame, y: np.ndarray,
            loader: Loader) -> Promotion:
    """Compare the registered ``version`` with the champion, move the alias only if it is better, and
    record the comparison on the version; atomic with respect to other runs (module docstring)."""
    from mmn_ddx.training.fitting import tracking

    with tracking.store_lock():
        for _ in range(MAX_ATTEMPTS):
            promotion = compare_with_champion(name, new_probs, evaluation, y, loader)
            if not promotion.promoted or tracking.move_champion(name, version, promotion.champion_version):
                break
        else:
            promotion = Promotion(False, f"other runs moved the champion {MAX_ATTEMPTS} times during the comparison; "
                                  "alias left in place", promotion.new_log_loss, promotion.champion_version,
                                  promotion.champion_log_loss)
        tracking.set_version_tags(name, version,
                                  promotion.tags() | {k: f"{v:.6f}" for k, v in promotion.metrics().items()})
    return promotion
