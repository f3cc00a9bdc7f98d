"""Groups of generator parameters, and a world made of one world's parameters with some groups taken from
another (shared by ``ceiling_gap.py --drawn-only`` and ``world_fit_oracle.py``; run as a sibling module).

Why: the generator has ~850 parameters; asking which of them matter for a gap (the randomised model's cost on
the literature world, or what a world fit must recover of a real cohort's world) needs a few named groups
and one way to swap them."""

from __future__ import annotations

import copy
from typing import Any

from mmn_ddx.data import World
from mmn_ddx.data.cohort_model import cohort_model

FINDING_KINDS = {
    "bernoulli_findings": ("bernoulli", "bernoulli_given"),
    "categorical_findings": ("categorical",),
    "continuous_findings": ("truncnorm", "lognormal", "lognormal_mixture", "shifted_poisson", "uniform_int"),
    "mrc_findings": ("mrc",),
}
"""The findings other than the nerve counts, by their distribution's kind in ``priors.yaml``."""
PARAMETER_GROUPS = ("reporting", "phenotypes", "stages", "nerve_counts", "other_findings", "mrc_tables",
                    *FINDING_KINDS)
"""The reporting model with the test-ordering blocks, the phenotype weights, the stage weights and durations,
the nerve counts' per-nerve rates, every other finding's parameters (and those by kind), the MRC grade tables
with the atypical rates."""


NOT_FITTED_GROUPS = ("strength_rates", "poisson_means", "nerve_conduction_rates", "nerve_counts",
                     "conditional_rates", "mrc_p_weak", "mrc_grades", "atypical", "reporting_records", "test_rates")
"""What ``world fit`` keeps at the prior (docs/world_fit.md, "What is not fitted"), one group each: the Bernoulli and
categorical rates of the strength and nerve-conduction sections, the weak territories' Poisson means, the
binomial nerve counts, the conditional rates (UMN signs given the reflexes), the MRC ``p_weak`` and grade
tables (each diagnosis' ``grades``, which alias ``mrc_grade_tables`` in ``priors.yaml``: both are taken), the
atypical rates, the reporting model but its fitted document mix, and the tests' rates (``blocks``). The nerve
counts are fitted now, but only from the records that write a count and its nerves at risk
(``data/_count_rates.py``): the group stays, to measure what that leaves."""
_SECTION_RATES = {"strength_rates": "strength", "nerve_conduction_rates": "nerve_conduction"}
_RATE_KINDS = ("bernoulli", "categorical")


def _section_fields(section: str) -> set[str]:
    return set(next(s.fields for s in cohort_model().sections if s.name == section))


def group_paths(group: str, tree: dict[str, Any]) -> list[tuple[str, ...]]:
    """The key paths in ``tree`` (``priors.yaml`` format) of one group's parameters."""
    diseases = tree["diseases"]
    fields = {d: diseases[d]["fields"] for d in diseases}
    if group in _SECTION_RATES:
        mine = _section_fields(_SECTION_RATES[group])
        return [("diseases", d, "fields", f) for d in diseases for f, spec in fields[d].items()
                if f in mine and spec.get("kind") in _RATE_KINDS]
    if group in ("poisson_means", "conditional_rates"):
        kind = "shifted_poisson" if group == "poisson_means" else "bernoulli_given"
        return [("diseases", d, "fields", f) for d in diseases for f, spec in fields[d].items()
                if spec.get("kind") == kind]
    if group in ("mrc_p_weak", "mrc_grades"):
        key = "p_weak" if group == "mrc_p_weak" else "grades"
        tables = [("mrc_grade_tables",)] if group == "mrc_grades" else []
        return tables + [("diseases", d, "fields", "mrc", key) for d in diseases]
    if group == "atypical":
        return [("atypical",)]
    if group == "reporting_records":
        return [("reporting", key) for key in tree["reporting"] if key != "weights"]
    if group == "test_rates":
        return [("blocks",)]
    if group == "reporting":
        return [("reporting",), ("blocks",)]
    if group == "mrc_tables":  # each diagnosis' ``grades`` aliases a table: without them the tables would not move
        return [("mrc_grade_tables",), ("atypical",), *(("diseases", d, "fields", "mrc", "grades") for d in diseases)]
    if group in ("phenotypes", "stages"):
        return [("diseases", d, "phenotypes" if group == "phenotypes" else "stage") for d in diseases]
    if group in FINDING_KINDS:
        kinds = FINDING_KINDS[group]
        return [("diseases", d, "fields", f) for d in diseases for f, spec in diseases[d]["fields"].items()
                if spec.get("kind") in kinds]
    if group not in ("nerve_counts", "other_findings"):
        raise ValueError(f"unknown parameter group {group!r}; expected one of {PARAMETER_GROUPS + NOT_FITTED_GROUPS}")
    counts = group == "nerve_counts"
    return [("diseases", d, "fields", f) for d in diseases for f, spec in diseases[d]["fields"].items()
            if (spec.get("kind") == "binomial") == counts]


def with_groups_from(base: World, source: World, groups: tuple[str, ...], name: str) -> World:
    """``base`` with the parameters of ``groups`` taken from ``source`` (nested counts stay consistent: a
    count and its parent are in the same group)."""
    tree = copy.deepcopy(base.parameters)
    for group in groups:
        for *head, last in group_paths(group, base.parameters):
            node, taken = tree, source.parameters
            for key in head:
                node, taken = node[key], taken[key]
            node[last] = copy.deepcopy(taken[last])
    return World(tree, name)
