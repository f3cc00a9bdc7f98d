"""Warnings shown with every prediction: when not to trust it as much as its probabilities suggest.

* ``synthetic_training_data`` - the model learned from patients generated from published frequencies, wholly
  or partly (a user cohort added to them), not from real patients alone: ``BundleMetadata.synthetic_training``,
  the one reading of the bundle's training data that the pyfunc (``mlflow models serve``, Spark) shares.
* ``out_of_distribution`` - the bundle's own detector says the record lies outside the training data
  (values or combinations it never saw); tree models extrapolate flatly there.
* ``little_information`` - most findings are unrecorded, or no result of a motor nerve conduction study
  is (the test every guideline needs): the prediction then rests mostly on the setting's pre-test
  probabilities. The rule and its reasons: ``training.artifact.information.lacks_information``.
* ``treatment_response_ignored`` - the record gives a response to IVIg or corticosteroids (improved, no response,
  worsened: not "not given", not null), which an at-presentation model does not read; the with-treatment model
  does. The rule: ``training.artifact.treatment_response``.
* ``criteria_disagree`` - the published criteria point to another diagnosis than the model.

The codes and their order are ``training.artifact.WARNING_CODES`` (the pyfunc lists them too).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from mmn_ddx.serving import wording
from mmn_ddx.serving.result import Warning
from mmn_ddx.training.artifact import (
    DISAGREE_CODE,
    LITTLE_INFORMATION_CODE,
    OOD_CODE,
    SYNTHETIC_CODE,
    TREATMENT_IGNORED_CODE,
    WARNING_CODES,
    Atypical,
    SyntheticTraining,
    codes_per_patient,
    few_recorded,
    lacks_information,
    optional_fields,
)


def recorded_counts(nulls: np.ndarray, columns: Sequence[str], mode: str) -> tuple[np.ndarray, int]:
    """Per patient, how many optional findings are recorded, and out of how many.

    ``nulls`` is the (patients, fields) null mask of the canonical frame, ``columns`` its field names.
    """
    keep = _optional_positions(tuple(columns), mode)
    return (~nulls[:, keep]).sum(axis=1), len(keep)


@cache
def _optional_positions(columns: tuple[str, ...], mode: str) -> np.ndarray:
    """:func:`_positions` of the optional fields of ``mode`` (their set made once per mode and layout, not per call)."""
    return _positions(columns, frozenset(optional_fields(mode)))


@cache
def _positions(columns: tuple[str, ...], names: frozenset[str]) -> np.ndarray:
    """Positions of ``names`` among ``columns`` (found once per layout: every prediction asks the same), as a
    read-only index array (numpy converts a list on every indexing)."""
    positions = np.array([j for j, name in enumerate(columns) if name in names], dtype=np.intp)
    positions.flags.writeable = False
    return positions


@cache
def synthetic_training_data(synthetic: SyntheticTraining | None) -> Warning | None:
    """Made once per model (a frozen warning of plain strings is shared by the results); ``synthetic`` is the
    bundle's ``synthetic_training``."""
    if synthetic is None:
        return None
    return Warning(code=SYNTHETIC_CODE, message=wording.messages.synthetic_training_data(synthetic))


@cache
def little_information(recorded: int, total: int, motor_ncs_done: bool) -> Warning | None:
    """Made once per count (like :func:`synthetic_training_data`, shared by the results)."""
    if not lacks_information(recorded, total, motor_ncs_done):
        return None
    few = bool(few_recorded(recorded, total))
    return Warning(code=LITTLE_INFORMATION_CODE, message=wording.messages.little_information(
        recorded, total, few_recorded=few, no_motor_ncs=not motor_ncs_done))


def out_of_distribution(facts: Sequence[Atypical]) -> Warning | None:
    if not facts:
        return None
    return Warning(code=OOD_CODE, message=wording.messages.out_of_distribution(facts))


@cache
def treatment_response_ignored(unread: tuple[str, ...], mode: str) -> Warning | None:
    """``unread``: the treatment fields whose recorded response the model of ``mode`` does not read (made once per
    tuple, shared as :func:`little_information`)."""
    if not unread:
        return None
    return Warning(code=TREATMENT_IGNORED_CODE, message=wording.messages.treatment_response_ignored(unread, mode))


@cache
def criteria_disagree(agrees: bool | None, label: str, predicted: str) -> Warning | None:
    """Made once per pair of labels (shared, as :func:`little_information`)."""
    if agrees is not False:
        return None
    return Warning(code=DISAGREE_CODE, message=wording.messages.criteria_disagree(label, predicted))


def warnings_for(
    *, synthetic: SyntheticTraining | None, ood: Sequence[Atypical], recorded: int, total: int, motor_ncs_done: bool,
    unread: tuple[str, ...], mode: str, agrees: bool | None, label: str, predicted: str,
) -> list[Warning]:
    """All warnings of one patient, in :data:`WARNING_CODES` order (``synthetic``: the bundle's
    ``synthetic_training``; ``unread``: see :func:`treatment_response_ignored`)."""
    found = {
        SYNTHETIC_CODE: synthetic_training_data(synthetic),
        OOD_CODE: out_of_distribution(ood),
        LITTLE_INFORMATION_CODE: little_information(recorded, total, motor_ncs_done),
        TREATMENT_IGNORED_CODE: treatment_response_ignored(unread, mode),
        DISAGREE_CODE: criteria_disagree(agrees, label, predicted),
    }
    return [w for code in WARNING_CODES if (w := found[code]) is not None]


def warning_codes(
    *, synthetic: SyntheticTraining | None, ood: Sequence[Sequence[Atypical]], recorded: np.ndarray, total: int,
    motor_ncs_done: np.ndarray, unread: np.ndarray, disagrees: np.ndarray,
) -> list[str]:
    """Per patient, the codes of :func:`warnings_for` joined by ``;``, for a whole batch without wording the
    messages (a batch table shows the codes only). ``unread``: the record gives a treatment response the model
    does not read (``training.artifact.unread_responses`` of any field); ``disagrees``: the criteria's label is a
    diagnosis other than the predicted one (``agrees is False``)."""
    codes = codes_per_patient({
        SYNTHETIC_CODE: synthetic is not None,
        OOD_CODE: [bool(facts) for facts in ood],
        LITTLE_INFORMATION_CODE: np.asarray(lacks_information(recorded, total, motor_ncs_done)),
        TREATMENT_IGNORED_CODE: unread,
        DISAGREE_CODE: disagrees,
    }, len(ood))
    return [";".join(found) for found in codes]
