"""EAN/PNS 2021 guideline on CIDP, second revision (criteria.md §2).

Van den Bergh PYK, van Doorn PA, Hadden RDM, et al. Eur J Neurol 2021;28:3556-3583.

Two levels only: **CIDP** and **possible CIDP**; possible CIDP becomes CIDP with >= 2 supportive criteria.
Six clinical phenotypes, made mutually exclusive by the proxies below (so at most one can be met):

============  ===================================================================  ==========================
phenotype     clinical proxy (+ progressive/relapsing, >= 8 weeks, no anti-MAG)    conduction rules
============  ===================================================================  ==========================
typical       all 8 MRC regions weak, no asymmetric pair; symmetric sensory loss;  motor 2 nerves (CIDP) or
              reflexes reduced/absent in all limbs                                 1 nerve (possible) + sensory
                                                                                   abnormal in 2 nerves
multifocal    multifocal sensory loss; >= 2 nerve territories; >= 2 limbs weak     as typical
distal        symmetric sensory loss; distal leg weakness; no proximal weakness    as typical
focal arm     multifocal sensory loss; exactly one limb weak, an arm               as typical
focal         multifocal sensory loss; exactly one limb weak, a leg                as typical
motor         typical weakness pattern; no sensory loss and no sensory symptoms    motor rules + normal
                                                                                   sensory conduction in 4
sensory       objective sensory loss; no weak region                               sensory abnormal in 2 +
                                                                                   no demyelinating motor
                                                                                   nerve (possible only)
============  ===================================================================  ==========================

Project labels: typical -> ``CIDP``; multifocal (MADSAM, Lewis-Sumner) and focal confined to an arm ->
``MADSAM`` (criteria.md §2); the other four -> "other CIDP variant" (outside the four labels).
"""

from __future__ import annotations

from collections.abc import Mapping

from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import (
    ARM_FIELDS,
    LIMBS,
    PROXIMAL_FIELDS,
    WEAKNESS_FIELDS,
    limbs_weak_at_least,
    limbs_weak_exactly,
    nerve_territories_at_least,
    pair_weak,
    region_weak,
    symmetric_4limb_prox_dist,
)
from mmn_ddx.features.criteria._logic import Columns, Tri, all_of, any_of, at_least, true_or_unknown
from mmn_ddx.features.criteria._registry import Categories, CriteriaSet
from mmn_ddx.features.criteria._stated import (
    REFLEX_FIELDS,
    chart_review_only,
    no_weakness,
    numbers_first,
    reflexes_stated,
    refutes,
)

CIDP_EAN2021 = CriteriaSet(
    id="cidp_ean2021",
    title="EAN/PNS 2021 chronic inflammatory demyelinating polyradiculoneuropathy",
    citation="Van den Bergh PYK et al. Eur J Neurol 2021;28:3556-3583; J Peripher Nerv Syst 2021;26:242-268.",
    notes=(
        "Motor criterion (g), distal CMAP duration, is not recorded and never contributes.",
        "'Other parameter in another nerve' is read from nerves_any_demyelinating (distinct abnormal nerves); "
        "for conduction block plus another parameter this is an approximation (criteria.md §2.7 note 1).",
        "Sensory involvement of >= 2 limbs is proxied by sensory_loss == symmetric; multifocal sensory loss "
        "'in the affected limbs' and sensory nerves 'of affected limbs' cannot be localised.",
        "Anti-MAG neuropathy excludes only when recorded (IgM paraprotein and anti-MAG positive); an unrecorded "
        "paraprotein or anti-MAG is flagged (anti_mag_neuropathy_ruled_out), not excluded (criteria.md §2.7).",
        "Focal CIDP confined to an arm ('focal arm') is labelled MADSAM, as criteria.md §2 maps it; focal CIDP "
        "of a leg stays an other CIDP variant.",
        "Exclusions other than anti-MAG neuropathy (nodopathies, POEMS, hereditary, MMN) are not encoded; "
        "MMN is handled by the rule-based cascade.",
        "Sensory CIDP: sensory demyelinating criteria are not recorded; approximated by abnormal sensory "
        "conduction in 2 nerves with no demyelinating motor nerve (possible CIDP; CIDP with 2 supportive).",
    ),
)
_element = CIDP_EAN2021.element


