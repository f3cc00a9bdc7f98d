"""Split-conformal prediction sets: "{CIDP, MADSAM} at 90 %" instead of a bare top-1 label.

Score: ``s = 1 - p(true class)`` (the LAC score of Sadinle, Lei & Wasserman, JASA 2019, which gives the
smallest sets on average). With ``n`` calibration patients never used to fit the model, the threshold
``qhat`` is the ``ceil((n + 1) * coverage) / n`` empirical quantile of the scores, and the set
``{c : 1 - p_c <= qhat}`` contains the true diagnosis with probability >= ``coverage`` for a new patient
from the same population (Angelopoulos & Bates 2021, "A gentle introduction to conformal prediction").

The most probable class is always added: an empty set only says "the model is unsure of everything",
which a clinician cannot use, and adding a class can only raise coverage.

Bundles use the class-conditional (Mondrian) version, :func:`class_thresholds`: one threshold per
diagnosis from the calibration patients of that diagnosis (Vovk et al. 2005; Angelopoulos & Bates 2021
section 4.1), so the set covers the truth at ``coverage`` *within each diagnosis*. Why: that coverage
does not depend on the class prior, so it survives re-weighting the probabilities to a clinic's
pre-test probabilities, and it cannot be met by covering the easy diagnoses while missing a rare one;
sets are a little larger than with one marginal threshold. The calibration patients are never used to fit
the model: the training cohort's held-out split, or for a synthetic refit a fresh cohort of its own
(``training/fitting/refit.py``); for synthetic training either holds patients of every randomised world
(``data/world.py``), so the thresholds are not tuned to one world. MAPIE and crepes implement the same
construction, but around an estimator they wrap; ours is a per-class quantile of scores we already have,
and the bundle ships only the thresholds, so serving needs no conformal library.

Bundles since 2026-12-06 also split the calibration patients by how much their record holds, with the rule of
the ``little_information`` warning (``information.lacks_information``): one row of per-diagnosis thresholds for
records with enough information, one for sparse records, :func:`group_class_thresholds`. Why: a Mondrian
taxonomy may depend on the record as well as on its diagnosis and keeps the guarantee within each cell (Vovk et
al. 2005), and a pooled threshold spends the easy, complete work-ups' near-certain coverage on the sparse records,
which are the records a clinic and a case report write. In 10 shifted synthetic worlds (``benchmarks/
shifted_worlds.py``, ``benchmarks/results/shift_sets.json``) the pooled thresholds covered sparse records'
hardest diagnosis at 0.79-0.90 per world (median 0.86); split, and calibrated on 20 000 fresh patients
(``training/fitting/refit.py``), at 0.85-0.92 (median 0.89), with 2.6 % more labels in the sparse records' sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_COVERAGE = 0.90
METHOD = "split conformal (LAC score 1 - p_true), calibrated on held-out patients"
MONDRIAN_METHOD = "class-conditional (Mondrian) split conformal (LAC score 1 - p_true), calibrated on held-out patients"
INFORMATION_METHOD = ("class- and information-conditional (Mondrian) split conformal (LAC score 1 - p_true), "
                      "calibrated on held-out patients with as much or as little information as the record")
INFORMATION_GROUPS = ("enough information", "little information")
"""Rows of :func:`group_class_thresholds`: row 1 for the records the ``little_information`` rule flags."""


def _rank(n: int, coverage: float) -> int:
    """The order statistic of ``n`` calibration scores that is ``qhat``; above ``n``, no threshold below 1 is valid."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    return math.ceil((n + 1) * coverage)


