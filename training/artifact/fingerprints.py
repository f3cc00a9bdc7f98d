"""Fingerprints of a model's user-cohort training records: how ``benchmark`` recognises its own patients.

Why: the whole-file digest (``training_data_digest``) only caught the identical cohort. The training file with
one patient added, or its rows shuffled and IDs changed, passed, and a champion scored on its own training
patients read a balanced accuracy of 0.96 against 0.79 for a fresh model (audit 34). So a bundle trained on a
user cohort stores one 64-bit keyed hash per distinct training record (:data:`FINGERPRINTS_FILE`), and
``benchmark`` refuses rows of its test cohort that match one.

What is hashed: the record's findings, every field of :data:`FEATURE_FIELDS` in a canonical text (numbers to
:data:`SIGNIFICANT_DIGITS` significant digits whatever their dtype, so ``Int64`` 3 is float 3.0 and a float32
Parquet copy of 0.45 is 0.45; a null is its own token). Not ``patient_id``: IDs change between exports of the
same patients. Not the diagnosis: the model has learnt from these findings whatever label they now carry (a
corrected diagnosis does not make a new patient), and the check then reads only what any record holds.

Privacy: a fingerprint reveals no value, and the key (random, one per bundle) keeps two bundles' fingerprints
from being matched with each other; but whoever holds a record (or can list the few possible values of a sparse
one) can test whether it was a training record: the model card says so. Different patients whose records are
identical field for field (sparse records) share a fingerprint; ``benchmark`` says so when it refuses.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmn_ddx.data import FEATURE_FIELDS

FINGERPRINTS_FILE = "training_records.npz"
KEY_BYTES = 16
SIGNIFICANT_DIGITS = 6
"""Numbers are compared to 6 significant digits: a float32 copy of a value (7 digits) is the same record, and
findings that agree to 6 digits are the same finding."""
_NULL = "\x00"
_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class RecordFingerprints:
    """The sorted distinct fingerprints of a model's training records, and the key they were made with."""

    key: bytes
    values: np.ndarray
    """Sorted distinct ``uint64`` fingerprints (training order and duplicates are not kept)."""

    @classmethod
    def of(cls, frame: pd.DataFrame) -> RecordFingerprints:
        """The fingerprints of a canonical frame's records, under a fresh random key."""
        key = secrets.token_bytes(KEY_BYTES)
        return cls(key, np.unique(fingerprints(frame, key)))

    def __len__(self) -> int:
        return len(self.values)

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """Per record of a canonical frame, whether its findings are those of a training record."""
        return np.isin(fingerprints(frame, self.key), self.values)

    def save(self, directory: Path) -> None:
        np.savez(directory / FINGERPRINTS_FILE, key=np.frombuffer(self.key, dtype=np.uint8), values=self.values)

    @classmethod
    def from_bytes(cls, data: bytes) -> RecordFingerprints:
        """From the verified bytes of :data:`FINGERPRINTS_FILE` (no pickle); ``ValueError`` names what is wrong."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            if set(arrays.files) != {"key", "values"}:
                raise ValueError(f"{FINGERPRINTS_FILE}: arrays {sorted(arrays.files)}, expected ['key', 'values']")
            key, values = arrays["key"], arrays["values"]
        if key.dtype != np.uint8 or key.shape != (KEY_BYTES,) or values.dtype != np.uint64 or values.ndim != 1:
            raise ValueError(f"{FINGERPRINTS_FILE}: not a {KEY_BYTES}-byte key and a list of 64-bit fingerprints")
        return cls(key.tobytes(), values)


def fingerprints(frame: pd.DataFrame, key: bytes) -> np.ndarray:
    """One ``uint64`` per record: the keyed BLAKE2b hash of its findings in canonical text (module docstring)."""
    columns = [_canonical(frame[name]) if name in frame else [_NULL] * len(frame) for name in FEATURE_FIELDS]
    hashes = (hashlib.blake2b(_SEPARATOR.join(cells).encode("utf-8"), digest_size=8, key=key).digest()
              for cells in zip(*columns, strict=True))
    return np.fromiter((int.from_bytes(h, "little") for h in hashes), dtype=np.uint64, count=len(frame))


def _canonical(column: pd.Series) -> list[str]:
    """A column's cells as text that does not depend on its dtype (see :data:`SIGNIFICANT_DIGITS`)."""
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return [_NULL if np.isnan(x) else f"{x + 0.0:.{SIGNIFICANT_DIGITS}g}" for x in numbers.tolist()]
    return [_NULL if pd.isna(v) else str(v) for v in column.astype(object).tolist()]
