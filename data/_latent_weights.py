"""The world's latent-state weights as Dirichlet vectors located in the parameter tree (for the world fit).

Every full latent state (``data/latents.py``) takes exactly one category of each of six vectors: the
document mix, its diagnosis' phenotype and stage weights, its phenotype's onset weights, the severity
weights and the weakness-pattern weights of its (phenotype, stage) - plus the side, fixed at 1/2. So a
state's log weight is the sum of six logs, and the expected count of a category is the summed
responsibility of the states that take it. A vector is found where ``latents.resolve`` finds it, so a
weight shared by several states (a stage key, a YAML anchor) is one vector, fitted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.latents import DEFAULT_PATTERN, STAGE_KEYS, FullGrid, ReducedGrid
from mmn_ddx.data.uncertainty import uncertainties

LOG_SIDE = float(np.log(0.5))
"""The more-affected side is left or right with equal probability (``latents._full_grid``): not fitted."""

Slot = tuple[Any, Any]
"""(container, key): where one probability lives in the parameter tree."""


@dataclass
class WeightVector:
    """One probability vector of latent weights: its categories, where they live and which states use them."""

    path: str                  # e.g. "diseases.MMN.phenotypes.*.weight" (the uncertainty block's naming)
    group: str                 # e.g. "phenotype weights"
    categories: list[str]
    slots: list[Slot]
    state_category: np.ndarray  # (G,) category index of each full state, -1 where the state does not use it
    kappa: float = 0.0

    def values(self) -> np.ndarray:
        return np.array([float(container[key]) for container, key in self.slots])

    def write(self, values: np.ndarray) -> None:
        """Set the vector in the (copied) parameter tree, in place."""
        for (container, key), value in zip(self.slots, values, strict=True):
            container[key] = float(value)


def resolved_slot(parent: Any, key: Any, path: str, phenotype: str, stage: str) -> tuple[Slot, str]:
    """The slot ``latents.resolve(parent[key], phenotype, stage)`` reads, and its dotted path."""
    value = parent[key]
    if isinstance(value, Mapping):
        parts = phenotype.split(".")
        lineage = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        for candidate in [*lineage, "default", stage]:
            if candidate in value:
                return resolved_slot(value, candidate, f"{path}.{candidate}", phenotype, stage)
    return (parent, key), path


class _Collector:
    """Gathers the vectors keyed by the identity of their slots, so a shared node is one vector."""

    def __init__(self, states: int) -> None:
        self.states = states
        self.vectors: dict[tuple[tuple[int, Any], ...], WeightVector] = {}

    def add(self, path: str, group: str, categories: list[str], slots: list[Slot], g: int, category: int) -> None:
        identity = tuple((id(container), key) for container, key in slots)
        vector = self.vectors.get(identity)
        if vector is None:
            vector = WeightVector(path, group, categories, slots, np.full(self.states, -1))
            self.vectors[identity] = vector
        vector.state_category[g] = category


def weight_vectors(parameters: dict[str, Any], reduced: ReducedGrid, full: FullGrid) -> list[WeightVector]:
    """Every latent-weight vector of ``parameters`` (which the vectors then read and write in place).

    ``reduced`` and ``full`` are the grids of a world with the same structure (any world: the grids'
    states do not depend on the weights' values).
    """
    diseases = parameters["diseases"]
    collector = _Collector(len(full))
    documents = list(parameters["reporting"]["documents"])
    doc_list = parameters["reporting"]["weights"]
    levels = [str(level) for level in parameters["severity_levels"]]
    for g in range(len(full)):
        r = int(full.reduced_index[g])
        d, phenotype, s = DIAGNOSES[reduced.diagnosis[r]], str(reduced.phenotype[r]), int(reduced.stage[r])
        stage = STAGE_KEYS[s]
        disease = diseases[d]
        base = f"diseases.{d}"
        collector.add("reporting.weights", "document mix", documents,
                      [(doc_list, i) for i in range(len(documents))], g, int(reduced.document[r]))
        stage_list = disease["stage"]["weights"]
        collector.add(f"{base}.stage.weights", "stage weights", list(STAGE_KEYS),
                      [(stage_list, i) for i in range(len(STAGE_KEYS))], g, s)
        names = list(disease["phenotypes"])
        collector.add(f"{base}.phenotypes.*.weight", "phenotype weights", names,
                      [(disease["phenotypes"][name], "weight") for name in names], g, names.index(phenotype))
        onset = disease["phenotypes"][phenotype]["onset"]
        collector.add(f"{base}.phenotypes.{phenotype}.onset", "onset weights", list(onset),
                      [(onset, region) for region in onset], g, list(onset).index(str(full.onset[g])))
        mrc = disease["fields"]["mrc"]
        (container, key), path = resolved_slot(mrc, "severity_weights", f"{base}.fields.mrc.severity_weights",
                                               phenotype, stage)
        severity = container[key]
        collector.add(path, "severity weights", levels, [(severity, i) for i in range(len(levels))], g,
                      int(full.severity[g]))
        if full.pattern[g] != DEFAULT_PATTERN:
            patterns = list(mrc["patterns"])
            found = [resolved_slot(mrc["patterns"][name], "weight", f"{base}.fields.mrc.patterns.{name}.weight",
                                   phenotype, stage) for name in patterns]
            collector.add(found[0][1], "weakness-pattern weights", patterns, [slot for slot, _ in found], g,
                          patterns.index(str(full.pattern[g])))
    vectors = list(collector.vectors.values())
    _set_strengths(vectors, parameters)
    return vectors


def _set_strengths(vectors: list[WeightVector], parameters: dict[str, Any]) -> None:
    """kappa of each vector from the stated uncertainty (``data/uncertainty.py``): a Dirichlet node by its
    identity (shared nodes are visited once there too), else by its path (the phenotype weights, whose
    vector is assembled across sibling mappings, and the pattern weights, a Beta per pattern)."""
    found = uncertainties(parameters)
    by_node = {id(u.value): u.strength for u in found if u.role == "dirichlet" and isinstance(u.value, (dict, list))}
    by_path = {u.path: u.strength for u in found}
    for vector in vectors:
        container = vector.slots[0][0]
        node = container if isinstance(container, list) or vector.group == "onset weights" else None
        strength = by_node.get(id(node)) if node is not None else by_path.get(vector.path)
        if strength is None:
            raise ValueError(f"{vector.path}: no stated uncertainty found for this latent weight vector")
        vector.kappa = float(strength)


def state_log_weights(vectors: list[WeightVector], states: int) -> np.ndarray:
    """(G,) log p(full state | diagnosis) from the vectors' current values."""
    out = np.full(states, LOG_SIDE)
    with np.errstate(divide="ignore"):
        for vector in vectors:
            used = vector.state_category >= 0
            out[used] += np.log(vector.values())[vector.state_category[used]]
    return out
