"""The investigations in words: nerve conduction, antibodies, CSF, paraprotein, imaging, treatment, completeness."""

from __future__ import annotations

import math

from mmn_ddx.data import FEATURE_FIELDS
from mmn_ddx.features import (
    ANTI_GM1_HIGH_TITRE,
    ANTI_GM1_POSITIVE,
    BLOCK_FIELDS,
    CSF_PLEOCYTOSIS_PER_UL,
    PARAMETER_LABELS,
    ConductionFeatures,
    Known,
    csf_protein_limit,
    derived_features,
    fields_for_mode,
    record_value,
)
from mmn_ddx.features.criteria import CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L as CSF_ULN_OLD_G_PER_L
from mmn_ddx.features.criteria import CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L as CSF_ULN_YOUNG_G_PER_L
from mmn_ddx.serving.wording._phrases import Record, num, plural, yes_no


def _studied(record: Record, name: str, kind: str) -> str:
    value = record_value(record, name)
    return f"{kind} nerve conduction not done" if not value else f"{plural(value, kind + ' nerve')} studied"


def ncs_extent(record: Record) -> str:
    return ", ".join(
        (_studied(record, "motor_nerves_studied", "motor"), _studied(record, "sensory_nerves_studied", "sensory"))
    )


def _nerve_counts(record: Record, names: tuple[str, ...], known: Known) -> str:
    f = derived_features(record, ConductionFeatures, known)
    if f["motor_ncs_not_done"] == 1:
        return "motor nerve conduction not done"
    studied = record_value(record, "motor_nerves_studied")
    parts = []
    for name in names:
        count = record_value(record, name)
        if count is None:
            parts.append(f"{PARAMETER_LABELS[name]} not recorded")
        elif parts:  # the denominator is said once, in the first phrase
            parts.append(f"{PARAMETER_LABELS[name]} in {count}")
        elif studied:
            parts.append(f"{PARAMETER_LABELS[name]} in {count} of {plural(studied, 'motor nerve')}")
        else:
            parts.append(f"{PARAMETER_LABELS[name]} in {plural(count, 'motor nerve')} (number studied not recorded)")
    return ", ".join(parts)


def conduction_block(record: Record, known: Known = None) -> str:
    return _nerve_counts(record, tuple(BLOCK_FIELDS.values()), known)


def demyelination(record: Record, known: Known = None) -> str:
    names = ("nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
             "nerves_fwave_absent", "nerves_temporal_dispersion")
    shown = tuple(n for n in names if record_value(record, n)) or ("nerves_any_demyelinating",)
    return _nerve_counts(record, shown, known)


def sensory_conduction(record: Record) -> str:
    studied, abnormal = record_value(record, "sensory_nerves_studied"), record_value(record, "sensory_nerves_abnormal")
    if not studied and not abnormal:
        first = "sensory nerve conduction not done"
    elif abnormal is None:
        first = f"sensory results not recorded ({plural(studied, 'nerve')} studied)"
    elif abnormal == 0 and studied:
        first = f"normal in all {plural(studied, 'sensory nerve')}"
    elif studied:
        first = f"abnormal in {abnormal} of {plural(studied, 'sensory nerve')}"
    else:
        first = f"abnormal in {plural(abnormal, 'sensory nerve')} (number studied not recorded)"
    return ", ".join((first, yes_no(record, "sensory_normal_across_cb", "normal across the blocked segments",
                                     "abnormal across the blocked segments", "across blocked segments not recorded")))


def anti_gm1(record: Record) -> str:
    ratio = record_value(record, "anti_gm1_igm_ratio")
    if ratio is None:
        return "anti-GM1 IgM not tested"
    verdict = "high titre" if ratio >= ANTI_GM1_HIGH_TITRE else "positive" if ratio >= ANTI_GM1_POSITIVE else "negative"
    return f"anti-GM1 IgM {ratio:.1f}× cut-off ({verdict})"


def csf(record: Record) -> str:
    protein, cells = record_value(record, "csf_protein_g_per_l"), record_value(record, "csf_cells_per_ul")
    if protein is None and cells is None:
        return "CSF not examined"
    uln = csf_protein_limit(record)
    if protein is None:
        first = "CSF protein not recorded"
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
        yes_no(record, "igm_paraprotein", "IgM paraprotein present", "no IgM paraprotein", "paraprotein not tested"),
        yes_no(record, "anti_mag_positive", "anti-MAG positive", "anti-MAG negative", "anti-MAG not tested"),
    ))


def nerve_imaging(record: Record) -> str:
    return ", ".join((
        yes_no(record, "mri_plexus_abnormal", "plexus MRI abnormal", "plexus MRI normal", "plexus MRI not done"),
        yes_no(record, "ultrasound_nerve_enlarged", "nerves enlarged on ultrasound",
               "no nerve enlargement on ultrasound", "nerve ultrasound not done"),
    ))


def treatment_response(record: Record) -> str:
    def one(name: str, drug: str) -> str:
        value = record_value(record, name)
        if value is None:
            return f"{drug} response not recorded"
        return f"{drug} not given" if value == "not_given" else f"{drug}: {value.replace('_', ' ')}"

    return ", ".join((one("ivig_response", "IVIg"), one("corticosteroid_response", "corticosteroids")))


def record_completeness(record: Record, mode: str) -> str:
    counted = fields_for_mode(FEATURE_FIELDS, mode)
    recorded = sum(record_value(record, name) is not None for name in counted)
    return f"{recorded} of {len(counted)} fields recorded"
