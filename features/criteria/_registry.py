"""Criterion elements and criteria sets: the named, documented building blocks of every verdict.

An element is one guideline line (e.g. EFNS/PNS 2010 C1 "territory of at least two nerves") written as a
small function of the cohort's columns. Registering it with :meth:`CriteriaSet.element` records its
guideline reference, the contract fields it reads and whether it enters the verdict, so that the
explanation of a verdict lists exactly the lines of the guideline, in order, with their status.

Each element stays a plain public function too: ``element(frame)`` returns a pandas ``boolean`` Series
(index of the frame, NA = not assessable), which is what a neurologist or a test calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from mmn_ddx.data import fields, read_frame
from mmn_ddx.features.criteria._logic import Columns, Reading, Tri
from mmn_ddx.features.criteria._results import Role

ElementFn = Callable[[Columns], Tri]
Unmentioned = Literal["undecided", "absent finding: met", "absent finding: not met"]
"""What the chart-review reading makes of an element the record cannot decide (docs/criteria.md):
``absent finding: met`` for an element stating that a finding is absent (every exclusion, "no sensory loss"),
``absent finding: not met`` for a supportive finding, ``undecided`` (as in the strict reading) otherwise."""
_UNMENTIONED_BY_ROLE: dict[str, Unmentioned] = {
    "exclusion": "absent finding: met",
    "supportive": "absent finding: not met",
}
Categories = dict[str, Tri]
"""Diagnostic categories of one criteria set, highest first (e.g. definite, probable, possible)."""


@dataclass(eq=False)
class Element:
    """One guideline element: a three-valued predicate with its provenance."""

    id: str
    reference: str
    description: str
    role: Role
    fields: tuple[str, ...]
    used_in_verdict: bool
    compute: ElementFn
    unmentioned: Unmentioned = "undecided"
    absent_unless_recorded: bool = False
    """An exclusion that only a recorded finding establishes, in every reading (docs/criteria.md: the
    anti-MAG flag of criteria.md §2.7, evidence-only parts of Gold Coast criterion 3). ``compute`` stays
    three-valued (its Unknown is the flag the explanation shows); ``read`` counts the Unknown as absent."""

    def __post_init__(self) -> None:
        unknown = [f for f in self.fields if f not in fields()]
        if unknown:
            raise ValueError(f"element {self.id}: fields {unknown} are not in the data dictionary")
        if len(set(self.fields)) < len(self.fields):  # a field listed twice is shown twice as missing
            raise ValueError(f"element {self.id}: fields {list(self.fields)} name a field twice")
        self._key = f"element:{id(self)}"
        """Its results' key in the columns' cache (made once: one patient's evaluation reads ~70 elements)."""
        self._unknown_reads: bool | None = {"undecided": None, "absent finding: met": True,
                                            "absent finding: not met": False}[self.unmentioned]
        """What the chart-review reading makes of Unknown (``unmentioned``), None to keep it (looked up once)."""

    def __call__(self, frame: pd.DataFrame, reading: Reading = "strict") -> pd.Series:
        """Evaluate on a canonical frame: a ``boolean`` Series, NA where the data cannot decide."""
        cols = read_frame(frame).with_reading(reading)  # every field: an element may read one it only qualifies by
        return pd.Series(self.read(cols).to_pandas(), index=frame.index, name=self.id, copy=False)

    def value(self, cols: Columns) -> Tri:
        """``compute(cols)``, computed once per read of the columns and reading (another element built on
        this one, e.g. Gold Coast criterion 3 on the EFNS/PNS blocks, reuses it)."""
        return cols.same_in_every_reading(self._key, self.compute)

    def read(self, cols: Columns) -> Tri:
        """The element under the columns' reading: in chart review, an undecided element becomes what an
        unmentioned finding means for it (``unmentioned``)."""
        result = cols.same_in_every_reading(self._key, self.compute)  # self.value(cols), one call less per element
        if self.absent_unless_recorded:
            return result.unknown_as(True)
        unknown = self._unknown_reads
        if unknown is None:
            return result
        return cols.unknown_in_chart_review(result, unknown)


@dataclass
class CriteriaSet:
    """A published criteria set: its elements in guideline order and how they combine into categories."""

    id: str
    title: str
    citation: str
    notes: tuple[str, ...] = ()
    elements: list[Element] = field(default_factory=list)
    combine: Callable[[Columns, Mapping[str, Tri]], Categories] | None = None

    def element(
        self,
        reference: str,
        description: str,
        *,
        fields: tuple[str, ...],
        role: Role,
        used_in_verdict: bool = True,
        unmentioned: Unmentioned | None = None,
        absent_unless_recorded: bool = False,
    ) -> Callable[[ElementFn], Element]:
        """Register the decorated function as an element of this set (its name becomes the element id).
        ``unmentioned`` defaults from the role: exclusions are absent, supportive findings not met."""

        def register(compute: ElementFn) -> Element:
            chart_review = unmentioned or _UNMENTIONED_BY_ROLE.get(role, "undecided")
            element = Element(compute.__name__, reference, description, role, fields, used_in_verdict, compute,
                              chart_review, absent_unless_recorded)
            if any(e.id == element.id for e in self.elements):
                raise ValueError(f"{self.id}: duplicate element {element.id}")
            self.elements.append(element)
            functools.update_wrapper(element, compute)
            return element

        return register

    def combiner(
        self, combine: Callable[[Columns, Mapping[str, Tri]], Categories]
    ) -> Callable[[Columns, Mapping[str, Tri]], Categories]:
        """Register the function that turns element results into the set's diagnostic categories."""
        self.combine = combine
        return combine

    @property
    def fields(self) -> tuple[str, ...]:
        """All contract fields this set reads, in first-use order."""
        return tuple(dict.fromkeys(f for e in self.elements for f in e.fields))

    def evaluate(self, cols: Columns) -> tuple[dict[str, Tri], Categories]:
        """All element results and the categories built from them (each element computed once)."""
        if self.combine is None:  # pragma: no cover - a set module always registers its combiner
            raise RuntimeError(f"{self.id}: no combiner registered")
        results = {e.id: e.read(cols) for e in self.elements}
        return results, self.combine(cols, results)
