"""The rows of a user's cohort that ``--skip-invalid`` left out, counted once where the cohort is read.

Whatever learnt from the rest (a trained model's bundle, card and MLflow run; a fitted world's provenance; a
benchmark report) records these counts, so a model never silently stands for fewer patients than the file held.
Counts and the file name only: never a rejected value or a patient_id. Kept apart from the importer so the
bundle's metadata (loaded by the HTTP server) can hold it without pandera.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SkippedRows:
    """``n_read`` data rows of ``file``, of which ``n_valid`` were used and ``n_rejected`` refused by the contract."""

    file: str
    n_read: int
    n_valid: int
    n_rejected: int

    @property
    def words(self) -> str:
        """E.g. '412 of 430 rows of cohort.csv (18 rejected by the contract, left out with --skip-invalid)'."""
        return (f"{self.n_valid} of {self.n_read} rows of {self.file} ({self.n_rejected} rejected by the contract, "
                "left out with --skip-invalid)")
