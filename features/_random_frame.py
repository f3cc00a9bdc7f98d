"""Random contract-valid cohort frames, for property tests and the speed benchmark.

The values are uniformly random within the data-dictionary ranges, with no clinical structure (that
is ``data.generator``'s job): what matters here is that every dtype, range, null pattern and count
constraint of the contract is exercised. Nerve counts never exceed the number of nerves studied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmn_ddx.data import ID_FIELD, FieldSpec, fields, rules, to_canonical


def random_frame(n: int, seed: int = 0, null_rate: float = 0.2) -> pd.DataFrame:
    """``n`` random canonical records; each optional field is null with probability ``null_rate``."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for spec in fields().values():
        if spec.name == ID_FIELD:
            continue
        columns[spec.name] = _values(spec, n, rng, columns)
    frame = pd.DataFrame(columns)
    for spec in fields().values():
        if spec.name in frame and not spec.required:
            frame.loc[rng.random(n) < null_rate, spec.name] = None
    return to_canonical(frame)


def _values(spec: FieldSpec, n: int, rng: np.random.Generator, done: dict[str, object]) -> object:
    if spec.type == "category":
        return pd.Series(rng.choice(np.asarray(spec.values, dtype=object), size=n), dtype=object)
    if spec.type == "bool":
        return pd.Series(rng.random(n) < 0.5, dtype=object)
    low, high = spec.range or (0.0, 1.0)
    if spec.type == "int":
        denominator = {rule.field: rule.at_most for rule in rules()}.get(spec.name)
        upper = np.asarray(done[denominator], dtype=float) if denominator else min(high, 12.0)
        return pd.Series(np.floor(rng.random(n) * (upper + 1)), dtype=object)
    if spec.name.startswith("mrc_"):
        return pd.Series(rng.integers(0, 6, size=n).astype(float), dtype=object)
    return pd.Series(low + (high - low) * rng.random(n) ** 3, dtype=object)  # skewed towards low values
