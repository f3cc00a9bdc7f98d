"""Gold Coast criteria for ALS (2020) and a coarse revised-El-Escorial proxy (criteria.md §3).

Shefner JM, Al-Chalabi A, Baker MR, et al. A proposal for new diagnostic criteria for ALS.
Clin Neurophysiol 2020;131:1975-1978.

ALS (dichotomous) when (1) progressive motor impairment, (2) UMN + LMN dysfunction in one body region or
LMN dysfunction in two body regions, and (3) investigations exclude other diseases. Pure LMN disease in two
regions (progressive muscular atrophy) therefore qualifies, consistent with the ``MND`` label.

The contract has no per-region UMN/LMN fields, so the number of LMN regions is *bounded*: the lower bound
is the larger of the clinically affected regions and ``emg_regions_denervated``; the upper bound adds the
two (the EMG regions might not overlap the clinical ones) plus every region that is still undecided. The
verdict uses criteria 1 and 2; criterion 3 is not recorded, and a project red-flag proxy for it is
reported without entering the verdict (criteria.md §3.4, §5 step 4).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import ARM_FIELDS, LEG_FIELDS, region_weak
from mmn_ddx.features.criteria._logic import Columns, Tri, any_of, is_true, tri, true_or_unknown
from mmn_ddx.features.criteria._registry import Categories, CriteriaSet

ALS_GOLD_COAST = CriteriaSet(
    id="als_gold_coast",
    title="Gold Coast 2020 amyotrophic lateral sclerosis",
    citation="Shefner JM et al. Clin Neurophysiol 2020;131:1975-1978.",
    notes=(
        "Region identity of UMN signs, clinical LMN signs and EMG denervation is not recorded: the number of "
        "LMN regions is bounded, and 'UMN and LMN in the same region' cannot be checked.",
        "Clinical LMN dysfunction = weakness in the limb plus atrophy anywhere (atrophy is not localised); the "
        "thoracic region is only counted through EMG.",
        "Criterion 3 (investigations exclude other diseases) is not recorded; the red-flag proxy shown is a "
        "project construct and does not enter the verdict.",
        "The revised El Escorial category is a coarse approximation ('possible or better').",
    ),
)
_element = ALS_GOLD_COAST.element
_LMN_FIELDS = ("bulbar_weakness", "muscle_atrophy", *ARM_FIELDS, *LEG_FIELDS, "emg_regions_denervated")


@_element("GCC 1", "Progressive motor impairment", fields=("course",), role="clinical")
def gc1_progressive_motor_impairment(c: Columns) -> Tri:
    """Criterion 1: progressive motor impairment documented by history or repeated examination."""
    return c.isin("course", T.ALS_COURSES)


@_element(
    "GCC 2",
    "Upper motor neuron dysfunction (pathological signs or brisk reflexes)",
    fields=("upper_motor_neuron_signs", "reflexes_affected_limbs", "reflexes_unaffected_limbs"),
    role="clinical",
)
def gc2_upper_motor_neuron_dysfunction(c: Columns) -> Tri:
    """UMN dysfunction: pathological reflexes, spasticity, ... or increased tendon reflexes (Gold Coast
    counts increased reflexes, which the contract keeps in the reflex fields)."""
    return any_of(
        c.flag("upper_motor_neuron_signs"),
        c.isin("reflexes_affected_limbs", T.ALS_BRISK_REFLEXES),
        c.isin("reflexes_unaffected_limbs", T.ALS_BRISK_REFLEXES),
    )


def _clinical_lmn_regions(c: Columns) -> list[Tri]:
    """Bulbar (bulbar weakness), cervical (arm weakness + atrophy), lumbosacral (leg weakness + atrophy)."""

    def compute() -> list[Tri]:
        atrophy = c.isin("muscle_atrophy", T.ALS_ATROPHY_PRESENT)
        arms = any_of(*(region_weak(c, f) for f in ARM_FIELDS))
        legs = any_of(*(region_weak(c, f) for f in LEG_FIELDS))
        return [c.flag("bulbar_weakness"), arms & atrophy, legs & atrophy]

    return c.cached("clinical_lmn_regions", compute)


def _lmn_regions_at_least(c: Columns, k: int) -> Tri:
    """True if the lower bound of LMN regions reaches k, False if even the upper bound stays below k."""
    regions = _clinical_lmn_regions(c)
    clinical_true = sum(is_true(r).astype(np.float64) for r in regions)
    clinical_unknown = sum(r.isna().astype(np.float64) for r in regions)
    emg = c.number("emg_regions_denervated")
    lower = np.fmax(clinical_true, emg)  # a missing EMG adds nothing to the lower bound
    emg_upper = np.nan_to_num(emg, nan=T.ALS_BODY_REGIONS)  # a missing EMG might show every region
    upper = np.minimum(T.ALS_BODY_REGIONS, clinical_true + clinical_unknown + emg_upper)
    return tri(lower >= k, (lower < k) & (upper >= k))


@_element("GCC 2", "LMN dysfunction in >= 2 body regions", fields=_LMN_FIELDS, role="clinical")
def gc2_lmn_two_regions(c: Columns) -> Tri:
    """Criterion 2, second arm: lower motor neuron dysfunction in at least two body regions."""
    return _lmn_regions_at_least(c, T.ALS_MIN_LMN_REGIONS)


@_element("GCC 2", "LMN dysfunction in >= 1 body region", fields=_LMN_FIELDS, role="clinical")
def gc2_lmn_one_region(c: Columns) -> Tri:
    """Criterion 2, first arm (with UMN dysfunction): lower motor neuron dysfunction in at least one region."""
    return _lmn_regions_at_least(c, T.ALS_MIN_LMN_REGIONS_WITH_UMN)


@_element(
    "GCC 3 (project proxy)",
    "No red flag for an ALS mimic (CB, sensory neuropathy, high anti-GM1, CSF protein >= 1 g/L)",
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


@ALS_GOLD_COAST.combiner
def categories(c: Columns, r: Mapping[str, Tri]) -> Categories:
    """met = criterion 1 and criterion 2 (UMN + LMN in >= 1 region, or LMN in >= 2 regions)."""
    criterion_2 = r["gc2_lmn_two_regions"] | (r["gc2_upper_motor_neuron_dysfunction"] & r["gc2_lmn_one_region"])
    return {"met": r["gc1_progressive_motor_impairment"] & criterion_2}


def el_escorial_proxy(r: Mapping[str, Tri]) -> Tri:
    """Revised El Escorial (Brooks 2000) needs UMN signs in every category; "UMN + LMN signs in one region" is
    already "possible". Without region identity the proxy is only "possible or better" (criteria.md §3.4):
    UMN dysfunction and LMN dysfunction in >= 1 region. No UMN signs -> not met; UMN signs without LMN
    evidence stay undecided (UMN signs alone in >= 2 regions would be "possible")."""
    return r["gc2_upper_motor_neuron_dysfunction"] & true_or_unknown(r["gc2_lmn_one_region"])
