"""The next-test outcome tables shipped in the bundle: each test's representative results and P(result | class).

Fitted in training (:mod:`mmn_ddx.training.fitting.outcome_tables`) from generated patients and saved with
the model and its provenance, so serving does no training work at start-up and every prediction can be
traced to the tables it used. Stored as JSON (``next_test.json``), like the rest of the bundle: no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmn_ddx.data import DIAGNOSES, TESTS, DiagnosticTest, find_test

OUTCOMES_FILE = "next_test.json"


@dataclass(frozen=True)
class Outcomes:
    """Representative results of one test and their class-conditional probabilities."""

    test: DiagnosticTest
    records: list[dict[str, Any]]
    """One record fragment per result, the test's fields as plain values (None = null; a null stays
    possible, e.g. a structurally unreported 'sensory normal across block')."""
    likelihood: np.ndarray
    """(n results, n classes): P(result | class) in :data:`DIAGNOSES` order; columns sum to 1."""


@dataclass(frozen=True)
class OutcomeTables:
    """Every test's outcome table, with where it came from."""

    tables: Mapping[str, Outcomes]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    """How the tables were made (generator version, number of patients, seed, work-up level)."""

    def __getitem__(self, key: str) -> Outcomes:
        return self.tables[key]

    def save(self, directory: Path) -> None:
        document = {
            "classes": list(DIAGNOSES),
            "provenance": dict(self.provenance),
            "tests": {
                key: {"records": o.records, "likelihood": o.likelihood.tolist()} for key, o in self.tables.items()
            },
        }
        (directory / OUTCOMES_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> OutcomeTables:
        return cls.from_bytes((directory / OUTCOMES_FILE).read_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> OutcomeTables:
        """From the verified bytes of ``next_test.json`` (the bundle checks its manifest first)."""
        document = json.loads(data.decode("utf-8"))
        if document.get("classes") != list(DIAGNOSES):
            raise ValueError(f"{OUTCOMES_FILE}: classes {document.get('classes')!r}, expected {list(DIAGNOSES)}")
        tables = {key: Outcomes(find_test(key), list(entry["records"]), np.asarray(entry["likelihood"], dtype=float))
                  for key, entry in document["tests"].items()}
        missing = [t.key for t in TESTS if t.key not in tables]
        if missing:
            raise ValueError(f"{OUTCOMES_FILE}: no outcome table for {', '.join(missing)}")
        return cls(tables, document.get("provenance", {}))
