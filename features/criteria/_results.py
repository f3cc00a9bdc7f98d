"""Typed results of the rule-based criteria: what the CLI prints and the HTTP API returns as JSON.

One verdict per criteria set and patient, with every guideline element and its three-valued status, so a
reader can see *why* a category was (not) reached and which missing fields left it undecided.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["clinical", "exclusion", "electrodiagnostic", "supportive", "cascade"]
"""What an element is in its guideline (a cascade step is an element of the rule-based verdict)."""
Status = Literal["met", "not met", "not assessable"]
"""Three-valued status of an element or category; "not assessable" = Unknown because of nulls (§0.1)."""

MET: Status = "met"
NOT_MET: Status = "not met"
NOT_ASSESSABLE: Status = "not assessable"

MMN_VERDICTS: tuple[str, ...] = ("definite", "probable", "possible", NOT_MET, NOT_ASSESSABLE)
CIDP_VERDICTS: tuple[str, ...] = ("CIDP", "possible CIDP", NOT_MET, NOT_ASSESSABLE)
CIDP_VARIANTS: tuple[str, ...] = ("typical", "multifocal", "distal", "focal arm", "focal", "motor", "sensory")
ALS_VERDICTS: tuple[str, ...] = (MET, NOT_MET, NOT_ASSESSABLE)
EL_ESCORIAL_PROXY_VERDICTS: tuple[str, ...] = ("possible or better (approximation)", NOT_MET, NOT_ASSESSABLE)
UNCLASSIFIED = "unclassified"
CONFLICTING = "conflicting"
RULE_BASED_LABELS: tuple[str, ...] = ("MMN", "MND", "CIDP", "MADSAM", UNCLASSIFIED, CONFLICTING)
OTHER_CIDP_VARIANT = "other CIDP variant"
CIDP_VARIANT_LABELS: dict[str, str] = {
    "typical": "CIDP",
    "multifocal": "MADSAM",
    "focal arm": "MADSAM",
    **{v: OTHER_CIDP_VARIANT for v in ("distal", "focal", "motor", "sensory")},
}
"""EAN/PNS 2021 phenotype -> project label; multifocal CIDP is MADSAM / Lewis-Sumner syndrome, and so is focal
CIDP confined to an arm (criteria.md §2)."""


class ElementResult(BaseModel):
    """One guideline element evaluated for one patient."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Function name of the element, e.g. c1_two_nerve_territories.")
    reference: str = Field(description="Guideline element, e.g. 'C1', 'E8', 'motor (a)', 'GCC 2'.")
    description: str
    role: Role
    used_in_verdict: bool = Field(description="False for elements reported for information only.")
    status: Status
    fields_used: list[str]
    missing_fields: list[str] = Field(
        description="Null fields among fields_used, listed when the strict reading leaves the element not "
        "assessable (under chart review also when the reading took an unmentioned finding as absent).")


class CascadeFact(BaseModel):
    """Why the rule-based label is what it is, as facts (``serving.wording`` words them).

    ``blocked``: ``step`` (label ``label``) is met but the earlier ``blocked_by`` steps (id -> label),
    with another label, are not assessable, so the label is "conflicting". ``variant_outside_labels``:
    EAN/PNS 2021 ``variant`` CIDP (``verdict``) is met, a phenotype outside the four labels.
    """

    model_config = ConfigDict(frozen=True)

    code: Literal["blocked", "variant_outside_labels"]
    step: str | None = None
    label: str | None = None
    blocked_by: dict[str, str] = Field(default_factory=dict)
    variant: str | None = None
    verdict: str | None = None


class CriteriaVerdict(BaseModel):
    """One criteria set (or the combined cascade) for one patient."""

    model_config = ConfigDict(frozen=True)

    criteria: str = Field(description="mmn_efns2010 | cidp_ean2021 | als_gold_coast | rule_based")
    title: str
    citation: str
    verdict: str = Field(description="Highest category met, else 'not met' or 'not assessable'.")
    variant: str | None = Field(default=None, description="CIDP phenotype reaching the verdict.")
    maps_to: str | None = Field(
        default=None, description="Project label the verdict points to (MMN/MND/CIDP/MADSAM/other CIDP variant)."
    )
    el_escorial_proxy: str | None = Field(default=None, description="ALS only: coarse revised El Escorial proxy.")
    categories: dict[str, Status] = Field(description="Status of every diagnostic category, highest first.")
    missing_fields: list[str] = Field(
        description="Null fields of the elements the strict reading leaves undecided, listed when a category above "
        "the strict verdict (the cascade: a step before its deciding one) is undecided; supplying them may change "
        "the verdict, up or down. The same list in both readings: chart review reads some of them as absent to "
        "reach its verdict. Empty when the verdict cannot change."
    )
    elements: list[ElementResult]
    notes: list[str] = Field(description="Approximations forced by the data dictionary (the criteria set's own notes).")
    facts: list[CascadeFact] = Field(
        default_factory=list, description="Rule-based cascade only: why its label is what it is, as facts.")
    reading: Literal["strict", "chart-review"] = Field(
        default="strict", description="How the record was read: strict (an unknown never counts) or chart-review "
        "(an unmentioned exclusion or supportive finding is absent; docs/criteria.md).")
