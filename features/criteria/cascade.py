"""Combined rule-based classifier: the criteria.md §5 cascade (a project construct, not published).

The published sets are not mutually exclusive (Gold Coast is unspecific against mimics; MADSAM can look
like MMN), so they are tried in a fixed order and the first one met gives the label:

1. EFNS/PNS 2010 MMN definite or probable         -> MMN
2. EAN/PNS 2021 multifocal CIDP (CIDP or possible) -> MADSAM (and focal CIDP confined to an arm, criteria.md §2)
3. EAN/PNS 2021 typical CIDP (CIDP or possible)    -> CIDP
4. Gold Coast criteria 1, 2 and 3                 -> MND (criterion 3: no block, demyelination, anti-GM1 or
                                                      immunotherapy response, so never MND while the record
                                                      shows a demyelinating neuropathy; docs/criteria.md)
5. EFNS/PNS 2010 possible MMN                      -> MMN
6. otherwise                                        -> "unclassified" (abstention, scored separately)

Three-valued steps make one more outcome necessary. A step is only skipped when it is known *not* met;
if a step is met while an earlier step with a *different* label is not assessable (its data are missing),
the data fit a lower-priority label but cannot rule out a higher-priority one, so the order the cascade
relies on cannot be applied: the label is **"conflicting"**. Example (chart-review reading): pure
lower-motor-neuron signs in two regions without nerve conduction studies: chart review reads the unmentioned
block as absent, so Gold Coast is met, while MMN (which needs a recorded block) is not assessable. An earlier
undecided step with the *same* label (possible MMN met, MMN definite/probable undecided) is no conflict.
Two steps both *met* never conflict: the cascade order decides, as designed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mmn_ddx.features.criteria._logic import SMALL, Tri, any_of, first_true, masks, row_truths
from mmn_ddx.features.criteria._registry import Categories
from mmn_ddx.features.criteria._results import CONFLICTING, UNCLASSIFIED


@dataclass(frozen=True)
class CascadeStep:
    id: str
    description: str
    label: str
    criteria: str
    """The criteria set the step reads (its missing fields explain an undecided step)."""


STEPS: tuple[CascadeStep, ...] = (
    CascadeStep("step1_mmn_definite_or_probable", "EFNS/PNS 2010 MMN definite or probable", "MMN", "mmn_efns2010"),
    CascadeStep("step2_multifocal_cidp", "EAN/PNS 2021 multifocal or arm-confined focal CIDP (CIDP or possible CIDP)",
                "MADSAM", "cidp_ean2021"),
    CascadeStep("step3_typical_cidp", "EAN/PNS 2021 typical CIDP (CIDP or possible CIDP)", "CIDP", "cidp_ean2021"),
    CascadeStep("step4_gold_coast", "Gold Coast 2020 criteria 1, 2 and 3", "MND", "als_gold_coast"),
    CascadeStep("step5_mmn_possible", "EFNS/PNS 2010 possible MMN", "MMN", "mmn_efns2010"),
)


def cascade_steps(mmn: Categories, cidp: Categories, als: Categories) -> dict[str, Tri]:
    """Each step's three-valued status, from the categories of the three criteria sets."""
    return {
        "step1_mmn_definite_or_probable": mmn["definite"] | mmn["probable"],
        "step2_multifocal_cidp": any_of(cidp["multifocal: CIDP"], cidp["multifocal: possible CIDP"],
                                        cidp["focal arm: CIDP"], cidp["focal arm: possible CIDP"]),
        "step3_typical_cidp": cidp["typical: CIDP"] | cidp["typical: possible CIDP"],
        "step4_gold_coast": als["met"],
        "step5_mmn_possible": mmn["possible"],
    }


_LABELS = np.array([*(step.label for step in STEPS), UNCLASSIFIED], dtype=object)
"""The label of each step, then (position -1: no step met) "unclassified"."""
_BLOCKED_BY = np.array([[i < j and STEPS[i].label != step.label for i in range(len(STEPS))]
                        for j, step in enumerate(STEPS)] + [[False] * len(STEPS)])
"""Row ``j``: the earlier steps with another label, any of which undecided makes step ``j``'s label
"conflicting" (last row, read at position -1: none)."""
_LABELS_LIST, _BLOCKED_BY_LISTS = _LABELS.tolist(), _BLOCKED_BY.tolist()
"""The same as Python lists, read row by row for one patient."""


def rule_based_labels(steps: Mapping[str, Tri]) -> np.ndarray:
    """MMN / MND / CIDP / MADSAM / "unclassified" / "conflicting" per patient (object array): the first step met
    gives the label, "conflicting" if an earlier step with another label is undecided. A few array operations
    for any number of patients (one patient's cost is their count)."""
    statuses = [steps[step.id] for step in STEPS]
    first, _ = first_true(statuses)  # -1 where no step is met
    if len(first) <= SMALL:  # one patient: row by row on the steps' truths, without numpy calls
        truths = [row_truths(status) for status in statuses]
        return np.array([
            CONFLICTING if any(blocked and not (t[i] or f[i]) for blocked, (t, f) in zip(_BLOCKED_BY_LISTS[j], truths,
                                                                                         strict=True))
            else _LABELS_LIST[j] for i, j in enumerate(first.tolist())], dtype=object)
    true, false = masks(statuses)
    labels = _LABELS[first]
    labels[(_BLOCKED_BY[first] & ~(true | false).T).any(axis=1)] = CONFLICTING
    return labels


def blocking_steps(step_status: Mapping[str, str]) -> tuple[CascadeStep, list[CascadeStep]] | None:
    """For one patient: the met step that a "conflicting" label comes from, and the undecided earlier steps
    with another label that block it (facts for the explanation; None when there is no conflict)."""
    undecided: list[CascadeStep] = []
    for step in STEPS:
        if step_status[step.id] == "met":
            blocking = [s for s in undecided if s.label != step.label]
            return (step, blocking) if blocking else None
        if step_status[step.id] == "not assessable":
            undecided.append(step)
    return None