# --- clinical criteria --------------------------------------------------------------------------------------
@_element("clinical", "Progressive or relapsing course", fields=("course",), role="clinical")
def progressive_or_relapsing_course(c: Columns) -> Tri:
    """All phenotypes: "progressive or relapsing"."""
    return c.isin("course", T.CIDP_COURSES)


@_element("clinical", "Developing over at least 8 weeks", fields=("symptom_duration_months",), role="clinical")
def duration_at_least_8_weeks(c: Columns) -> Tri:
    """All phenotypes: "developing over at least 8 weeks" (1.85 months, inclusive)."""
    return c.num("symptom_duration_months", ">=", T.CIDP_MIN_DURATION_MONTHS)


@_element("typical", "Symmetric proximal and distal weakness of all four limbs",
          fields=WEAKNESS_FIELDS, role="clinical")
def typical_symmetric_weakness(c: Columns) -> Tri:
    """Typical CIDP: "symmetric proximal and distal muscle weakness of upper and lower limbs". Where the
    grades cannot decide, the words: asymmetric weakness, no weakness, or an arm or leg spared refute it
    (both readings); symmetric weakness of both arms and both legs meets it in chart review only (the words
    do not say that proximal and distal muscles are both weak, which the strict reading needs the grades for).
    """
    met = all_of(c.isin("weakness_symmetry", ("symmetric",)), c.isin("weak_arms", ("both",)),
                 c.isin("weak_legs", ("both",)))
    refuted = any_of(*(true_or_unknown(c.isin(field, values)) for field, values in (
        ("weakness_symmetry", ("asymmetric", "no_weakness")), ("weak_arms", ("none", "one")),
        ("weak_legs", ("none", "one")))))
    words = c.reading_dependent(refutes(refuted), true_or_unknown(met).otherwise(refutes(refuted)))
    return numbers_first(symmetric_4limb_prox_dist(c), words)


@_element("typical", "Symmetric sensory loss (>= 2 limbs)", fields=("sensory_loss",), role="clinical")
def typical_sensory_involvement(c: Columns) -> Tri:
    """Typical and distal CIDP: "sensory involvement of at least two limbs" (proxy: symmetric loss)."""
    return c.isin("sensory_loss", T.CIDP_TYPICAL_SENSORY_LOSS)


@_element(
    "typical",
    "Absent or reduced reflexes in all limbs",
    fields=("reflexes_affected_limbs", "reflexes_unaffected_limbs", *WEAKNESS_FIELDS, *REFLEX_FIELDS),
    role="clinical",
)
def typical_reflexes_reduced_all_limbs(c: Columns) -> Tri:
    """Typical CIDP: "absent or reduced tendon reflexes in all limbs"; when all four limbs are weak the
    unaffected-limb field has nothing to describe and is not needed (criteria.md §2.7). Else the reflexes by
    limb: arm or leg reflexes normal or brisk (their worst side) refute it in both readings; arm and leg
    reflexes reduced or absent meet it in the chart-review reading only (the fields hold the worst side)."""
    all_limbs_weak = limbs_weak_at_least(c, len(LIMBS))
    by_affection = c.isin("reflexes_affected_limbs", T.CIDP_REFLEXES_LOW) & (
        c.isin("reflexes_unaffected_limbs", T.CIDP_REFLEXES_LOW) | all_limbs_weak
    )
    arms, legs = (reflexes_stated(c, kind, T.CIDP_REFLEXES_LOW) for kind in ("arm", "leg"))
    by_limb = chart_review_only(c, arms & legs)
    return numbers_first(by_affection, by_limb)


@_element("multifocal", "Multifocal sensory loss", fields=("sensory_loss",), role="clinical")
def multifocal_sensory_loss(c: Columns) -> Tri:
    """Multifocal and focal CIDP: "sensory loss and muscle weakness in a multifocal pattern"."""
    return c.isin("sensory_loss", T.CIDP_MULTIFOCAL_SENSORY_LOSS)


@_element("multifocal", "Weakness in >= 2 nerve territories",
          fields=("weak_nerve_territories", "weak_arms", "weak_legs", "weakness_symmetry"),
          role="clinical")
def multifocal_nerve_territories(c: Columns) -> Tri:
    """Multifocal CIDP: weakness in a multifocal (nerve-territory) pattern; without the count, two weak
    limbs are two territories."""
    return nerve_territories_at_least(c, T.CIDP_MULTIFOCAL_MIN_TERRITORIES)