def threshold(probs: np.ndarray, y: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> float:
    """The conformal score threshold ``qhat`` from calibration probabilities and true class codes."""
    n = len(y)
    rank = _rank(n, coverage)
    if n == 0:
        raise ValueError("conformal calibration needs at least one labelled patient")
    scores = 1.0 - probs[np.arange(n), y]
    if rank > n:  # too few patients for this coverage: the only valid set is every class
        return 1.0
    return float(np.sort(scores)[rank - 1])


def class_thresholds(probs: np.ndarray, y: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """(K,) Mondrian thresholds: :func:`threshold` on the calibration patients of each class.

    A class with too few calibration patients for ``coverage`` gets 1.0 (always in the set), which is
    valid though uninformative: e.g. 90 % needs at least 9 patients of that class.
    """
    n_classes = probs.shape[1]
    out = np.ones(n_classes)
    for c in range(n_classes):
        own = y == c
        if own.any():
            out[c] = threshold(probs[own], y[own], coverage)
    return out


def min_patients(coverage: float = DEFAULT_COVERAGE) -> int:
    """The fewest calibration patients for which a ``coverage`` threshold is below 1 (9 at 90 %): the first ``n``
    whose :func:`threshold` rank is within its ``n`` scores (the same rule, so the two cannot disagree)."""
    n = 1
    while _rank(n, coverage) > n:
        n += 1
    return n


def sets_thresholds(probs: np.ndarray, y: np.ndarray, little_information: np.ndarray,
                    coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The thresholds a bundle ships: per diagnosis and information group (:func:`group_class_thresholds`) when
    every one of those cells has :func:`min_patients`, else per diagnosis (:func:`class_thresholds`). Why: a small
    user cohort's held-out split leaves a few patients per cell, and a cell below the minimum puts its diagnosis in
    every set of its group; pooled per diagnosis, the same patients still give informative sets."""
    little = np.asarray(little_information, dtype=bool)
    counts = [np.bincount(y[little == flag], minlength=probs.shape[1]) for flag in (False, True)]
    if min(int(c.min()) for c in counts) >= min_patients(coverage):
        return group_class_thresholds(probs, y, little, coverage)
    return class_thresholds(probs, y, coverage)


def group_class_thresholds(probs: np.ndarray, y: np.ndarray, little_information: np.ndarray,
                           coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """(2, K) thresholds, :func:`class_thresholds` within each of :data:`INFORMATION_GROUPS` (row 1: the
    calibration patients whose record ``little_information`` flags). A group without calibration patients gets
    1.0 throughout (every diagnosis in its sets): valid, and uninformative, as the data that would say more."""
    little = np.asarray(little_information, dtype=bool)
    if little.shape != (len(y),):
        raise ValueError(f"little_information must hold one flag per calibration patient ({len(y)}), "
                         f"got shape {little.shape}")
    return np.stack([class_thresholds(probs[little == flag], y[little == flag], coverage) for flag in (False, True)])


def always_in_sets(qhat: float | np.ndarray) -> list[tuple[str | None, int]]:
    """(information group or None for thresholds per diagnosis only, class index) of every threshold at 1.0:
    that diagnosis is in every set (of its group), too few calibration patients of it to leave it out."""
    rows = np.atleast_2d(np.asarray(qhat, dtype=np.float64))
    grouped = np.ndim(qhat) == 2
    return [(INFORMATION_GROUPS[g] if grouped else None, int(k))
            for g, row in enumerate(rows) for k in np.flatnonzero(row >= 1.0)]


def thresholds_per_patient(qhat: float | np.ndarray, n: int,
                           little_information: np.ndarray | None = None) -> float | np.ndarray:
    """``qhat`` as :func:`set_mask` applies it to n patients: a scalar or (K,) as is; (2, K) rows chosen by each
    patient's ``little_information`` flag, which such thresholds need."""
    if np.ndim(qhat) < 2:
        return qhat
    if little_information is None:
        raise ValueError("these prediction sets are calibrated by how much a record holds: pass each patient's "
                         "little_information flag")
    little = np.asarray(little_information, dtype=bool)
    if little.shape != (n,):
        raise ValueError(f"little_information must hold one flag per patient ({n}), got shape {little.shape}")
    return np.asarray(qhat)[little.astype(np.intp)]


def set_mask(probs: np.ndarray, qhat: float | np.ndarray, little_information: np.ndarray | None = None
             ) -> np.ndarray:
    """Boolean (n, K): class c is in patient i's set (``qhat``: one threshold, one per class, or one per class
    and information group, :func:`thresholds_per_patient`); the argmax is always in."""
    mask = (1.0 - probs) <= thresholds_per_patient(qhat, len(probs), little_information) + 1e-12
    mask[np.arange(len(probs)), probs.argmax(axis=1)] = True
    return mask


def prediction_sets(probs: np.ndarray, qhat: float | np.ndarray, classes: Sequence[str],
                    shown: np.ndarray | None = None, little_information: np.ndarray | None = None
                    ) -> list[list[str]]:
    """Per patient, the diagnoses in the set, most probable first.

    ``shown``: the probabilities the set is shown beside, when they differ from the calibrated ones (a clinical
    setting's): membership stays decided on ``probs``, where the thresholds were calibrated; the shown most
    probable class is added too (adding only raises coverage) and the set is listed in the shown order, so the
    predicted diagnosis always heads its set. ``little_information``: as for :func:`set_mask`."""
    mask = set_mask(probs, qhat, little_information)
    if shown is None:
        shown = probs
    else:
        mask[np.arange(len(shown)), shown.argmax(axis=1)] = True
    order = np.argsort(-shown, axis=1, kind="stable")
    names = np.asarray(classes, dtype=object)
    return [list(names[row[m[row]]]) for row, m in zip(order, mask, strict=True)]


def empirical_coverage(probs: np.ndarray, y: np.ndarray, qhat: float | np.ndarray,
                       little_information: np.ndarray | None = None) -> float:
    """Fraction of patients whose true class is in their set."""
    return float(set_mask(probs, qhat, little_information)[np.arange(len(y)), y].mean())
