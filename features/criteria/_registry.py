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

import pandas as pd

from mmn_ddx.data.contract import fields
from mmn_ddx.data.columns import read_frame
from mmn_ddx.features.criteria._logic import Columns, Tri
from mmn_ddx.features.criteria._results import Role

ElementFn = Callable[[Columns], Tri]
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

    def __post_init__(self) -> None:
        unknown = [f for f in self.fields if f not in fields()]
        if unknown:
            raise ValueError(f"element {self.id}: fields {unknown} are not in the data dictionary")

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate on a canonical frame: a ``boolean`` Series, NA where the data cannot decide."""
        cols = read_frame(frame, self.fields)
        return pd.Series(self.compute(cols).to_pandas(), index=frame.index, name=self.id, copy=False)


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
    ) -> Callable[[ElementFn], Element]:
        """Register the decorated function as an element of this set (its name becomes the element id)."""

        def register(compute: ElementFn) -> Element:
            element = Element(compute.__name__, reference, description, role, fields, used_in_verdict, compute)
            if any(e.id == element.id for e in self.elements):
                raise ValueError(f"{self.id}: duplicate element {element.id}")
            self.elements.append(element)
            functools.update_wrapper(element, compute)  # type: ignore[arg-type]
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
        results = {e.id: e.compute(cols) for e in self.elements}
        return results, self.combine(cols, results)
