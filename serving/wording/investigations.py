"""The investigations in words: nerve conduction, antibodies, CSF, paraprotein, imaging, treatment, completeness."""

from __future__ import annotations

import math

from mmn_ddx.data import FEATURE_FIELDS
from mmn_ddx.features import (
    ANTI_GM1_HIGH_TITRE,
    ANTI_GM1_POSITIVE,
    BLOCK_FIELDS,
    CSF_PLEOCYTOSIS_PER_UL,
    NO_TRIAL,
    PARAMETER_LABELS,
    ConductionFeatures,
    Known,
    SensoryFeatures,
    csf_protein_limit,
    derived_features,
    fields_for_mode,
    record_value,
)
from mmn_ddx.features.criteria import CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L as CSF_ULN_OLD_G_PER_L
from mmn_ddx.features.criteria import CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L as CSF_ULN_YOUNG_G_PER_L
from mmn_ddx.serving.wording._phrases import DRUGS, Record, num, plural, yes_no

NOT_COUNTED = "(stated without counts)"
NO_DENOMINATOR = "(number of nerves studied not given)"
"""A zero count without the number studied: none found in the nerves the report studied (not "not done")."""

BLOCK_WORDS: dict[str, str] = {
    "none": f"no conduction block found {NOT_COUNTED}",
    "present": f"conduction block present {NOT_COUNTED}",
    "single": f"conduction block in one nerve {NOT_COUNTED}",
    "multiple": f"conduction block in several nerves {NOT_COUNTED}",
}
PATTERN_WORDS: dict[str, str] = {
    "normal": f"normal motor conduction {NOT_COUNTED}",
    "axonal": f"axonal pattern on motor conduction {NOT_COUNTED}",
    "demyelinating": f"demyelinating features on motor conduction {NOT_COUNTED}",
    "mixed": f"axonal and demyelinating features on motor conduction {NOT_COUNTED}",
}
SENSORY_WORDS: dict[str, str] = {
    "normal": f"normal sensory conduction {NOT_COUNTED}",
    "abnormal": f"abnormal sensory conduction {NOT_COUNTED}",
}
"""The v2 qualitative findings in words: evidence stated without counts, never "not done"."""


def _no_study(record: Record, name: str, kind: str) -> str:
    """A conduction study with no result: "not done" only where the record says so (0 nerves studied); a null
    is "not recorded", since a record does not say whether a test was not done or done and not reported."""
    return f"{kind} nerve conduction {'not done' if record_value(record, name) == 0 else 'not recorded'}"


def _studied(record: Record, name: str, kind: str, not_done: float) -> str:
    if not_done == 1:
        return _no_study(record, name, kind)
    value = record_value(record, name)  # 0 studied beside findings stated in words: said as the record says it
    return (f"{plural(value, kind + ' nerve')} studied" if value is not None
            else f"{kind} nerve conduction done {NO_DENOMINATOR}")


def ncs_extent(record: Record, known: Known = None) -> str:
    motor = derived_features(record, ConductionFeatures, known)["motor_ncs_not_done"]
    sensory = derived_features(record, SensoryFeatures, known)["sensory_ncs_not_done"]
    return ", ".join((_studied(record, "motor_nerves_studied", "motor", motor),
                      _studied(record, "sensory_nerves_studied", "sensory", sensory)))


def _nerve_counts(record: Record, names: tuple[str, ...]) -> str:
    studied = record_value(record, "motor_nerves_studied")
    parts = []
    denominator_said = False
    for name in names:
        count = record_value(record, name)
        if count is None:
            parts.append(f"{PARAMETER_LABELS[name]} not recorded")
        elif denominator_said:  # the denominator is said once, in the first phrase with a count
            parts.append(f"{PARAMETER_LABELS[name]} in {count}")
        elif studied is not None:
            parts.append(f"{PARAMETER_LABELS[name]} in {count} of {plural(studied, 'motor nerve')}")
            denominator_said = True
        elif count == 0:
            parts.append(f"no {PARAMETER_LABELS[name].removeprefix('any ')} found {NO_DENOMINATOR}")
        else:
            parts.append(f"{PARAMETER_LABELS[name]} in {plural(count, 'motor nerve')} (number studied not recorded)")
    return ", ".join(parts)


def _motor_findings(record: Record, names: tuple[str, ...], words: str | None, known: Known) -> str:
    """The counts (when any is recorded, or nothing is stated in words), then the finding stated in words."""
    if derived_features(record, ConductionFeatures, known)["motor_ncs_not_done"] == 1:
        return _no_study(record, "motor_nerves_studied", "motor")
    counted = any(record_value(record, name) is not None for name in names)
    return ", ".join([*([_nerve_counts(record, names)] if counted or words is None else []),
                      *([words] if words else [])])


def conduction_block(record: Record, known: Known = None) -> str:
    stated = record_value(record, "motor_conduction_block")
    if stated is None and record_value(record, "motor_nerves_studied") is None and (
            derived_features(record, ConductionFeatures, known)["cb_present"] == 0):  # every recorded count is 0
        return f"no conduction block found {NO_DENOMINATOR}"
    return _motor_findings(record, tuple(BLOCK_FIELDS.values()), BLOCK_WORDS[stated] if stated else None, known)


