"""Published rule-based diagnostic criteria on the patient-record contract (issue #3).

* EFNS/PNS 2010 MMN (definite / probable / possible) - :mod:`features.criteria.mmn_efns2010`
* EAN/PNS 2021 CIDP (CIDP / possible CIDP, six phenotypes) - :mod:`features.criteria.cidp_ean2021`
  (clinical criteria) and :mod:`features.criteria.cidp_ean2021_investigations` (conduction, supportive)
* Gold Coast 2020 ALS (+ coarse revised El Escorial proxy) - :mod:`features.criteria.als_gold_coast`
* the criteria.md §5 cascade -> MMN / MND / CIDP / MADSAM / unclassified / conflicting -
  :mod:`features.criteria.cascade`
* textbook vignettes for tests and demos - :mod:`features.criteria.examples`

Every element is one named function, three-valued (criteria.md §0.1): read strictly, missing data make it
"not assessable", never "not met" (the chart-review reading takes some unmentioned findings as absent).
All cut-offs live in :mod:`features.criteria.thresholds`.

``evaluate_criteria(frame)`` gives one verdict row per patient, ``explain_criteria(one_row_frame)`` the
verdicts with every element (JSON-ready; ``explain_criteria_batch`` for many rows at once),
``criteria_elements`` / ``criteria_categories`` the same logic as nullable boolean feature columns.
``evaluate_all`` is the shared core (every element, category and cascade step as three-valued arrays),
for callers such as serving that word many patients' verdicts themselves; ``evaluate_readings`` runs it
under both readings (``strict``, ``chart-review``: :data:`READINGS`, docs/criteria.md) reading the data once.
"""

from mmn_ddx.features.criteria._coverage import criteria_coverage, rule_based_coverage
from mmn_ddx.features.criteria._evaluate import (
    CRITERIA_FIELDS,
    CRITERIA_SETS,
    VERDICT_COLUMNS,
    Evaluation,
    criteria_categories,
    criteria_elements,
    evaluate_all,
    evaluate_criteria,
    evaluate_readings,
    first_met,
    first_met_codes,
    maps_to,
    undecided_before_met,
)
from mmn_ddx.features.criteria._explain import explain_criteria, explain_criteria_batch
from mmn_ddx.features.criteria._input import CriteriaInputError
from mmn_ddx.features.criteria._logic import READINGS, Reading
from mmn_ddx.features.criteria._registry import CriteriaSet, Element
from mmn_ddx.features.criteria._results import (
    CIDP_VARIANT_LABELS,
    CONFLICTING,
    NOT_ASSESSABLE,
    NOT_MET,
    RULE_BASED_LABELS,
    UNCLASSIFIED,
    CascadeFact,
    CriteriaVerdict,
    ElementResult,
    Status,
)
from mmn_ddx.features.criteria.cascade import STEPS
from mmn_ddx.features.criteria.thresholds import (
    CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L,
    CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L,
)

__all__ = [
    "CIDP_VARIANT_LABELS",
    "CONFLICTING",
    "CRITERIA_FIELDS",
    "CRITERIA_SETS",
    "CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L",
    "CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L",
    "NOT_ASSESSABLE",
    "NOT_MET",
    "READINGS",
    "RULE_BASED_LABELS",
    "STEPS",
    "UNCLASSIFIED",
    "VERDICT_COLUMNS",
    "CascadeFact",
    "CriteriaInputError",
    "CriteriaSet",
    "CriteriaVerdict",
    "Element",
    "ElementResult",
    "Evaluation",
    "Reading",
    "Status",
    "criteria_categories",
    "criteria_coverage",
    "criteria_elements",
    "evaluate_all",
    "evaluate_criteria",
    "evaluate_readings",
    "explain_criteria",
    "explain_criteria_batch",
    "first_met",
    "first_met_codes",
    "maps_to",
    "rule_based_coverage",
    "undecided_before_met",
]