@_element("multifocal", "Weakness in more than one limb", fields=WEAKNESS_FIELDS, role="clinical")
def multifocal_more_than_one_limb(c: Columns) -> Tri:
    """Multifocal CIDP: "in more than one limb" (usually asymmetric, upper-limb predominant: not required)."""
    return limbs_weak_at_least(c, T.CIDP_MULTIFOCAL_MIN_LIMBS)


@_element(
    "distal",
    "Distal leg weakness without proximal weakness",
    fields=("mrc_leg_distal_left", "mrc_leg_distal_right", *PROXIMAL_FIELDS, "weakness_predominance", "weak_legs",
            "weakness_symmetry"),
    role="clinical",
)
def distal_leg_weakness_only(c: Columns) -> Tri:
    """Distal CIDP: "distal sensory loss and muscle weakness predominantly in the lower limbs". Without the
    grades, weakness stated proximal or both, no weak leg or no weakness refute it (a distal predominance
    does not say the proximal muscles are normal)."""
    leg_distal = region_weak(c, "mrc_leg_distal_left") | region_weak(c, "mrc_leg_distal_right")
    refuted = any_of(true_or_unknown(c.isin("weakness_predominance", ("proximal", "both"))),
                     true_or_unknown(c.isin("weak_legs", ("none",))),
                     true_or_unknown(no_weakness(c)))
    return numbers_first(leg_distal & ~any_of(*(region_weak(c, f) for f in PROXIMAL_FIELDS)), refutes(refuted))


@_element("focal", "Weakness in one limb only", fields=WEAKNESS_FIELDS, role="clinical")
def focal_one_limb(c: Columns) -> Tri:
    """Focal CIDP: "sensory loss and muscle weakness in only one limb" (grades, then the limbs stated weak)."""
    return limbs_weak_exactly(c, T.CIDP_FOCAL_LIMBS)


@_element("focal", "The one weak limb is an arm", fields=(*ARM_FIELDS, "weak_arms", "weakness_symmetry"),
          role="clinical")
def focal_limb_is_arm(c: Columns) -> Tri:
    """Focal CIDP confined to an arm is labelled MADSAM (criteria.md §2: "multifocal CIDP, and by extension
    focal CIDP confined to the arm"): one of the arms is weak. Combined with "one limb only", so a known weak
    arm decides it."""
    return pair_weak(c, "arm")


@_element(
    "motor", "No sensory loss and no sensory symptoms", fields=("sensory_loss", "sensory_symptoms"), role="clinical",
    unmentioned="absent finding: met",
)
def motor_no_sensory_involvement(c: Columns) -> Tri:
    """Motor CIDP: "motor symptoms and signs without sensory involvement"."""
    return c.isin("sensory_loss", T.CIDP_MOTOR_VARIANT_SENSORY_LOSS) & ~c.flag("sensory_symptoms")


@_element("sensory", "Objective sensory loss without weakness", fields=("sensory_loss", *WEAKNESS_FIELDS),
          role="clinical")
def sensory_loss_without_weakness(c: Columns) -> Tri:
    """Sensory CIDP: "sensory symptoms and signs without motor involvement"."""
    return c.isin("sensory_loss", T.SENSORY_DEFICIT_VALUES) & ~limbs_weak_at_least(c, 1)  # no weak limb


@_element(
    "exclusion",
    "No anti-MAG neuropathy (IgM paraprotein with anti-MAG)",
    fields=("anti_mag_positive", "igm_paraprotein"),
    role="exclusion",
    absent_unless_recorded=True,
)
def no_anti_mag_neuropathy(c: Columns) -> Tri:
    """"IgM monoclonal gammopathy with anti-MAG antibodies" is not CIDP. Only a recorded anti-MAG neuropathy
    (both positive) excludes: an unrecorded paraprotein or anti-MAG is flagged by
    :func:`anti_mag_neuropathy_ruled_out`, never an exclusion (criteria.md §2.7: "flag, do not exclude"), so
    it cannot make a worked-up CIDP "not assessable"."""
    return ~(c.flag("igm_paraprotein") & c.flag("anti_mag_positive"))


