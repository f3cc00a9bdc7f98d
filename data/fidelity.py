"""Fidelity of the synthetic world: generated figures next to the published ones, each with a tolerance.

Why: every parameter of ``priors.yaml`` cites a figure, but the figures a reader can check - the share
of MMN patients with a block, the sensitivity of the EFNS/PNS criteria - come out of the *joint* model
(phenotypes, stages, reporting), not out of any one parameter. This module measures them on complete
synthetic work-ups against the one table of targets and tolerances, ``data/fidelity.yaml``.

The criteria part needs the rule-based criteria (``features``), which the data layer must not import:
:func:`criteria_figures` takes their verdicts as a plain frame, computed by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmn_ddx.data.contract import LABEL, fields

FIGURE_COLUMNS: tuple[str, ...] = (
    "id", "part", "group", "statistic", "generated", "published", "low", "high", "within", "patients", "source",
)
"""Columns of a fidelity table: one row per published figure."""

Z95 = 1.959963984540054
PROPORTION_MARGIN = 0.10
MEDIAN_MARGIN = 0.25


@cache
def _packaged_targets() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("mmn_ddx.data").joinpath("fidelity.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_targets(path: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The targets table: ``{"marginals": [...], "criteria": [...]}`` (default: the packaged one)."""
    if path is None:
        return _packaged_targets()
    targets = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(targets, dict) or not {"marginals", "criteria"} <= set(targets):
        raise ValueError(f"{path}: expected the keys 'marginals' and 'criteria'")
    return targets


def wilson_interval(p: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a published proportion ``p`` observed in ``n`` patients."""
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return float(centre - half), float(centre + half)


def widest_tolerance(target: Mapping[str, Any]) -> tuple[float, float]:
    """The widest tolerance the rule allows: the published 95% interval (from ``n``) or range, else
    +-10 percentage points for a proportion, +-25% for a median."""
    published = float(target["published"])
    if "n" in target:
        return wilson_interval(published, int(target["n"]))
    if "range" in target:
        low, high = target["range"]
        return float(low), float(high)
    if target["statistic"] == "median":
        return published * (1 - MEDIAN_MARGIN), published * (1 + MEDIAN_MARGIN)
    return max(0.0, published - PROPORTION_MARGIN), min(1.0, published + PROPORTION_MARGIN)


def condition(frame: pd.DataFrame, spec: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of a target condition (see the header of fidelity.yaml); null never satisfies it."""
    if "any" in spec:
        return np.logical_or.reduce([condition(frame, part) for part in spec["any"]])
    if "all" in spec:
        return np.logical_and.reduce([condition(frame, part) for part in spec["all"]])
    name = spec["field"]
    if name not in fields():
        raise ValueError(f"fidelity target names unknown field '{name}'")
    column = frame[name]
    known = column.notna().to_numpy()
    if "in" in spec:
        return known & column.astype(object).isin(spec["in"]).to_numpy()
    values = column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        if "at_least" in spec:
            return known & (values >= spec["at_least"])
        if "above" in spec:
            return known & (values > spec["above"])
        if "below" in spec:
            return known & (values < spec["below"])
    raise ValueError(f"fidelity condition on '{name}' needs one of in / at_least / above / below")


def _marginal(group: pd.DataFrame, target: Mapping[str, Any]) -> tuple[float, int]:
    """(generated figure, patients it is computed on)."""
    statistic = target["statistic"]
    if statistic == "share":
        among = condition(group, target["among"]) if "among" in target else np.ones(len(group), dtype=bool)
        hits = condition(group, target["when"])[among]
        return (float(hits.mean()) if hits.size else np.nan), int(hits.size)
    if statistic == "median":
        values = group[target["field"]].astype("Float64").dropna().to_numpy(dtype=float)
        return (float(np.median(values)) if values.size else np.nan), int(values.size)
    if statistic == "per_nerve":
        both = group[[target["field"], target["of"]]].astype("Float64").dropna().to_numpy(dtype=float)
        studied = both[:, 1].sum()
        return (float(both[:, 0].sum() / studied) if studied else np.nan), len(both)
    raise ValueError(f"unknown marginal statistic '{statistic}' in target {target['id']}")


def _row(target: Mapping[str, Any], part: str, group: str, generated: float, patients: int) -> dict[str, Any]:
    low, high = (float(v) for v in target["tolerance"])
    return {
        "id": target["id"], "part": part, "group": group, "statistic": target["statistic"],
        "generated": generated, "published": float(target["published"]), "low": low, "high": high,
        "within": bool(np.isfinite(generated) and low <= generated <= high), "patients": patients,
        "source": target["source"],
    }


def marginal_figures(cohort: pd.DataFrame, targets: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per marginal target, computed on the target's diagnosis in a labelled cohort."""
    label = cohort[LABEL].astype(object)
    rows = []
    for target in targets:
        group = cohort.loc[label.eq(target["diagnosis"]).to_numpy()]
        rows.append(_row(target, "marginal", target["diagnosis"], *_marginal(group, target)))
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def criteria_figures(labels: pd.Series, verdicts: pd.DataFrame, targets: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Sensitivity / specificity of the published criteria (strict reading: only ``met`` counts).

    ``labels``: the true diagnosis per patient; ``verdicts``: one column per criteria set, aligned with
    ``labels`` (e.g. ``features.criteria.evaluate_criteria``).
    """
    truth = labels.astype(object).to_numpy()
    rows = []
    for target in targets:
        positive = verdicts[target["verdict"]].astype(object).isin(target["met"]).to_numpy()
        if target["statistic"] == "sensitivity":
            group, who, hits = target["diagnosis"], truth == target["diagnosis"], positive
        elif target["statistic"] == "specificity":
            group, who, hits = "+".join(target["controls"]), np.isin(truth, target["controls"]), ~positive
        else:
            raise ValueError(f"unknown criteria statistic '{target['statistic']}' in target {target['id']}")
        generated = float(hits[who].mean()) if who.any() else np.nan
        rows.append(_row(target, "criteria", group, generated, int(who.sum())))
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def to_markdown(table: pd.DataFrame) -> str:
    """A Markdown table of the figures (percentages for proportions), out-of-tolerance rows marked."""
    lines = [
        "| figure | group | generated | published | tolerance | within | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        def show(x: float, statistic: str = row.statistic) -> str:
            return format_value(statistic, x)

        lines.append(
            f"| {row.id} | {row.group} | {show(row.generated)} | {show(row.published)} | "
            f"{show(row.low)}–{show(row.high)} | {'yes' if row.within else '**no**'} | {row.source} |"
        )
    return "\n".join(lines) + "\n"


def _percent(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.1f}%"


def _number(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:.3g}"


def format_value(statistic: str, x: float) -> str:
    """How a figure is shown (terminal and Markdown alike)."""
    return _number(x) if statistic == "median" else _percent(x)