def demyelination(record: Record, known: Known = None) -> str:
    names = ("nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
             "nerves_fwave_absent", "nerves_temporal_dispersion")
    shown = (tuple(n for n in names if record_value(record, n))  # the abnormal counts, else the recorded zeros
             or tuple(n for n in names if record_value(record, n) is not None) or ("nerves_any_demyelinating",))
    pattern = record_value(record, "motor_ncs_pattern")
    return _motor_findings(record, shown, PATTERN_WORDS[pattern] if pattern else None, known)


def sensory_conduction(record: Record, known: Known = None) -> str:
    studied, abnormal = record_value(record, "sensory_nerves_studied"), record_value(record, "sensory_nerves_abnormal")
    stated = record_value(record, "sensory_ncs")
    parts = []
    if derived_features(record, SensoryFeatures, known)["sensory_ncs_not_done"] == 1:
        parts.append(_no_study(record, "sensory_nerves_studied", "sensory"))
    elif abnormal is None and studied:
        parts.append(f"{plural(studied, 'sensory nerve')} studied" if stated else
                     f"sensory results not recorded ({plural(studied, 'nerve')} studied)")
    elif abnormal is None:
        pass  # the result is stated in words only
    elif abnormal == 0 and studied:
        parts.append(f"normal in all {plural(studied, 'sensory nerve')}")
    elif studied:
        parts.append(f"abnormal in {abnormal} of {plural(studied, 'sensory nerve')}")
    elif abnormal == 0:
        parts.append(f"no abnormal sensory nerve found {NO_DENOMINATOR}")
    else:
        parts.append(f"abnormal in {plural(abnormal, 'sensory nerve')} (number studied not recorded)")
    if stated:
        parts.append(SENSORY_WORDS[stated])
    parts.append(yes_no(record, "sensory_normal_across_cb", "normal across the blocked segments",
                        "abnormal across the blocked segments", "across blocked segments not recorded"))
    return ", ".join(parts)


def anti_gm1(record: Record) -> str:
    ratio = record_value(record, "anti_gm1_igm_ratio")
    if ratio is None:
        stated = record_value(record, "anti_gm1_igm")
        return f"anti-GM1 IgM {stated} (no titre given)" if stated else "anti-GM1 IgM not recorded"
    verdict = "high titre" if ratio >= ANTI_GM1_HIGH_TITRE else "positive" if ratio >= ANTI_GM1_POSITIVE else "negative"
    floored = math.floor(ratio * 100) / 100  # rounding up would cross a cut-off: 0.97 is not "1.0× (negative)"
    return f"anti-GM1 IgM {floored:.{2 if round(floored, 1) != floored else 1}f}× cut-off ({verdict})"


def csf(record: Record) -> str:
    protein, cells = record_value(record, "csf_protein_g_per_l"), record_value(record, "csf_cells_per_ul")
    raised = record_value(record, "csf_protein_raised")
    if protein is None and cells is None and raised is None:
        return "CSF not recorded"
    uln = csf_protein_limit(record)
    if protein is None:
        first = "CSF protein not recorded" if raised is None else (
            f"CSF protein {'raised' if raised else 'not raised'} (stated without a value)")
    elif math.isnan(uln):
        first = (f"CSF protein {protein:.2f} g/L (upper limit {CSF_ULN_YOUNG_G_PER_L:.2f} or {CSF_ULN_OLD_G_PER_L:.2f} "
                 "g/L: age at work-up unknown)")
    else:
        first = f"CSF protein {protein:.2f} g/L ({protein / uln:.1f}× the age-adjusted upper limit of {uln:.2f} g/L)"
    second = "cell count not recorded" if cells is None else (
        f"{num(cells)} cells/µL{' (raised)' if cells >= CSF_PLEOCYTOSIS_PER_UL else ''}")
    return f"{first}, {second}"


def paraprotein(record: Record) -> str:
    return ", ".join((
        yes_no(record, "igm_paraprotein", "IgM paraprotein present", "no IgM paraprotein",
               "IgM paraprotein not recorded"),
        yes_no(record, "anti_mag_positive", "anti-MAG positive", "anti-MAG negative", "anti-MAG not recorded"),
    ))


def nerve_imaging(record: Record) -> str:
    return ", ".join((
        yes_no(record, "mri_plexus_abnormal", "plexus MRI abnormal", "plexus MRI normal", "plexus MRI not recorded"),
        yes_no(record, "ultrasound_nerve_enlarged", "nerves enlarged on ultrasound",
               "no nerve enlargement on ultrasound", "nerve ultrasound not recorded"),
    ))


def treatment_response(record: Record) -> str:
    def one(name: str, drug: str) -> str:
        value = record_value(record, name)
        if value is None:
            return f"{drug} response not recorded"
        return f"{drug} not given" if value == NO_TRIAL else f"{drug}: {value.replace('_', ' ')}"

    return ", ".join(one(name, drug) for name, drug in DRUGS.items())


def record_completeness(record: Record, mode: str, known: Known = None) -> str:
    """The count is the model's own ``fields_recorded`` (:class:`features.RecordCompleteness`) when ``known``, a
    model input row of this ``mode``, holds it (what the model saw, and one look-up instead of ~60), else counted."""
    counted = fields_for_mode(FEATURE_FIELDS, mode)
    recorded = None if known is None else known.get("fields_recorded")
    if recorded is None:
        recorded = sum(record_value(record, name) is not None for name in counted)
    return f"{int(recorded)} of {len(counted)} fields recorded"
