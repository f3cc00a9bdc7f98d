"""Every number and value set used by the rule-based criteria, each with the guideline behind it.

One source of truth: the element functions in ``mmn_efns2010``, ``cidp_ean2021`` and ``als_gold_coast``
never contain a literal threshold, so a neurologist can check all cut-offs here in one place against
``/work/shared/clinical/criteria.md`` (the operationalisation this package follows) and the primary papers:

* EFNS/PNS 2010: Joint Task Force of the EFNS and the PNS, guideline on management of multifocal motor
  neuropathy, first revision. J Peripher Nerv Syst 2010;15:295-301.
* EAN/PNS 2021: Van den Bergh PYK et al., EAN/PNS guideline on CIDP, second revision.
  Eur J Neurol 2021;28:3556-3583.
* Gold Coast 2020: Shefner JM et al., a proposal for new diagnostic criteria for ALS.
  Clin Neurophysiol 2020;131:1975-1978.
* Breiner 2019: updated CSF total protein reference values (age-partitioned upper limits).

Comparison direction matters as much as the number, so each constant says whether the guideline bound is
strict ("more than") or inclusive ("at least").
"""

from __future__ import annotations

from typing import Final

# --- MRC grades (criteria.md §0.2) ---------------------------------------------------------------------
MRC_NORMAL: Final = 5.0
"""MRC grade 5 = normal power; a region is weak when its weakest muscle is graded < 5."""

MRC_MIN: Final = 0.0
"""MRC grade 0 = no contraction: the lowest a null grade could be."""

MRC_ASYMMETRY_GRADE_LIMIT: Final = 3.0
"""EFNS/PNS 2010 footnote to C1: the left-right difference needed depends on whether the weaker side is
graded above 3 (antigravity strength) or at most 3."""

MRC_ASYMMETRY_DIFF_ABOVE_LIMIT: Final = 1.0
"""EFNS/PNS 2010 C1: >= 1 MRC grade left-right difference when strength is > 3."""

MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT: Final = 2.0
"""EFNS/PNS 2010 C1: >= 2 MRC grades left-right difference when strength is <= 3."""

# --- course and duration ---------------------------------------------------------------------------------
MMN_COURSES: Final = ("progressive", "stepwise")
"""EFNS/PNS 2010 C1: slowly progressive or stepwise progressive."""

MMN_MIN_DURATION_MONTHS: Final = 1.0
"""EFNS/PNS 2010 C1: weakness for *more than* one month (strict: 1.0 month is not enough)."""

CIDP_COURSES: Final = ("progressive", "stepwise", "relapsing")
"""EAN/PNS 2021 clinical criteria: progressive or relapsing (stepwise is a form of progression)."""

CIDP_MIN_DURATION_MONTHS: Final = 1.85
"""EAN/PNS 2021: developing over *at least* 8 weeks; 8 weeks = 1.85 months as fixed in criteria.md §2.7
(inclusive bound)."""

ALS_COURSES: Final = ("progressive", "stepwise")
"""Gold Coast 2020 criterion 1: progressive motor impairment (a relapsing course is not progression)."""

# --- EFNS/PNS 2010 MMN -----------------------------------------------------------------------------------
MMN_MIN_NERVE_TERRITORIES: Final = 2
"""EFNS/PNS 2010 C1: motor involvement in the territory of at least two individual nerves; signs confined to
one nerve territory allow at most "possible MMN"."""

MMN_SINGLE_NERVE_TERRITORY: Final = 1
"""EFNS/PNS 2010 possible MMN, second route: clinical signs in only one nerve territory."""

MMN_SENSORY_LOSS_ALLOWED: Final = ("none", "minor_vibration")
"""EFNS/PNS 2010 C2 / E10: no objective sensory abnormality apart from minor vibration loss in the legs
(contract value ``minor_vibration``)."""

MMN_DEFINITE_CB_NERVES: Final = 1
"""EFNS/PNS 2010 definite MMN: definite motor conduction block (N1) in at least one nerve."""

MMN_PROBABLE_CB_NERVES: Final = 2
"""EFNS/PNS 2010 probable MMN: probable conduction block (N2) in at least two nerves..."""

MMN_PROBABLE_CB_NERVES_WITH_SUPPORT: Final = 1
"""...or in one nerve together with supportive criteria (EFNS/PNS 2010 probable MMN)."""

MMN_POSSIBLE_CB_NERVES: Final = 1
"""EFNS/PNS 2010 possible MMN (one nerve territory): definite or probable CB (N1 or N2) in one nerve."""

MMN_MIN_SUPPORTIVE_FOR_PROBABLE: Final = 2
"""EFNS/PNS 2010 probable MMN: probable CB in one nerve needs at least two of the supportive P1-P4."""

ANTI_GM1_POSITIVE_RATIO: Final = 1.0
"""EFNS/PNS 2010 P1: elevated IgM anti-GM1; the field is result / laboratory cut-off, so >= 1 is positive."""

ANTI_GM1_HIGH_TITRE_RATIO: Final = 4.0
"""High-titre IgM anti-GM1: >= 4 x the laboratory cut-off (data dictionary, ``anti_gm1_igm_ratio``; Taylor 1996)."""

MMN_CSF_PROTEIN_BELOW_G_PER_L: Final = 1.0
"""EFNS/PNS 2010 P2: increased CSF protein, but *below* 1 g/L (strict)."""