@_element(
    "exclusion (flag)",
    "Anti-MAG neuropathy ruled out (no IgM paraprotein, or anti-MAG negative)",
    fields=("igm_paraprotein", "anti_mag_positive"),
    role="exclusion",
    used_in_verdict=False,
    unmentioned="undecided",
)
def anti_mag_neuropathy_ruled_out(c: Columns) -> Tri:
    """The flag of criteria.md §2.7: not assessable while neither the IgM paraprotein nor anti-MAG is known
    negative, so the explanation shows them as worth recording; informational, the verdict does not wait."""
    return ~(c.flag("igm_paraprotein") & c.flag("anti_mag_positive"))


# Motor and sensory conduction and the supportive investigations live in their own module; importing it
# here registers those elements on CIDP_EAN2021 after the clinical ones, in the guideline's order.
from mmn_ddx.features.criteria import cidp_ean2021_investigations as _investigations  # noqa: E402, F401

# --- categories -------------------------------------------------------------------------------------------------
PHENOTYPES: tuple[str, ...] = ("typical", "multifocal", "distal", "focal arm", "focal", "motor", "sensory")
_STRONG = (
    "a_dml_two_nerves",
    "b_cv_two_nerves",
    "c_fwave_latency_two_nerves",
    "d_fwave_absent_two_nerves_plus_other",
    "e_cb_two_nerves",
    "e_cb_one_nerve_plus_other",
    "f_temporal_dispersion_two_nerves",
)
_WEAK = (
    "a_dml_one_nerve",
    "b_cv_one_nerve",
    "c_fwave_latency_one_nerve",
    "e_cb_one_nerve",
    "f_temporal_dispersion_one_nerve",
)
STRONG_MOTOR_ELEMENTS = tuple(e for e in CIDP_EAN2021.elements if e.id in _STRONG)
"""The strongly supportive motor conduction criteria (a)-(f): also Gold Coast criterion 3's "demyelinating
neuropathy"."""
_SUPPORTIVE = ("supportive_csf", "supportive_ultrasound", "supportive_mri", "supportive_immunotherapy_response")


@CIDP_EAN2021.combiner
def categories(c: Columns, r: Mapping[str, Tri]) -> Categories:
    """Per phenotype: CIDP = clinical + strong motor + sensory rule, or possible CIDP + >= 2 supportive;
    possible CIDP = clinical + weak motor + sensory rule. Keys: "<phenotype>: CIDP", all CIDP levels first."""
    common = all_of(r["progressive_or_relapsing_course"], r["duration_at_least_8_weeks"], r["no_anti_mag_neuropathy"])
    clinical = {
        "typical": all_of(r["typical_symmetric_weakness"], r["typical_sensory_involvement"],
                          r["typical_reflexes_reduced_all_limbs"]),
        "multifocal": all_of(r["multifocal_sensory_loss"], r["multifocal_nerve_territories"],
                             r["multifocal_more_than_one_limb"]),
        "distal": r["typical_sensory_involvement"] & r["distal_leg_weakness_only"],
        "focal arm": r["multifocal_sensory_loss"] & r["focal_one_limb"] & r["focal_limb_is_arm"],
        "focal": r["multifocal_sensory_loss"] & r["focal_one_limb"] & ~r["focal_limb_is_arm"],
        "motor": r["typical_symmetric_weakness"] & r["motor_no_sensory_involvement"],
        "sensory": r["sensory_loss_without_weakness"],
    }
    strong = numbers_first(any_of(*(r[e] for e in _STRONG)), r["motor_stated_demyelinating"])
    weak = strong | numbers_first(any_of(*(r[e] for e in _WEAK)), r["motor_stated_demyelinating_features"])
    upgrade = at_least(T.CIDP_MIN_SUPPORTIVE_FOR_UPGRADE, (r[e] for e in _SUPPORTIVE))
    cidp: Categories = {}
    possible: Categories = {}
    for phenotype in PHENOTYPES:
        clin = common & clinical[phenotype]
        if phenotype == "sensory":
            possible[phenotype] = clin & r["sensory_abnormal_two_nerves"] & r["motor_conduction_normal"]
            cidp[phenotype] = possible[phenotype] & upgrade
            continue
        sensory_rule = r["sensory_normal_four_nerves"] if phenotype == "motor" else r["sensory_abnormal_two_nerves"]
        possible[phenotype] = clin & weak & sensory_rule
        cidp[phenotype] = (clin & strong & sensory_rule) | (possible[phenotype] & upgrade)
    return {
        **{f"{p}: CIDP": cidp[p] for p in PHENOTYPES},
        **{f"{p}: possible CIDP": possible[p] for p in PHENOTYPES},
    }
