"""Findings written in words (the contract v2 qualitative fields), as a deterministic function of the
latent quantitative finding.

Real records often say "multiple conduction blocks", "demyelinating features", "anti-GM1 positive" or
"asymmetric distal weakness" instead of counts, titres and grades (issue #12). The generator writes a
reported section in numbers, in words or both (``reporting.qualitative`` in ``priors.yaml``). Every
word is computed from the same latent values the numbers come from, so a record that has both agrees
by construction with the contract's cross-field rules, and the exact posterior can sum each word over
the latent values consistent with it (``data._qualitative_likelihood``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from mmn_ddx.data.contract import DIAGNOSES, MRC_FIELDS, fields
from mmn_ddx.data.kleene import Tri
from mmn_ddx.data.latents import STAGE_KEYS, ReducedGrid, load_priors, resolve
from mmn_ddx.data.workup_age import WORKUP_AGE_FIELDS, workup_age_at_most

STYLES = ("numbers", "words", "both")
BLOCK_WORD = "motor_conduction_block"
BLOCK_WORD_COUNTS = ("nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb")
"""A nerve with a block: EFNS/PNS definite or probable (disjoint by definition), or EAN/PNS 2021; the
number of blocked nerves is at least max(definite + probable, EAN/PNS), the count the word states."""
TREE_WORDS = {"sensory_ncs": "sensory_nerves_abnormal", "motor_ncs_pattern": "nerves_any_demyelinating",
              BLOCK_WORD: "nerves_any_demyelinating"}
"""Words about nerve counts, with the count (in the nested count tree) they are summed over."""
CSF_WORD = "csf_protein_raised"
VALUE_WORDS = {"anti_gm1_igm": "anti_gm1_igm_ratio", CSF_WORD: "csf_protein_g_per_l"}
"""Words about one continuous finding: positive = ratio >= 1; raised = above the age-partitioned limit at the
age at work-up (onset + symptom duration, ``data.workup_age``)."""
LIMB_WORDS = {"reflexes_arms": "arms", "reflexes_legs": "legs"}
"""Reflexes by limb: each the affected- or the unaffected-limb reflexes, by which limbs are affected."""
LIMB_ROLES = ("reflexes_affected_limbs", "reflexes_unaffected_limbs")
STRENGTH_WORDS = ("weakness_symmetry", "weakness_predominance", "weak_arms", "weak_legs")
ATROPHY = "muscle_atrophy"


def spec() -> dict[str, Any]:
    """The ``reporting.qualitative`` part of ``priors.yaml``."""
    return load_priors()["reporting"]["qualitative"]


@cache
def word_fields() -> tuple[str, ...]:
    return tuple(word for section in spec()["sections"].values() for word in section["words"])


def code(name: str, value: str) -> float:
    """The float code of a category value (its index in the contract's value list)."""
    return float((fields()[name].values or ()).index(value))


def per_document(key: str, grid: ReducedGrid) -> np.ndarray:
    """(R,) a per-document rate of the qualitative spec, on the reduced grid."""
    return np.array(spec()[key], dtype=float)[grid.document]


def axonal_loss(grid: ReducedGrid) -> np.ndarray:
    """(R,) P(axonal loss on motor conduction | diagnosis, phenotype, stage)."""
    rates = spec()["axonal_loss"]
    return np.array([float(resolve(rates[DIAGNOSES[d]], p, STAGE_KEYS[s]))
                     for d, p, s in zip(grid.diagnosis, grid.phenotype, grid.stage, strict=True)])


@dataclass(frozen=True)
class Style:
    """One way a section is written: which of its fields are never written down in that style."""

    name: str
    weight: np.ndarray          # (R,) P(style | document)
    silenced: frozenset[str]


def section_styles(section: str, grid: ReducedGrid) -> list[Style]:
    """The styles of a section (one plain style for a section without words), zero-weight ones dropped."""
    sections = spec()["sections"]
    if section not in sections:
        return [Style("numbers", np.ones(len(grid)), frozenset())]
    s = sections[section]
    numbers, words = frozenset(s["numbers"]), frozenset(s["words"])
    silenced = {"numbers": words, "words": numbers, "both": frozenset()}
    styles = [Style(name, np.array(s["style"][name], dtype=float)[grid.document], silenced[name]) for name in STYLES]
    total = sum(style.weight for style in styles)
    assert np.allclose(total, 1.0), f"{section}: style probabilities must sum to 1 per document"
    return [style for style in styles if style.weight.max() > 0]


# --- the words, from the latent values (float codes; NaN never occurs in latent values) -------------
def sensory_ncs(abnormal: np.ndarray) -> np.ndarray:
    """'abnormal' when at least one sensory nerve is abnormal."""
    return np.where(abnormal >= 1, code("sensory_ncs", "abnormal"), code("sensory_ncs", "normal"))


def motor_ncs_pattern(demyelinating: np.ndarray, axonal: np.ndarray) -> np.ndarray:
    """normal / axonal / demyelinating / mixed from the demyelinating count (>= 1 nerve) and axonal loss."""
    names = np.array([["normal", "axonal"], ["demyelinating", "mixed"]])
    words = names[(demyelinating >= 1).astype(int), axonal.astype(int)]
    return np.array([code("motor_ncs_pattern", w) for w in words.ravel()]).reshape(words.shape)


def block_class(definite: np.ndarray, probable: np.ndarray, cidp: np.ndarray) -> np.ndarray:
    """0, 1 or 2 (two or more) nerves with a block."""
    return np.minimum(np.maximum(definite + probable, cidp), 2)


def motor_conduction_block(definite: np.ndarray, probable: np.ndarray, cidp: np.ndarray,
                           uncounted: np.ndarray) -> np.ndarray:
    """none / single / multiple from the block counts; 'present' where a found block is not counted."""
    k = block_class(definite, probable, cidp)
    counted = np.where(k == 2, code(BLOCK_WORD, "multiple"), code(BLOCK_WORD, "single"))
    found = np.where(uncounted, code(BLOCK_WORD, "present"), counted)
    return np.where(k == 0, code(BLOCK_WORD, "none"), found)


def anti_gm1_igm(ratio: np.ndarray) -> np.ndarray:
    """'positive' when the ratio to the laboratory's cut-off is at least 1 (the contract's agreement rule)."""
    return np.where(ratio >= 1.0, code("anti_gm1_igm", "positive"), code("anti_gm1_igm", "negative"))


def csf_age_limit_years() -> float:
    """The age up to which the lower CSF protein limit applies ([Breiner 2019])."""
    return float(spec()["csf_protein_upper_limit"]["age_limit_years"])


def csf_lower_limit_applies(onset: np.ndarray, duration_months: np.ndarray) -> Tri:
    """The lower CSF protein limit applies: age at work-up at most the age limit ([Breiner 2019]; the age the
    criteria read it at, :func:`data.workup_age.workup_age_at_most`); Unknown for a null duration and an onset
    at most the limit."""
    return workup_age_at_most(onset, duration_months, csf_age_limit_years())


def csf_upper_limit(young: np.ndarray | bool) -> np.ndarray:
    """Upper limit of CSF protein, g/L, where the lower limit applies (``young``) or not ([Breiner 2019])."""
    limit = spec()["csf_protein_upper_limit"]
    return np.where(young, limit["up_to_age_limit"], limit["above_age_limit"])


def csf_protein_raised(protein: np.ndarray, young: np.ndarray | bool) -> np.ndarray:
    """'raised': above the upper limit (strictly, as the criteria read it)."""
    return (protein > csf_upper_limit(young) + 1e-9).astype(float)


def limbs_affected(diagnosis: np.ndarray, onset: np.ndarray) -> dict[str, np.ndarray]:
    """limb ('arms', 'legs') -> (n,) bool: involved, given the diagnosis index and the onset region."""
    spec_ = spec()["affected_limbs"]
    out = {limb: np.zeros(len(onset), dtype=bool) for limb in LIMB_WORDS.values()}
    for i, (d, o) in enumerate(zip(diagnosis, onset, strict=True)):
        for limb in spec_.get(DIAGNOSES[d], spec_["default"])[o]:
            out[limb][i] = True
    return out


def reflexes_by_limb(affected: np.ndarray, unaffected: np.ndarray,
                     involved: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """reflexes_arms / reflexes_legs: the affected-limb reflexes where the limb is involved."""
    return {word: np.where(involved[limb], affected, unaffected) for word, limb in LIMB_WORDS.items()}


def pair_asymmetric(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """EFNS/PNS 2010 asymmetry of a left/right pair of MRC grades."""
    rule = spec()["asymmetry"]
    weaker, diff = np.minimum(left, right), np.abs(left - right)
    above = weaker > rule["grade_limit"]
    return np.where(above, diff >= rule["difference_above_limit"], diff >= rule["difference_at_or_below_limit"])


def strength_words(grades: np.ndarray) -> dict[str, np.ndarray]:
    """The four strength words from the eight MRC grades ((n, 8), ``MRC_FIELDS`` order: region-major,
    left then right). Predominance is distal/proximal when only that level has weak regions, both when
    both levels do, and unwritten (NaN) without weakness."""
    weak = grades < 5
    asymmetric = np.zeros(len(grades), dtype=bool)
    for j in range(0, len(MRC_FIELDS), 2):
        asymmetric |= pair_asymmetric(grades[:, j], grades[:, j + 1])
    proximal = weak[:, [0, 1, 4, 5]].any(axis=1)
    distal = weak[:, [2, 3, 6, 7]].any(axis=1)
    any_weak = proximal | distal
    arms = weak[:, [0, 2]].any(axis=1).astype(int) + weak[:, [1, 3]].any(axis=1).astype(int)
    legs = weak[:, [4, 6]].any(axis=1).astype(int) + weak[:, [5, 7]].any(axis=1).astype(int)
    symmetry = np.where(~any_weak, 0.0, np.where(asymmetric, 2.0, 1.0))  # no_weakness, symmetric, asymmetric
    predominance = np.where(~any_weak, np.nan, np.where(distal & proximal, 2.0, np.where(distal, 0.0, 1.0)))
    return {"weakness_symmetry": symmetry, "weakness_predominance": predominance,
            "weak_arms": arms.astype(float), "weak_legs": legs.astype(float)}


assert [fields()[w].values for w in STRENGTH_WORDS] == [
    ("no_weakness", "symmetric", "asymmetric"), ("distal", "proximal", "both"), ("none", "one", "both"),
    ("none", "one", "both")], "strength_words codes follow the dictionary's value order"


# --- generator hooks ----------------------------------------------------------------------------------
def write_words(values: dict[str, np.ndarray], r: np.ndarray, grid: ReducedGrid, rng: np.random.Generator,
                complete: bool, onset: np.ndarray) -> None:
    """Add every word, computed from the latent values, to ``values`` (in place); ``onset``: the latent
    onset region. A complete work-up counts every block it finds; other documents may state a block
    without counting it."""
    involved = limbs_affected(grid.diagnosis[r], onset)
    affected, unaffected = (values[role] for role in LIMB_ROLES)
    values.update(reflexes_by_limb(affected, unaffected, involved))
    axonal = rng.random(len(r)) < axonal_loss(grid)[r]
    uncounted = (rng.random(len(r)) < per_document("uncounted_block", grid)[r]) & (not complete)
    values["sensory_ncs"] = sensory_ncs(values["sensory_nerves_abnormal"])
    values["motor_ncs_pattern"] = motor_ncs_pattern(values["nerves_any_demyelinating"], axonal)
    definite, probable, cidp = (values[c] for c in BLOCK_WORD_COUNTS)
    values[BLOCK_WORD] = motor_conduction_block(definite, probable, cidp, uncounted)
    values["anti_gm1_igm"] = anti_gm1_igm(values["anti_gm1_igm_ratio"])
    onset_age, duration = (values[f] for f in WORKUP_AGE_FIELDS)
    young = csf_lower_limit_applies(onset_age, duration).true  # latent values: never Unknown
    values[CSF_WORD] = csf_protein_raised(values[VALUE_WORDS[CSF_WORD]], young)
    values.update(strength_words(np.stack([values[name] for name in MRC_FIELDS], axis=1)))


def ungrade_atrophy(values: dict[str, np.ndarray], r: np.ndarray, grid: ReducedGrid,
                    rng: np.random.Generator) -> None:
    """Wasting stated without a grade: mild or marked becomes 'present' at the document's rate (in place)."""
    x = values[ATROPHY]
    graded = np.isin(x, [code(ATROPHY, "mild"), code(ATROPHY, "marked")])
    ungraded = graded & (rng.random(len(r)) < per_document("ungraded_atrophy", grid)[r])
    values[ATROPHY] = np.where(ungraded, code(ATROPHY, "present"), x)


def draw_silenced(section: str, r: np.ndarray, grid: ReducedGrid, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """For one reported section: field -> (n,) True where the patient's record style leaves it unwritten."""
    styles = section_styles(section, grid)
    if len(styles) == 1 and not styles[0].silenced:
        return {}
    cdf = np.cumsum(np.stack([style.weight[r] for style in styles], axis=1), axis=1)
    chosen = (rng.random(len(r))[:, None] > cdf[:, :-1]).sum(axis=1)
    out: dict[str, np.ndarray] = {}
    for k, style in enumerate(styles):
        for name in style.silenced:
            out[name] = out.get(name, np.zeros(len(r), dtype=bool)) | (chosen == k)
    return out
