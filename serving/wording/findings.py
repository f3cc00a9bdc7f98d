"""Findings in words: each finding group for one patient as a short phrase stating the actual values.

Each describer takes a record (contract field -> value) and returns a noun phrase that states the
patient's actual values, e.g. "definite conduction block in 3 of 8 motor nerves"; the explanation appends
the direction (": towards MMN"). Derived quantities (worst weakness, EFNS asymmetry, age-adjusted CSF
limit, ...) are the feature transformers' own (:func:`features.findings.derived_features`), so the words
can never disagree with what the model saw. Null is worded as "not recorded", never as normal and never as
"not done": the contract's null is "not examined / not tested / unknown", and a record that omits a test
(a letter, a case report) does not say which; "not done" is said only where the record says so (0 nerves
studied). Which feature belongs to which finding is :mod:`features.findings`' business, not this one's.
"""

from __future__ import annotations

from collections.abc import Callable

from mmn_ddx.features import FINDING_GROUPS, MODES, Known, check_mode
from mmn_ddx.serving.wording import clinical as c
from mmn_ddx.serving.wording import investigations as i
from mmn_ddx.serving.wording._phrases import Record

Describe = Callable[[Record, str, Known], str]
"""(record, mode, engineered features or None) -> the patient's value(s) of the finding, as a phrase."""


def _modeless(describe: Callable[[Record], str]) -> Describe:
    return lambda record, mode, features: describe(record)


_FEATURE_DESCRIBERS: list[Describe] = []


def _from_features(describe: Callable[[Record, Known], str]) -> Describe:
    """For findings worded from derived quantities (worst grade, asymmetry, ...): reuse them if given."""

    def words(record: Record, mode: str, features: Known) -> str:
        return describe(record, features)

    _FEATURE_DESCRIBERS.append(words)
    return words


def _reads_features(describe: Describe) -> Describe:
    """For a finding worded from the features that also needs the mode (record completeness)."""
    _FEATURE_DESCRIBERS.append(describe)
    return describe


DESCRIBERS: dict[str, Describe] = {
    "age_sex": _modeless(c.age_sex),
    "course": _modeless(c.course),
    "onset_region": _modeless(c.onset_region),
    "weakness_distribution": _from_features(c.weakness_distribution),
    "asymmetry": _from_features(c.asymmetry),
    "nerve_territories": _modeless(c.nerve_territories),
    "wasting": _from_features(c.wasting),
    "reflexes": _modeless(c.reflexes),
    "umn_signs": _modeless(c.umn_signs),
    "bulbar_respiratory": _modeless(c.bulbar_respiratory),
    "cranial_nerves": _modeless(c.cranial_nerves),
    "fasciculations_cramps": _modeless(c.fasciculations_cramps),
    "emg_denervation": _modeless(c.emg_denervation),
    "sensory_signs": _modeless(c.sensory_signs),
    "ncs_extent": _from_features(i.ncs_extent),
    "conduction_block": _from_features(i.conduction_block),
    "demyelination": _from_features(i.demyelination),
    "sensory_conduction": _from_features(i.sensory_conduction),
    "anti_gm1": _modeless(i.anti_gm1),
    "csf": _modeless(i.csf),
    "paraprotein": _modeless(i.paraprotein),
    "nerve_imaging": _modeless(i.nerve_imaging),
    "treatment_response": _modeless(i.treatment_response),
    "record_completeness": _reads_features(i.record_completeness),
}
"""Finding group (:data:`features.findings.FINDING_GROUPS`) -> its describer; a test keeps the keys equal."""
READS_FEATURES: frozenset[str] = frozenset(g for g, describe in DESCRIBERS.items() if describe in _FEATURE_DESCRIBERS)
"""The findings whose describer reads the engineered features: the others ignore ``features`` (a batch then
need not look them up by name)."""


def describe_finding(group: str, record: Record, mode: str = MODES[0], features: Known = None) -> str:
    """The patient's actual value(s) for one finding, e.g. "anti-GM1 IgM 8.0× cut-off (high titre)".

    ``record`` maps contract fields to values (a ``PatientRecord.to_dict()``, or a row of a canonical
    frame); a missing key, ``None``, NaN and ``pd.NA`` all mean "not recorded". ``mode`` matters only
    for record completeness, which does not count treatment fields at presentation. ``features``: the
    record's engineered features by name (``ClinicalFeatures`` output, e.g. the model's input row), when
    the caller has them: derived quantities are read from them instead of being computed again.
    """
    try:
        describe = DESCRIBERS[group]
    except KeyError:
        raise KeyError(f"unknown finding group {group!r}; known: {', '.join(FINDING_GROUPS)}") from None
    return describe(record, check_mode(mode), features)
