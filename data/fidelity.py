"""Fidelity of the synthetic world: generated figures next to the published ones, each with a tolerance.

Why: every parameter of ``priors.yaml`` cites a figure, but the figures a reader can check - the share
of MMN patients with a block, the sensitivity of the EFNS/PNS criteria - come out of the *joint* model
(phenotypes, stages, reporting), not out of any one parameter. This module measures them on complete
synthetic work-ups against the one table of targets and tolerances, ``data/fidelity.yaml``.

A generated figure is an estimate from a finite cohort, so each carries its 95% Monte Carlo interval, and its
verdict is decided only when that interval lies wholly inside the tolerance ("within") or wholly outside it
("outside"); an interval across a bound is "not decisive" at this cohort size (a larger one narrows it). Compared
as a point estimate alone, a figure near a bound passed or failed with the seed.

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
    "id", "part", "group", "statistic", "generated", "mc_low", "mc_high", "published", "low", "high", "within",
    "verdict", "patients", "source",
)
"""Columns of a fidelity table: one row per published figure. ``within``: the point estimate is inside the
tolerance; ``mc_low``-``mc_high``: its 95% Monte Carlo interval; ``verdict``: one of :data:`FIDELITY_VERDICTS`."""
WITHIN, OUTSIDE, NOT_DECISIVE = "within", "outside", "not decisive"
FIDELITY_VERDICTS: tuple[str, str, str] = (WITHIN, OUTSIDE, NOT_DECISIVE)
"""Within / outside the tolerance beyond Monte Carlo error, or not decisive at this cohort size."""

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


def wilson_interval(p: float, n: float) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``p`` observed in ``n`` patients (published or generated)."""
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))  # 0 and 1 exactly, not 1 + 2e-16


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


Estimate = tuple[float, int, tuple[float, float]]
"""A generated figure, the patients it is computed on and its 95% Monte Carlo interval."""
UNKNOWN: Estimate = (np.nan, 0, (np.nan, np.nan))


def _share(hits: np.ndarray) -> Estimate:
    if not hits.size:
        return UNKNOWN
    p = float(hits.mean())
    return p, int(hits.size), wilson_interval(p, hits.size)


def _median(values: np.ndarray) -> Estimate:
    """The median with its distribution-free interval (order statistics at the binomial ranks n/2 -+ z sqrt(n)/2,
    Conover 1999); unbounded when too few values give no such ranks."""
    n = values.size
    if not n:
        return UNKNOWN
    half = Z95 * np.sqrt(n) / 2
    first, last = int(np.floor(n / 2 - half)), int(np.ceil(n / 2 + 1 + half))  # 1-based ranks
    ordered = np.sort(values)
    bounds = (float(ordered[first - 1]), float(ordered[last - 1])) if first >= 1 and last <= n else (-np.inf, np.inf)
    return float(np.median(values)), n, bounds


def _per_nerve(counts: np.ndarray, studied: np.ndarray) -> Estimate:
    """Share of the nerves studied, with the Wilson interval at the effective number of nerves: one patient's
    nerves are not independent draws (Kish design effect of the ratio estimator's patient-level variance)."""
    n, total = counts.size, float(studied.sum())
    if n < 2 or not total:
        return (float(counts.sum() / total) if total else np.nan), n, (np.nan, np.nan)
    p = float(counts.sum() / total)
    variance = float(((counts - p * studied) ** 2).sum()) / total**2 * n / (n - 1)
    effective = min(total, p * (1 - p) / variance) if variance > 0 else total
    return p, n, wilson_interval(p, effective)


def _marginal(group: pd.DataFrame, target: Mapping[str, Any]) -> Estimate:
    statistic = target["statistic"]
    if statistic == "share":
        among = condition(group, target["among"]) if "among" in target else np.ones(len(group), dtype=bool)
        return _share(condition(group, target["when"])[among])
    if statistic == "median":
        return _median(group[target["field"]].astype("Float64").dropna().to_numpy(dtype=float))
    if statistic == "per_nerve":
        both = group[[target["field"], target["of"]]].astype("Float64").dropna().to_numpy(dtype=float)
        return _per_nerve(both[:, 0], both[:, 1])
    raise ValueError(f"unknown marginal statistic '{statistic}' in target {target['id']}")


def verdict(low: float, high: float, mc_low: float, mc_high: float) -> str:
    """Within or outside the tolerance [low, high] when the whole Monte Carlo interval is, else not decisive."""
    if low <= mc_low and mc_high <= high:
        return WITHIN
    if mc_high < low or mc_low > high:
        return OUTSIDE
    return NOT_DECISIVE  # also a figure with no patients (NaN interval)


def _row(target: Mapping[str, Any], part: str, group: str, estimate: Estimate) -> dict[str, Any]:
    low, high = (float(v) for v in target["tolerance"])
    generated, patients, (mc_low, mc_high) = estimate
    return {
        "id": target["id"], "part": part, "group": group, "statistic": target["statistic"],
        "generated": generated, "mc_low": mc_low, "mc_high": mc_high, "published": float(target["published"]),
        "low": low, "high": high, "within": bool(np.isfinite(generated) and low <= generated <= high),
        "verdict": verdict(low, high, mc_low, mc_high), "patients": patients, "source": target["source"],
    }


def marginal_figures(cohort: pd.DataFrame, targets: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per marginal target, computed on the target's diagnosis in a labelled cohort."""
    label = cohort[LABEL].astype(object)
    rows = []
    for target in targets:
        group = cohort.loc[label.eq(target["diagnosis"]).to_numpy()]
        rows.append(_row(target, "marginal", target["diagnosis"], _marginal(group, target)))
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
        rows.append(_row(target, "criteria", group, _share(hits[who])))
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


FIDELITY_VERDICT_WORDS: dict[str, str] = {WITHIN: "yes", OUTSIDE: "no", NOT_DECISIVE: "not decisive"}
"""How a verdict is shown in the Markdown table (the terminal's 80-column table writes '?' for not decisive)."""


def to_markdown(table: pd.DataFrame) -> str:
    """A Markdown table of the figures (percentages for proportions), out-of-tolerance rows marked."""
    lines = [
        "| figure | group | generated | Monte Carlo 95 % | published | tolerance | within | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        def show(x: float, statistic: str = row.statistic) -> str:
            return format_value(statistic, x)

        word = FIDELITY_VERDICT_WORDS[row.verdict]
        noise, tolerance = (format_interval(row.statistic, a, b) for a, b in ((row.mc_low, row.mc_high),
                                                                              (row.low, row.high)))
        lines.append(
            f"| {row.id} | {row.group} | {show(row.generated)} | {noise} | {show(row.published)} | {tolerance} | "
            f"{f'**{word}**' if row.verdict == OUTSIDE else word} | {row.source} |"
        )
    return "\n".join(lines) + "\n"


def _percent(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.1f}%"


def _number(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:.3g}"


def format_value(statistic: str, x: float) -> str:
    """How a figure is shown (terminal and Markdown alike)."""
    return _number(x) if statistic == "median" else _percent(x)


def format_interval(statistic: str, low: float, high: float, *, unit: bool = True) -> str:
    """An interval as shown ("–" when a bound is unknown or unbounded: too few patients); ``unit=False`` leaves
    out the percent signs where a column header or neighbour says them."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    text = f"{format_value(statistic, low)}–{format_value(statistic, high)}"
    return text if unit else text.replace("%", "")
