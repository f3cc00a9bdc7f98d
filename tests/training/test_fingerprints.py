"""Record fingerprints: the same findings match whatever the file does to them, other patients do not, and the
stored file holds nothing readable."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import ID_FIELD, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import read_cohort, write_table
from mmn_ddx.training.artifact.fingerprints import FINGERPRINTS_FILE, RecordFingerprints


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(200, seed=5)


@pytest.fixture(scope="module")
def stored(cohort: pd.DataFrame) -> RecordFingerprints:
    return RecordFingerprints.of(cohort)


def test_training_records_match_shuffled_renamed_relabelled_and_among_new_patients(
        cohort: pd.DataFrame, stored: RecordFingerprints) -> None:
    """The audit's `train_shuffled.csv` (rows shuffled, IDs changed) and `train_plus1.csv` (one patient added)
    passed the whole-file digest; record by record, every training row is found and only those."""
    shuffled = cohort.sample(frac=1.0, random_state=1).reset_index(drop=True)
    shuffled[ID_FIELD] = [f"NEW{i}" for i in range(len(shuffled))]
    assert stored.matches(shuffled).all()
    relabelled = cohort.assign(**{LABEL: cohort[LABEL].iloc[::-1].to_numpy()})
    assert stored.matches(relabelled).all()  # the findings were learnt, whatever their label now
    fresh = generate_cohort(300, seed=6)
    plus = pd.concat([cohort.head(50), fresh], ignore_index=True)
    assert stored.matches(plus).tolist() == [True] * 50 + [False] * 300


def test_one_changed_finding_is_another_record(cohort: pd.DataFrame, stored: RecordFingerprints) -> None:
    changed = cohort.head(3).copy()
    changed["age_at_onset_years"] = changed["age_at_onset_years"] + 1
    assert not stored.matches(changed).any()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".xlsx"])
def test_the_same_records_match_from_any_file_format(cohort: pd.DataFrame, stored: RecordFingerprints,
                                                     tmp_path: Path, suffix: str) -> None:
    """The check reads the canonical records: a cohort exported to another format is the same cohort."""
    path = write_table(cohort, tmp_path / f"cohort{suffix}")
    assert stored.matches(read_cohort(path, require_label=True).valid).all()


def test_numbers_compare_whatever_their_dtype(cohort: pd.DataFrame, stored: RecordFingerprints) -> None:
    """A float32 copy (Parquet from another tool) or float counts are the same record."""
    copy = cohort.copy()
    copy["csf_protein_g_per_l"] = copy["csf_protein_g_per_l"].astype(np.float32).astype(np.float64)
    copy["nerves_definite_cb"] = copy["nerves_definite_cb"].astype("Float64")
    assert stored.matches(copy).all()


def test_the_stored_file_holds_no_readable_value_and_each_bundle_its_own_key(cohort: pd.DataFrame,
                                                                             stored: RecordFingerprints,
                                                                             tmp_path: Path) -> None:
    stored.save(tmp_path)
    data = (tmp_path / FINGERPRINTS_FILE).read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["key", "values"] and arrays["values"].dtype == np.uint64
    assert not [pid for pid in cohort[ID_FIELD] if str(pid).encode() in data]
    loaded = RecordFingerprints.from_bytes(data)
    assert loaded.key == stored.key and np.array_equal(loaded.values, stored.values)
    assert loaded.matches(cohort).all()
    other = RecordFingerprints.of(cohort)  # another bundle of the same patients: not comparable with this one
    assert other.key != stored.key and not np.isin(other.values, stored.values).any()


def test_a_file_that_is_not_fingerprints_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, values=np.arange(3, dtype=np.uint64))
    with pytest.raises(ValueError, match="expected \\['key', 'values'\\]"):
        RecordFingerprints.from_bytes(buffer.getvalue())