# --- CSF (EAN/PNS 2021 supportive criterion; also MMN P2) ------------------------------------------------
CSF_AGE_LIMIT_YEARS: Final = 50.0
"""Breiner 2019 age partition: the lower upper-limit applies up to and including age 50."""

CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L: Final = 0.50
"""Breiner 2019: CSF protein upper reference limit 0.50 g/L at age <= 50; elevated means *above* it."""

CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L: Final = 0.60
"""Breiner 2019: CSF protein upper reference limit 0.60 g/L above age 50; elevated means *above* it."""

CSF_CELLS_BELOW_PER_UL: Final = 10.0
"""EAN/PNS 2021 supportive CSF criterion: leucocytes *below* 10/uL (strict)."""

# The age these limits are read at, the age at work-up (onset + duration / 12, criteria.md §0.2), is defined
# once in the data layer (``mmn_ddx.data.workup_age``): the generator writes ``csf_protein_raised`` at it too.

# --- EAN/PNS 2021 CIDP -----------------------------------------------------------------------------------
CIDP_STRONG_NERVES: Final = 2
"""EAN/PNS 2021 motor conduction criteria "strongly supportive": the abnormality in at least two nerves."""

CIDP_WEAK_NERVES: Final = 1
"""EAN/PNS 2021 motor conduction criteria "weakly supportive": the abnormality in only one nerve."""

CIDP_MULTIFOCAL_MIN_TERRITORIES: Final = 2
"""Multifocal CIDP: weakness in a multifocal pattern = in at least two nerve territories (criteria.md §2.7)."""

CIDP_MULTIFOCAL_MIN_LIMBS: Final = 2
"""Multifocal CIDP: "in more than one limb"."""

CIDP_FOCAL_LIMBS: Final = 1
"""Focal CIDP: sensory loss and weakness "in only one limb"."""

CIDP_SENSORY_ABNORMAL_NERVES: Final = 2
"""EAN/PNS 2021 sensory conduction: abnormalities in two nerves (CIDP and possible CIDP, criteria.md §2.6)."""

CIDP_MOTOR_VARIANT_NORMAL_SENSORY_NERVES: Final = 4
"""EAN/PNS 2021 motor CIDP: normal sensory conduction in four nerves."""

CIDP_MIN_SUPPORTIVE_FOR_UPGRADE: Final = 2
"""EAN/PNS 2021: possible CIDP is upgraded to CIDP with at least two supportive criteria."""

CIDP_REFLEXES_LOW: Final = ("absent", "reduced")
"""EAN/PNS 2021 typical CIDP: absent or reduced tendon reflexes in all limbs (also MMN S4)."""

CIDP_TYPICAL_SENSORY_LOSS: Final = ("symmetric",)
"""Typical/distal CIDP sensory involvement of >= 2 limbs: proxy ``sensory_loss == symmetric`` (criteria.md §2.7)."""

CIDP_MULTIFOCAL_SENSORY_LOSS: Final = ("multifocal",)
"""Multifocal/focal CIDP: sensory loss in a multifocal pattern (criteria.md §2.7)."""

CIDP_MOTOR_VARIANT_SENSORY_LOSS: Final = ("none",)
"""Motor CIDP: motor signs without sensory involvement (EAN/PNS 2021 variants)."""

SENSORY_DEFICIT_VALUES: Final = ("multifocal", "symmetric")
"""``sensory_deficit_present`` helper (criteria.md §0.2); also the sensory-CIDP sign."""

IMMUNOTHERAPY_IMPROVED: Final = "improved"
"""EAN/PNS 2021 supportive criterion / EFNS/PNS 2010 P4: objective improvement after immunotherapy."""

# --- Gold Coast 2020 ALS ---------------------------------------------------------------------------------
ALS_MIN_LMN_REGIONS: Final = 2
"""Gold Coast 2020 criterion 2: lower motor neuron dysfunction in at least two body regions..."""

ALS_MIN_LMN_REGIONS_WITH_UMN: Final = 1
"""...or upper plus lower motor neuron dysfunction in at least one body region."""

ALS_BODY_REGIONS: Final = 4
"""Bulbar, cervical, thoracic, lumbosacral (all three ALS criteria sets)."""

ALS_ATROPHY_PRESENT: Final = ("mild", "marked", "present")
"""Gold Coast 2020 clinical LMN dysfunction: weakness *and* wasting (atrophy not localised in the contract);
``present`` is wasting stated without a grade (schema version 2), at least mild."""

ALS_PRESERVED_REFLEXES: Final = ("normal", "brisk")
"""Gold Coast 2020 UMN dysfunction: "the presence of a reflex in a clinically weak and wasted muscle" - a
reflex of the weak limbs that is not reduced or absent, while muscles are wasted."""

ALS_MIMIC_ANTI_GM1_HIGH_TITRE_RATIO: Final = ANTI_GM1_HIGH_TITRE_RATIO
"""Project proxy for Gold Coast criterion 3 (not published): high-titre anti-GM1 (>= 4 x cut-off) is a
red flag for an ALS mimic (criteria.md §3.4)."""

ALS_MIMIC_CSF_PROTEIN_G_PER_L: Final = 1.0
"""Project proxy for Gold Coast criterion 3: CSF protein >= 1 g/L is a red flag (criteria.md §3.4)."""

ALS_MIMIC_SENSORY_ABNORMAL_NERVES: Final = 2
"""Project proxy for Gold Coast criterion 3: >= 2 abnormal sensory nerves with objective sensory loss."""
