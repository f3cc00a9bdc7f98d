"""EFNS/PNS 2010 guideline on multifocal motor neuropathy, first revision (criteria.md §1).

Joint Task Force of the EFNS and the PNS. J Peripher Nerv Syst 2010;15:295-301.

One function per guideline line, in the guideline's order: core clinical criteria C1-C2, supportive
clinical criteria S3-S7 (reported, they do not change the category), exclusions E8-E11 (phrased as "no
E8" so that "met" always favours the diagnosis), electrodiagnostic N1-N3 and supportive P1-P4. The
categories follow criteria.md §1.4:

* definite  = clinical + N1 (definite CB) + N3 in one nerve;
* probable  = clinical + N3 + N2 (probable CB) in two nerves, or in one nerve with >= 2 of P1-P4;
* possible  = clinical + normal sensory conduction + IVIg response (P4), even without CB; or C1 confined to
  one nerve territory + C2 + no exclusions + CB (N1 or N2) + N3 in one nerve.

"Clinical" means C1 (progressive, > 1 month, >= 2 nerve territories, asymmetric) + C2 + none of E8-E11.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import (
    MRC_FIELDS,
    STATED_CSF_FIELDS,
    asymmetric_weakness,
    csf_protein_raised,
    nerve_territories_at_least,
    no_weakness_stated,
    upper_limb_predominant,
)
from mmn_ddx.features.criteria._logic import Columns, Tri, all_of, any_of, at_least, true_or_unknown
from mmn_ddx.features.criteria._registry import Categories, CriteriaSet
from mmn_ddx.features.criteria._stated import (
    BLOCK_FIELDS,
    SENSORY_FIELDS,
    chart_review_only,
    count_at_least,
    never,
    numbers_first,
    refutes,
    stated,
    stated_weak_limbs,
    ungraded_block,
)
from mmn_ddx.features.criteria._stated import WEAKNESS_FIELDS as STATED_WEAKNESS_FIELDS

MMN_EFNS2010 = CriteriaSet(
    id="mmn_efns2010",
    title="EFNS/PNS 2010 multifocal motor neuropathy",
    citation="Joint Task Force of the EFNS and the PNS. J Peripher Nerv Syst 2010;15:295-301.",
    notes=(
        "Counts of nerves stand in for 'in one nerve': N1/N2 + N3 is nerves_*_cb >= k with "
        "sensory_normal_across_cb for all blocked segments (criteria.md §1.5 note i).",
        "E9 'marked' bulbar involvement: severity is not recorded, any bulbar weakness excludes.",
        "E11 'diffuse symmetric weakness during the initial weeks': proxy onset_region == generalized.",
    ),
)
_element = MMN_EFNS2010.element
_clinical = partial(_element, role="clinical")
_exclusion = partial(_element, role="exclusion")
_supportive_clinical = partial(_element, role="supportive", used_in_verdict=False)  # reported, not in categories
_electro = partial(_element, role="electrodiagnostic")
_supportive = partial(_element, role="supportive")
_MOTOR = "motor_nerves_studied"
_SENSORY = "sensory_nerves_studied"


# --- core clinical criteria -------------------------------------------------------------------------------
@_clinical("C1", "Slowly progressive or stepwise progressive course", fields=("course",))
def c1_progressive_course(c: Columns) -> Tri:
    """C1: "slowly progressive or stepwise progressive" weakness."""
    return c.isin("course", T.MMN_COURSES)


@_clinical("C1", "Weakness for more than one month", fields=("symptom_duration_months",))
def c1_duration_over_one_month(c: Columns) -> Tri:
    """C1: "for more than one month (usually more than six months)"; exactly one month does not qualify."""
    return c.num("symptom_duration_months", ">", T.MMN_MIN_DURATION_MONTHS)


@_clinical("C1", "Motor involvement in at least two nerve territories",
           fields=("weak_nerve_territories", *STATED_WEAKNESS_FIELDS))
def c1_two_nerve_territories(c: Columns) -> Tri:
    """C1: "motor involvement in the motor nerve distribution of at least two nerves"; without the count,
    two weak limbs are two nerve territories."""
    return nerve_territories_at_least(c, T.MMN_MIN_NERVE_TERRITORIES)


@_clinical("C1 (possible)", "Signs confined to one nerve territory",
           fields=("weak_nerve_territories", *STATED_WEAKNESS_FIELDS))
def c1_single_nerve_territory(c: Columns) -> Tri:
    """C1: "if signs and symptoms are present only in the distribution of one nerve, only a possible
    diagnosis can be made"; with one affected nerve, asymmetry is automatic (criteria.md §1.5 note ii).
    Without the count, two limbs stated weak or no weakness refute it."""
    stated_weak = stated_weak_limbs(c)
    refuted = (stated_weak >= 2) | no_weakness_stated(c)
    return numbers_first(c.num("weak_nerve_territories", "==", T.MMN_SINGLE_NERVE_TERRITORY),
                         Tri(never(c), refuted))


@_clinical("C1", "Asymmetric weakness (MRC rule, else as stated)", fields=(*MRC_FIELDS, "weakness_symmetry"))
def c1_asymmetric_weakness(c: Columns) -> Tri:
    """C1 footnote: asymmetry = >= 1 MRC grade left-right difference if strength > 3, >= 2 grades if <= 3,
    in any of the four regional pairs. Where the grades cannot decide, the record's words (both readings):
    "asymmetric" meets it, "symmetric" or no weakness refute it. Weakness of one arm only is not read as
    asymmetry: a slight one-sided weakness can be within one MRC grade."""
    words = stated(c, "weakness_symmetry", ("asymmetric",), ("symmetric", "no_weakness"))
    return numbers_first(asymmetric_weakness(c), words)


@_clinical("C2", "No objective sensory loss beyond minor vibration loss in the legs", fields=("sensory_loss",),
           unmentioned="absent finding: met")
def c2_no_objective_sensory_loss(c: Columns) -> Tri:
    """C2: "no objective sensory abnormalities except for minor vibration sense changes in the lower limbs"."""
    return c.isin("sensory_loss", T.MMN_SENSORY_LOSS_ALLOWED)


# --- supportive clinical criteria (reported; they do not change the category) -------------------------
@_supportive_clinical("S3", "Predominant upper-limb involvement", fields=(*MRC_FIELDS, "onset_region"))
def s3_upper_limb_predominant(c: Columns) -> Tri:
    """S3: predominant upper-limb involvement (lower-limb-predominant onset in nearly 10%)."""
    return upper_limb_predominant(c)


@_supportive_clinical("S4", "Reduced or absent reflexes in affected limbs", fields=("reflexes_affected_limbs",))
def s4_reduced_reflexes_affected_limbs(c: Columns) -> Tri:
    """S4: decreased or absent tendon reflexes in the affected limb."""
    return c.isin("reflexes_affected_limbs", T.CIDP_REFLEXES_LOW)


@_supportive_clinical("S5", "No cranial nerve involvement", fields=("cranial_nerve_palsy",))
def s5_no_cranial_nerve_involvement(c: Columns) -> Tri:
    """S5: absence of cranial nerve involvement."""
    return ~c.flag("cranial_nerve_palsy")


@_supportive_clinical("S6", "Cramps or fasciculations", fields=("cramps", "fasciculations"))
def s6_cramps_or_fasciculations(c: Columns) -> Tri:
    """S6: cramps and fasciculations in the affected limb ("or", for sensitivity: criteria.md §1.5)."""
    return c.flag("cramps") | c.flag("fasciculations")


@_supportive_clinical("S7", "Improvement with immunomodulatory treatment", fields=("ivig_response",))
def s7_immunotherapy_response(c: Columns) -> Tri:
    """S7: response in terms of disability or muscle strength to immunomodulatory treatment."""
    return c.isin("ivig_response", (T.IMMUNOTHERAPY_IMPROVED,))


# --- exclusion criteria ("met" = the exclusion is absent) ------------------------------------------------
@_exclusion("E8", "No upper motor neuron signs", fields=("upper_motor_neuron_signs",))
def e8_no_upper_motor_neuron_signs(c: Columns) -> Tri:
    """E8: upper motor neuron signs exclude MMN (the field holds pathological signs only, not brisk reflexes)."""
    return ~c.flag("upper_motor_neuron_signs")


@_exclusion("E9", "No marked bulbar involvement", fields=("bulbar_weakness",))
def e9_no_marked_bulbar_involvement(c: Columns) -> Tri:
    """E9: marked bulbar involvement excludes MMN (severity not recorded: any bulbar weakness excludes)."""
    return ~c.flag("bulbar_weakness")


@_exclusion("E10", "No sensory impairment beyond minor leg vibration loss", fields=("sensory_loss",))
def e10_no_marked_sensory_impairment(c: Columns) -> Tri:
    """E10: sensory impairment more marked than minor vibration loss in the lower limbs excludes MMN."""
    return ~c.isin("sensory_loss", T.SENSORY_DEFICIT_VALUES)


@_exclusion("E11", "No diffuse symmetric weakness in the initial weeks", fields=("onset_region",))
def e11_no_early_diffuse_symmetric_weakness(c: Columns) -> Tri:
    """E11: diffuse symmetric weakness during the initial weeks excludes MMN (proxy: generalized onset)."""
    return ~c.isin("onset_region", ("generalized",))


# --- electrodiagnostic criteria ---------------------------------------------------------------------------
@_electro("N1", "Definite motor conduction block in at least one nerve",
          fields=("nerves_definite_cb", _MOTOR, *BLOCK_FIELDS))
def n1_definite_cb(c: Columns) -> Tri:
    """N1: definite motor CB (>= 50% area reduction, outside entrapment sites) in at least one nerve. A block
    stated without a grade is never definite (undecided in both readings); "no conduction block" refutes."""
    return numbers_first(count_at_least(c, "nerves_definite_cb", T.MMN_DEFINITE_CB_NERVES, _MOTOR),
                         refutes(c.isin("motor_conduction_block", ("none",))))


@_electro("N2", "Probable motor conduction block in at least two nerves",
          fields=("nerves_probable_cb", _MOTOR, *BLOCK_FIELDS))
def n2_probable_cb_two_nerves(c: Columns) -> Tri:
    """N2 in two nerves (probable MMN, first route); chart review reads "multiple" ungraded blocks as N2 in
    two nerves."""
    k = T.MMN_PROBABLE_CB_NERVES
    return numbers_first(count_at_least(c, "nerves_probable_cb", k, _MOTOR), ungraded_block(c, k))


@_electro("N2", "Probable motor conduction block in one nerve", fields=("nerves_probable_cb", _MOTOR, *BLOCK_FIELDS))
def n2_probable_cb_one_nerve(c: Columns) -> Tri:
    """N2 in one nerve (probable MMN with two supportive criteria)."""
    k = T.MMN_PROBABLE_CB_NERVES_WITH_SUPPORT
    return numbers_first(count_at_least(c, "nerves_probable_cb", k, _MOTOR), ungraded_block(c, k))


@_electro(
    "N1/N2",
    "Definite or probable conduction block in at least one nerve",
    fields=("nerves_definite_cb", "nerves_probable_cb", _MOTOR, *BLOCK_FIELDS),
)
def n1_or_n2_cb_one_nerve(c: Columns) -> Tri:
    """N1 or N2 in one nerve (possible MMN, single-territory route)."""
    k = T.MMN_POSSIBLE_CB_NERVES
    counts = count_at_least(c, "nerves_definite_cb", k, _MOTOR) | count_at_least(c, "nerves_probable_cb", k, _MOTOR)
    return numbers_first(counts, ungraded_block(c, k))


@_electro("N3", "Normal sensory conduction across the blocked segments",
          fields=("sensory_normal_across_cb", *SENSORY_FIELDS))
def n3_sensory_normal_across_cb(c: Columns) -> Tri:
    """N3: normal sensory nerve conduction in the upper-limb segments with CB. "Sensory conduction normal"
    as a whole includes them in the chart-review reading; the strict reading needs the segments (routine
    sensory studies are distal). An abnormal sensory study may lie elsewhere: it decides nothing."""
    words = chart_review_only(c, true_or_unknown(c.isin("sensory_ncs", ("normal",))))
    return numbers_first(c.flag("sensory_normal_across_cb"), words)


@_electro("possible", "Normal sensory conduction in all nerves studied",
          fields=("sensory_nerves_abnormal", _SENSORY, *SENSORY_FIELDS))
def sensory_conduction_normal(c: Columns) -> Tri:
    """Possible MMN (IVIg route) requires normal sensory conduction: no abnormal nerve among those studied
    (a zero count without the number studied: none found), else ``sensory_ncs`` as stated."""
    counts = ~count_at_least(c, "sensory_nerves_abnormal", 1, _SENSORY)
    return numbers_first(counts, stated(c, "sensory_ncs", ("normal",), ("abnormal",)))


# --- supportive (paraclinical) criteria --------------------------------------------------------------------
@_supportive("P1", "Elevated IgM anti-GM1 antibodies", fields=("anti_gm1_igm_ratio", "anti_gm1_igm"))
def p1_anti_gm1_positive(c: Columns) -> Tri:
    """P1: elevated serum IgM anti-GM1 (ratio to the laboratory cut-off >= 1), else the qualitative result
    (the laboratory's own cut-off), in both readings."""
    return numbers_first(c.num("anti_gm1_igm_ratio", ">=", T.ANTI_GM1_POSITIVE_RATIO),
                         stated(c, "anti_gm1_igm", ("positive",), ("negative",)))


@_supportive("P2", "CSF protein increased but below 1 g/L", fields=STATED_CSF_FIELDS)
def p2_csf_protein_raised_below_1(c: Columns) -> Tri:
    """P2: increased CSF protein (age-partitioned limit, Breiner 2019) but below 1 g/L. "Raised" without a
    value leaves "below 1 g/L" open (a supportive finding: not met in chart review); "not raised" refutes."""
    return csf_protein_raised(c) & c.num("csf_protein_g_per_l", "<", T.MMN_CSF_PROTEIN_BELOW_G_PER_L)


@_supportive("P3", "Brachial plexus MRI abnormal", fields=("mri_plexus_abnormal",))
def p3_mri_plexus_abnormal(c: Columns) -> Tri:
    """P3: increased T2 signal with diffuse nerve swelling of the brachial plexus on MRI."""
    return c.flag("mri_plexus_abnormal")


@_supportive("P4", "Objective improvement after IVIg", fields=("ivig_response",))
def p4_ivig_response(c: Columns) -> Tri:
    """P4: objective clinical improvement following IVIg treatment."""
    return c.isin("ivig_response", (T.IMMUNOTHERAPY_IMPROVED,))


# --- categories --------------------------------------------------------------------------------------------
_NO_EXCLUSIONS = (
    "e8_no_upper_motor_neuron_signs",
    "e9_no_marked_bulbar_involvement",
    "e10_no_marked_sensory_impairment",
    "e11_no_early_diffuse_symmetric_weakness",
)


@MMN_EFNS2010.combiner
def categories(c: Columns, r: Mapping[str, Tri]) -> Categories:
    """definite > probable > possible, exactly as in the module docstring (criteria.md §1.4)."""
    core = all_of(r["c1_progressive_course"], r["c1_duration_over_one_month"], r["c2_no_objective_sensory_loss"])
    no_exclusion = all_of(*(r[e] for e in _NO_EXCLUSIONS))
    clinical = core & r["c1_two_nerve_territories"] & r["c1_asymmetric_weakness"] & no_exclusion
    n3 = r["n3_sensory_normal_across_cb"]
    supportive = at_least(
        T.MMN_MIN_SUPPORTIVE_FOR_PROBABLE,
        (r[p] for p in ("p1_anti_gm1_positive", "p2_csf_protein_raised_below_1", "p3_mri_plexus_abnormal",
                        "p4_ivig_response")),
    )
    probable_cb = r["n2_probable_cb_two_nerves"] | (r["n2_probable_cb_one_nerve"] & supportive)
    single_territory = core & r["c1_single_nerve_territory"] & no_exclusion & r["n1_or_n2_cb_one_nerve"] & n3
    return {
        "definite": clinical & r["n1_definite_cb"] & n3,
        "probable": clinical & n3 & probable_cb,
        "possible": any_of(clinical & r["sensory_conduction_normal"] & r["p4_ivig_response"], single_territory),
    }
