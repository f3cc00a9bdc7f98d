"""``benchmark``'s refusal to score a model on its own training patients: a synthetic test cohort of its training
seed, or a user cohort's rows found record by record.

A whole-file comparison (same path, same content digest) missed the training file with one patient added, or
shuffled with new IDs: a champion scored on its own patients then read a balanced accuracy of 0.96 against 0.79
for a fresh model (audit 34). Records are compared by their fingerprints (:mod:`training.artifact.fingerprints`:
the findings, patient_id and diagnosis aside); a refusal names how many rows match and their row numbers, never a
value. Different patients whose records are identical field for field (few findings recorded) match too: the
message says so, and removing those rows is the way out either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmn_ddx.cli._common import fail

if TYPE_CHECKING:
    from mmn_ddx.cli.benchmark import SavedChampion
    from mmn_ddx.training.evaluation import Cohort

SHOWN_ROWS = 10
_SAME_RECORDS = "Different patients with identical records (few findings recorded) match too: remove them all the same."


def refuse_own_patients(mode: str, found: SavedChampion, cohorts: list[Cohort], *, seed: int | None = None) -> None:
    """Exit 2 when a test cohort holds the saved champion's training patients: a synthetic test cohort drawn
    with the seed of its synthetic training data (``seed``: the test cohort's), or a user cohort holding its
    training records - record by record when the bundle stores their fingerprints, else (an older or
    synthetic-only bundle) when the whole cohort is its training cohort (the content digest)."""
    from mmn_ddx.training.artifact import data_digest

    whose = f"the {mode} champion ({found.provenance})"
    if seed is not None and found.synthetic_seed == seed and any(c.synthetic for c in cohorts):
        raise fail(f"{whose} was trained on synthetic seed {seed}: choose another --seed for the test cohort",
                   code=2)
    way_out = ("benchmark it on another cohort, or give --champion trained (the families are then trained on "
               "--train-data or synthetic patients)")
    for cohort in (c for c in cohorts if not c.synthetic):
        if found.fingerprints is None:
            if data_digest(cohort.frame) == found.training_digest:
                raise fail(f"{whose} was trained on {cohort.name}: it would be scored on its own training patients; "
                           f"{way_out}", code=2)
            continue
        _refuse(found.fingerprints.matches(cohort.frame), cohort, f"training records of {whose}: their findings, "
                "patient_id aside, match its records' fingerprints, so it would be scored on its own training "
                f"patients. Remove those rows, {way_out}.")


def refuse_training_rows(train_frame: pd.DataFrame, name: str, cohorts: list[Cohort]) -> None:
    """Exit 2 when a user test cohort holds records of ``--train-data`` (``name``): the families trained on it
    would be scored on their own training patients (the same file by path is refused before reading)."""
    from mmn_ddx.training.artifact import RecordFingerprints

    fingerprints = RecordFingerprints.of(train_frame)
    for cohort in (c for c in cohorts if not c.synthetic):
        _refuse(fingerprints.matches(cohort.frame), cohort, f"records of --train-data {name} (the same findings, "
                "patient_id aside): the families trained on it would be scored on their own training patients. "
                "Remove those rows from one of the files.")


def _refuse(matched: np.ndarray, cohort: Cohort, what: str) -> None:
    if matched.any():
        rows = cohort.frame.index[matched]
        raise fail(f"{matched.sum()} of the {len(matched)} rows of {cohort.name} ({_rows(rows)}) are {what} "
                   f"{_SAME_RECORDS}", code=2)


def _rows(rows: pd.Index) -> str:
    """Row numbers of a cohort file (its canonical frame's index), the first :data:`SHOWN_ROWS` of them."""
    listed = ", ".join(map(str, rows[:SHOWN_ROWS]))
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {listed}{more}"
