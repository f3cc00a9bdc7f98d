"""Gold Coast criteria for ALS (2020) and a coarse revised-El-Escorial proxy (criteria.md §3).

Shefner JM, Al-Chalabi A, Baker MR, et al. A proposal for new diagnostic criteria for ALS.
Clin Neurophysiol 2020;131:1975-1978.

ALS (dichotomous) when (1) progressive motor impairment, (2) UMN + LMN dysfunction in one body region or
LMN dysfunction in two body regions, and (3) investigations exclude other diseases. Pure LMN disease in two
regions (progressive muscular atrophy) therefore qualifies, consistent with the ``MND`` label.

The contract has no per-region UMN/LMN fields, so the number of LMN regions is *bounded*: the lower bound
is the larger of the clinically affected regions and ``emg_regions_denervated``; the upper bound adds the
two (the EMG regions might not overlap the clinical ones) plus every region that is still undecided.
Atrophy is not localised: it makes one weak limb region an LMN region for certain and the other weak limb
region possibly. Criterion 3 is modelled on the evidence the contract holds: conduction block, a
demyelinating neuropathy, a positive anti-GM1 or a response to immunotherapy is evidence of another disease
and excludes ALS (docs/criteria.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import (
    IMMUNOTHERAPY_FIELDS,
    WEAKNESS_FIELDS,
    immunotherapy_improved,
    limbs_weak_at_least,
    pair_weak,
)
from mmn_ddx.features.criteria._logic import (
    SMALL,
    Bounds,
    Columns,
    Tri,
    all_of,
    any_of,
    is_true,
    row_truths,
    true_or_unknown,
)
from mmn_ddx.features.criteria._registry import Categories, CriteriaSet
from mmn_ddx.features.criteria._stated import (
    BLOCK_FIELDS,
    PATTERN_FIELDS,
    REFLEX_FIELDS,
    block_stated,
    demyelinating_pattern,
    numbers_first,
    proven_unless_measured,
    reflexes_stated,
)
from mmn_ddx.features.criteria.cidp_ean2021 import STRONG_MOTOR_ELEMENTS
from mmn_ddx.features.criteria.mmn_efns2010 import n1_definite_cb, n2_probable_cb_two_nerves, p1_anti_gm1_positive

ALS_GOLD_COAST = CriteriaSet(
    id="als_gold_coast",
    title="Gold Coast 2020 amyotrophic lateral sclerosis",
    citation="Shefner JM et al. Clin Neurophysiol 2020;131:1975-1978.",
    notes=(
        "Region identity of UMN signs, clinical LMN signs and EMG denervation is not recorded: the number of "
        "LMN regions is bounded, and 'UMN and LMN in the same region' cannot be checked.",
        "UMN dysfunction = pathological signs (upper_motor_neuron_signs), or a reflex preserved (normal or "
        "brisk) in the weak limbs while muscles are wasted (Gold Coast: 'a reflex in a clinically weak and "
        "wasted muscle'). Brisk reflexes alone are not counted: the contract keeps them apart from the "
        "pathological signs, and slightly brisk reflexes occur in MMN (EFNS/PNS 2010 S4).",
        "Clinical LMN dysfunction = weakness plus wasting; wasting is not localised, so it makes one weak limb "
        "region an LMN region for certain and a second one possibly. Bulbar weakness counts as bulbar LMN "
        "unless it may be pseudobulbar (pathological UMN signs without wasting). Thoracic only through EMG.",
        "Criterion 3 ('investigations exclude other disease processes') is read from the evidence recorded: "
        "conduction block (EFNS/PNS N1, or N2 in two nerves), a demyelinating neuropathy (EAN/PNS 2021 "
        "strongly supportive motor criteria), a positive IgM anti-GM1 or an objective improvement after "
        "immunotherapy excludes ALS. An anti-GM1 or a therapeutic trial that was not done excludes nothing "
        "(anti-GM1 is negative in half of MMN).",
        "The revised El Escorial category is a coarse approximation ('possible or better').",
    ),
)
_element = ALS_GOLD_COAST.element
_LMN_FIELDS = ("bulbar_weakness", "muscle_atrophy", *WEAKNESS_FIELDS, "emg_regions_denervated")
"""Fields of "LMN in >= 2 regions": a possibly pseudobulbar weakness (UMN signs, no wasting) cannot matter there,
because without wasting no limb region is a clinical LMN region."""


@_element("GCC 1", "Progressive motor impairment", fields=("course",), role="clinical")
def gc1_progressive_motor_impairment(c: Columns) -> Tri:
    """Criterion 1: progressive motor impairment documented by history or repeated examination."""
    return c.isin("course", T.ALS_COURSES)


@_element(
    "GCC 2",
    "Upper motor neuron dysfunction (pathological signs, or a reflex preserved in weak, wasted limbs)",
    fields=("upper_motor_neuron_signs", "reflexes_affected_limbs", *REFLEX_FIELDS, "muscle_atrophy",
            *WEAKNESS_FIELDS),
    role="clinical",
)
def gc2_upper_motor_neuron_dysfunction(c: Columns) -> Tri:
    """UMN dysfunction: pathological reflexes or spasticity (``upper_motor_neuron_signs``), or "the presence
    of a reflex in a clinically weak and wasted muscle" - reflexes of the weak limbs normal or brisk while
    there is atrophy: the affected limbs' reflexes, else the arms' (legs') while arms (legs) are weak; those
    fields hold the worst side, so preserved means preserved on both sides. Brisk reflexes alone do not
    count (docs/criteria.md)."""
    preserved = T.ALS_PRESERVED_REFLEXES
    by_limb = any_of(
        reflexes_stated(c, "arm", preserved) & pair_weak(c, "arm"),
        reflexes_stated(c, "leg", preserved) & pair_weak(c, "leg"),
    )
    weak_limb_reflex = numbers_first(c.isin("reflexes_affected_limbs", preserved) & limbs_weak_at_least(c, 1), by_limb)
    return c.flag("upper_motor_neuron_signs") | (weak_limb_reflex & c.isin("muscle_atrophy", T.ALS_ATROPHY_PRESENT))


def _bulbar_lmn(c: Columns) -> Tri:
    """Bulbar LMN dysfunction: bulbar weakness, unless it may be pseudobulbar (UMN) - pathological UMN signs
    and no wasting - in which case it is undecided rather than counted."""
    not_pseudobulbar = c.isin("muscle_atrophy", T.ALS_ATROPHY_PRESENT) | ~c.flag("upper_motor_neuron_signs")
    return c.flag("bulbar_weakness") & true_or_unknown(not_pseudobulbar)


def _clinical_lmn_bounds(c: Columns) -> Bounds:
    """Lower and upper bound of the clinically affected LMN regions (bulbar, cervical, lumbosacral).

    Wasting is not localised: with atrophy, one weak limb region is an LMN region for certain, a second weak
    limb region possibly (the wasting may be confined to the first)."""

    def compute() -> Bounds:
        bulbar = _bulbar_lmn(c)
        atrophy = c.isin("muscle_atrophy", T.ALS_ATROPHY_PRESENT)
        weak = Bounds.of([pair_weak(c, "arm"), pair_weak(c, "leg")])
        if len(c) <= SMALL:  # one patient: value by value, the same arithmetic
            (bulbar_true, bulbar_false), (atrophy_true, atrophy_false) = row_truths(bulbar), row_truths(atrophy)
            return Bounds(
                tuple(b + min(w, 1.0) * a for b, w, a in zip(bulbar_true, weak.lower, atrophy_true, strict=True)),
                tuple((not b) + w * (not a) for b, w, a in zip(bulbar_false, weak.upper, atrophy_false, strict=True)))
        lower = is_true(bulbar) + np.minimum(weak.lower, 1.0) * is_true(atrophy)
        upper = (~bulbar.false).astype(np.float64) + weak.upper * (~atrophy.false)
        return Bounds(lower, upper)

    return c.cached("clinical_lmn_bounds", compute)


def _lmn_regions_at_least(c: Columns, k: int) -> Tri:
    """True if the lower bound of LMN regions reaches k, False if even the upper bound stays below k. A missing
    EMG adds nothing to the lower bound and might show every region (the upper bound)."""
    clinical = _clinical_lmn_bounds(c)
    emg = c.number("emg_regions_denervated")
    if len(c) <= SMALL:  # one patient: value by value, the same arithmetic
        rows = list(zip(clinical.lower, clinical.upper, emg.tolist(), strict=True))
        return Bounds(tuple(lo if e != e else max(lo, e) for lo, _, e in rows),
                      tuple(min(T.ALS_BODY_REGIONS, hi + (T.ALS_BODY_REGIONS if e != e else e)) for _, hi, e in rows)
                      ).at_least(k)
    lower = np.fmax(clinical.lower, emg)
    emg_upper = np.where(np.isnan(emg), T.ALS_BODY_REGIONS, emg)
    return Bounds(lower, np.minimum(T.ALS_BODY_REGIONS, clinical.upper + emg_upper)).at_least(k)


@_element("GCC 2", "LMN dysfunction in >= 2 body regions", fields=_LMN_FIELDS, role="clinical")
def gc2_lmn_two_regions(c: Columns) -> Tri:
    """Criterion 2, second arm: lower motor neuron dysfunction in at least two body regions."""
    return _lmn_regions_at_least(c, T.ALS_MIN_LMN_REGIONS)


@_element(
    "GCC 2", "LMN dysfunction in >= 1 body region", fields=(*_LMN_FIELDS, "upper_motor_neuron_signs"), role="clinical"
)
def gc2_lmn_one_region(c: Columns) -> Tri:
    """Criterion 2, first arm (with UMN dysfunction): lower motor neuron dysfunction in at least one region."""
    return _lmn_regions_at_least(c, T.ALS_MIN_LMN_REGIONS_WITH_UMN)


_MOTOR = "motor_nerves_studied"


@_element(
    "GCC 3", "No conduction block (EFNS/PNS definite, or probable in >= 2 nerves, or a block stated)",
    fields=("nerves_definite_cb", "nerves_probable_cb", _MOTOR, *BLOCK_FIELDS), role="exclusion",
)
def gc3_no_conduction_block(c: Columns) -> Tri:
    """Criterion 3: "investigations exclude other disease processes". A motor conduction block that meets the
    EFNS/PNS 2010 electrodiagnostic rule of definite or probable MMN (N1 in one nerve, N2 in two), or a block
    the report states without grading it, is evidence of MMN, the mimic criterion 3 exists for (both
    readings); "no conduction block" is evidence of its absence. The counts decide where they are known: the
    word summarises the same study, so "conduction block" beside recorded counts that meet neither N1 nor N2
    (one probable block, a block below the grades) is not read as more than the counts."""
    stated = proven_unless_measured(c, block_stated(c), ("nerves_definite_cb", "nerves_probable_cb", _MOTOR))
    return ~any_of(n1_definite_cb.value(c), n2_probable_cb_two_nerves.value(c), stated)


@_element(
    "GCC 3", "No demyelinating neuropathy (EAN/PNS 2021 strongly supportive motor criteria, or stated)",
    fields=tuple(dict.fromkeys((*(f for e in STRONG_MOTOR_ELEMENTS for f in e.fields), *PATTERN_FIELDS))),
    role="exclusion",
)
def gc3_no_demyelinating_neuropathy(c: Columns) -> Tri:
    """Criterion 3: a demyelinating neuropathy, read as the EAN/PNS 2021 strongly supportive motor
    conduction criteria (a)-(f) (two nerves, or block plus another parameter), or motor conduction stated
    demyelinating or mixed (both readings), is another disease process; stated normal or axonal, it is
    not (the counts then read as none). Recorded counts decide: one nerve with demyelinating-range slowing,
    which axonal loss produces in ALS, summarised "demyelinating", is not the two-nerve bar."""
    stated = proven_unless_measured(c, demyelinating_pattern(c), ("nerves_any_demyelinating", _MOTOR))
    return ~any_of(*(e.value(c) for e in STRONG_MOTOR_ELEMENTS), stated)


@_element(
    "GCC 3", "No positive IgM anti-GM1", fields=("anti_gm1_igm_ratio", "anti_gm1_igm"), role="exclusion",
    absent_unless_recorded=True,
)
def gc3_no_positive_anti_gm1(c: Columns) -> Tri:
    """Criterion 3: a positive IgM anti-GM1 (EFNS/PNS 2010 P1) is evidence of MMN. Only a recorded positive
    result excludes: a negative test does not exclude MMN (sensitivity ~50%), so an untested one leaves no
    more doubt and is not undecided."""
    return ~p1_anti_gm1_positive.value(c)


@_element(
    "GCC 3", "No objective improvement after immunotherapy", fields=IMMUNOTHERAPY_FIELDS, role="exclusion",
    absent_unless_recorded=True,
)
def gc3_no_immunotherapy_response(c: Columns) -> Tri:
    """Criterion 3: objective improvement after IVIg or corticosteroids is evidence of a treatable immune
    neuropathy, not of ALS (a project reading, docs/criteria.md). Only a recorded improvement excludes; no
    trial, or no response, leaves criterion 3 to the investigations."""
    return ~immunotherapy_improved(c)


@_element(
    "GCC 3 (project proxy)",
    "No other red flag for an ALS mimic (CB, sensory neuropathy, high anti-GM1, CSF protein >= 1 g/L)",
    fields=(
        "nerves_definite_cb",
        "motor_nerves_studied",
        "sensory_nerves_abnormal",
        "sensory_nerves_studied",
        "sensory_loss",
        "anti_gm1_igm_ratio",
        "csf_protein_g_per_l",
    ),
    role="exclusion",
    used_in_verdict=False,
)
def gc3_no_mimic_red_flags(c: Columns) -> Tri:
    """Criterion 3 is "investigations exclude other disease processes"; not recorded. Project proxy, not
    published: none of definite CB, >= 2 abnormal sensory nerves with objective sensory loss, anti-GM1 >= 4x
    cut-off, CSF protein >= 1 g/L (criteria.md §3.4). Shown for information only."""
    sensory_neuropathy = c.count_at_least(
        "sensory_nerves_abnormal", T.ALS_MIMIC_SENSORY_ABNORMAL_NERVES, "sensory_nerves_studied"
    ) & ~c.isin("sensory_loss", ("none",))
    return ~any_of(
        c.count_at_least("nerves_definite_cb", 1, "motor_nerves_studied"),
        sensory_neuropathy,
        c.num("anti_gm1_igm_ratio", ">=", T.ALS_MIMIC_ANTI_GM1_HIGH_TITRE_RATIO),
        c.num("csf_protein_g_per_l", ">=", T.ALS_MIMIC_CSF_PROTEIN_G_PER_L),
    )


_CRITERION_3 = (
    "gc3_no_conduction_block",
    "gc3_no_demyelinating_neuropathy",
    "gc3_no_positive_anti_gm1",
    "gc3_no_immunotherapy_response",
)


@ALS_GOLD_COAST.combiner
def categories(c: Columns, r: Mapping[str, Tri]) -> Categories:
    """met = criterion 1, criterion 2 (UMN + LMN in >= 1 region, or LMN in >= 2 regions) and criterion 3 (no
    evidence of another disease)."""
    criterion_2 = r["gc2_lmn_two_regions"] | (r["gc2_upper_motor_neuron_dysfunction"] & r["gc2_lmn_one_region"])
    criterion_3 = all_of(*(r[e] for e in _CRITERION_3))
    return {"met": r["gc1_progressive_motor_impairment"] & criterion_2 & criterion_3}


def el_escorial_proxy(r: Mapping[str, Tri]) -> Tri:
    """Revised El Escorial (Brooks 2000) needs UMN signs in every category; "UMN + LMN signs in one region" is
    already "possible". Without region identity the proxy is only "possible or better" (criteria.md §3.4):
    UMN dysfunction and LMN dysfunction in >= 1 region. No UMN signs -> not met; UMN signs without LMN
    evidence stay undecided (UMN signs alone in >= 2 regions would be "possible")."""
    return r["gc2_upper_motor_neuron_dysfunction"] & true_or_unknown(r["gc2_lmn_one_region"])
