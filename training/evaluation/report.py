"""Benchmark reports: a Rich terminal table, and Markdown + HTML files with the plots.

One :class:`ReportView` (formatted tables and the headline sentences) is built from the result and
rendered three ways, so the terminal, the Markdown and the HTML always say the same thing. The HTML is
self-contained (plots inlined as PNG data URIs: it opens offline and as an MLflow artifact); the Markdown
links the same PNGs from ``figures/``. Reports hold aggregate metrics only, never patient values.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from mmn_ddx.data import CLASS_PRIOR_PRESETS, DIAGNOSES
from mmn_ddx.training.evaluation import plots
from mmn_ddx.training.evaluation.benchmark import COHORT_SETTING, BenchmarkResult, Evaluation
from mmn_ddx.training.evaluation.benchmark_methods import SHORT_NAMES
from mmn_ddx.training.evaluation.metrics import LOWER_IS_BETTER, PER_CLASS_METRICS, per_class_key
from mmn_ddx.training.evaluation.real_cases import MethodFigures

NOT_FOR_CLINICAL_USE = ("Research and teaching only, not for clinical use: no model here is validated on real patients "
                        "(the facts below say what each was trained on; the synthetic worlds are not real patients).")
MAIN_COLUMNS: dict[str, str] = {
    "coverage": "coverage", "accuracy": "accuracy", "balanced_accuracy": "balanced acc.",
    "balanced_accuracy_all": "balanced acc. (abstain = error)", "macro_f1": "macro-F1", "macro_auroc": "macro AUROC",
    "log_loss": "log-loss", "brier": "Brier", "ece": "ECE",
}
TERMINAL_COLUMNS: dict[str, str] = {  # the main terminal table
    "coverage": "coverage", "balanced_accuracy": "bal. acc.", "balanced_accuracy_all": "bal. acc. (abstain = error)",
    "macro_auroc": "macro AUROC", "log_loss": "log-loss", "ece": "ECE",
}
SETTING_COLUMNS: dict[str, str] = {
    "accuracy_all": "accuracy (abstain = error)", "balanced_accuracy_all": "balanced acc. (abstain = error)",
    **{per_class_key("ppv", k): f"PPV {d}" for k, d in enumerate(DIAGNOSES)}, "log_loss": "log-loss", "ece": "ECE",
}
GAIN_TITLES: dict[str, str] = {
    "balanced_accuracy_all": "balanced accuracy, all patients (rules' abstentions = errors)",
    "accuracy_all": "accuracy, all patients (rules' abstentions = errors)",
    "balanced_accuracy": "balanced accuracy, on the patients the rules classify",
    "accuracy": "accuracy, on the patients the rules classify",
    "macro_f1": "macro-F1, on the patients the rules classify",
}
CEILING_TITLES: dict[str, str] = {"macro_auroc": "macro AUROC", "log_loss": "log-loss", "brier": "Brier score",
                                  "ece": "ECE", "balanced_accuracy": "balanced accuracy"}
REAL_CASE_COLUMNS: dict[str, str] = {
    "accuracy": "accuracy", "log_loss": "log-loss", "set_coverage": "set coverage", "mean_set_size": "mean set size",
    "coverage": "labelled", "accuracy_when_labelled": "accuracy when labelled",
}
"""Figures of a method on the real development cases (``MethodFigures`` fields) and their titles."""
_TEMPLATES = Environment(
    loader=PackageLoader("mmn_ddx.training.evaluation", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt(estimate: float, low: float = math.nan, high: float = math.nan) -> str:
    """"0.912 (0.905-0.919)", "0.912" without a CI, "n/a" when the metric does not apply."""
    if not math.isfinite(estimate):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{estimate:.3f}"
    return f"{estimate:.3f} ({low:.3f} to {high:.3f})"


@dataclass(frozen=True)
class Cell:
    """An estimate and its CI, kept apart so the HTML can set the interval under the estimate."""

    value: str
    ci: str = ""

    def __str__(self) -> str:
        return f"{self.value} ({self.ci})" if self.ci else self.value


def cell(estimate: float, low: float = math.nan, high: float = math.nan) -> Cell:
    text = fmt(estimate)
    if text == "n/a" or not (math.isfinite(low) and math.isfinite(high)):
        return Cell(text)
    return Cell(text, f"{low:.3f} to {high:.3f}")


@dataclass
class TableView:
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""


@dataclass
class SectionView:
    """One cohort x mode: headline sentences, tables and figures (file names relative to the report)."""

    cohort: str
    mode: str
    headline: list[str]
    tables: list[TableView]
    figures: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportView:
    title: str
    created: str
    facts: dict[str, str]
    sections: list[SectionView]
    notes: list[str]


def metric_table(metrics: pd.DataFrame, columns: Mapping[str, str], title: str, *, label: str = "method") -> TableView:
    """Methods as rows, ``columns`` (metric -> title) as columns, "estimate (95 % CI)" per cell."""
    rows = []
    for method, group in metrics.groupby("method", sort=False):
        cells = group.set_index("metric")
        rows.append([Cell(str(method)), *(cell(*cells.loc[m, ["estimate", "ci_low", "ci_high"]]) for m in columns)])
    return TableView(title, [label, *columns.values()], rows)


def _select(df: pd.DataFrame, evaluation: Evaluation, setting: str | None = COHORT_SETTING) -> pd.DataFrame:
    mask = (df["cohort"] == evaluation.cohort) & (df["mode"] == evaluation.mode)
    return df[mask & (df["setting"] == setting)] if setting is not None else df[mask]


def headline(comparisons: pd.DataFrame) -> list[str]:
    """Sentences stating the champion's gain over the best rules and its gap to the ceiling, with CIs."""
    lines = []
    for row in comparisons.itertuples(index=False):
        value = fmt(row.estimate, row.ci_low, row.ci_high)
        if row.comparison == "gain over best rules":
            what = GAIN_TITLES.get(row.metric, row.metric)
            lines.append(f"Gain of the {row.champion} over the {row.reference}, {what}: {value}.")
            continue
        what = CEILING_TITLES.get(row.metric, row.metric)
        if row.comparison == "gap to Bayes ceiling":
            better = "lower" if row.metric in LOWER_IS_BETTER else "higher"
            lines.append(f"Champion minus Bayes ceiling, {what} ({better} is better): {value}.")
        else:
            lines.append(f"Champion's {what} as a multiple of the Bayes ceiling's: {value}.")
    return lines


def section(result: BenchmarkResult, evaluation: Evaluation) -> SectionView:
    """Tables for one cohort x mode (figures are added by :func:`write_reports`)."""
    main = _select(result.metrics, evaluation)
    per_class = {per_class_key(m, k): f"{m} {d}" for k, d in enumerate(DIAGNOSES) for m in PER_CLASS_METRICS}
    tables = [
        metric_table(main, MAIN_COLUMNS, "All methods (95 % bootstrap CI); label metrics on covered patients"),
        metric_table(main, per_class, "Per diagnosis (coverage: share of its patients classified; sensitivity, "
                                      "specificity, PPV on covered patients)"),
    ]
    for setting in _select(result.metrics, evaluation, None)["setting"].unique():
        if setting == COHORT_SETTING:
            continue
        priors = ", ".join(f"{d} {CLASS_PRIOR_PRESETS[setting][d]:g}" for d in DIAGNOSES)
        tables.append(metric_table(_select(result.metrics, evaluation, setting), SETTING_COLUMNS,
                                   f"Re-weighted to the '{setting}' class priors ({priors})"))
    rates = ", ".join(f"{name} {share:.1%}" for name, share in evaluation.abstentions.items())
    tables[0].note = f"Rule-based cascade abstentions: {rates}." if rates else ""
    comparisons = _select(result.comparisons, evaluation) if len(result.comparisons) else result.comparisons
    return SectionView(evaluation.cohort, evaluation.mode, headline(comparisons) + evaluation.notes, tables)


def figures(evaluation: Evaluation) -> dict[str, Figure]:
    """Reliability, ROC and confusion matrix of the champion, and the cascade's confusion matrix."""
    out: dict[str, Figure] = {}
    where = f"{evaluation.cohort}, {evaluation.mode}"
    champion = evaluation.method("champion")
    if champion is not None and champion.predictions.proba is not None:
        proba = champion.predictions.proba
        out["reliability"] = plots.reliability_figure(evaluation.y, proba, title=f"Reliability: champion ({where})")
        out["roc"] = plots.roc_figure(evaluation.y, proba, title=f"One-vs-rest ROC: champion ({where})")
        out["confusion_champion"] = plots.confusion_matrix_figure(
            evaluation.y, champion.predictions.labels, title=f"Champion ({where})")
    cascade = evaluation.method("rules")
    if cascade is not None:  # abstentions fall in the extra "other" column
        out["confusion_rules"] = plots.confusion_matrix_figure(
            evaluation.y, cascade.predictions.labels, title=f"Rule-based cascade ({where}); other = abstained")
    return out


def real_case_section(figures: Mapping[str, MethodFigures], mode: str, source: str) -> SectionView:
    """The real development cases in one mode: each method's accuracy, log-loss and prediction-set coverage.

    Why: the synthetic test cohort shows how close the champion is to the world's ceiling, not whether the
    world resembles real patients; these published cases do (issue #12). Evaluation only, n = 15: a check."""
    n = next(iter(figures.values())).n if figures else 0
    headline = [
        f"{n} published patients ({source}): evaluation only, never fitted or tuned on; with n = {n} one case "
        f"moves the accuracy by {100 / max(n, 1):.0f} points, so these figures are a check, not a validation.",
        "The rule-based cascade abstains: 'labelled' is its coverage, its accuracy counts an abstention as an error.",
        "Probabilities of the balanced setting (equal pre-test probabilities, the model's own: published cases are a "
        "selected population), not of a served clinical setting.",
    ]
    rows = [[Cell(name), *(Cell(fmt(math.nan if getattr(f, key) is None else float(getattr(f, key))))
                           for key in REAL_CASE_COLUMNS)] for name, f in figures.items()]
    table = TableView(f"real development cases (n = {n}): {mode}", ["method", *REAL_CASE_COLUMNS.values()], rows,
                      "Log-loss in nats (a uniform guess over the four diagnoses: 1.386). " + NOT_FOR_CLINICAL_USE)
    return SectionView(f"real development cases (n = {n})", mode, headline, [table])


def _slug(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() else "-" for c in p.lower()).strip("-") for p in parts)


def build_view(result: BenchmarkResult, facts: Mapping[str, str]) -> ReportView:
    notes = [
        "Label metrics (accuracy, balanced accuracy, macro-F1, sensitivity, specificity, PPV) are computed on the "
        "patients a method classifies; coverage is that share. 'Abstain = error' counts an abstention as a wrong "
        "answer, which is how a never-abstaining model and the rules are compared.",
        "A single criteria set (strict reading) is a detector of the diagnoses it names: 'yes' when a category it "
        "names is met, 'no' when every one is not met, an abstention when they are undecided (missing data); only "
        "its own diagnoses get per-class metrics, and its sensitivity is among the patients it assesses (the "
        "per-diagnosis coverage says how many: published figures are of complete work-ups). The cascade is shown "
        "under both readings. Hard-label methods have no probability metrics (n/a).",
        f"95 % percentile bootstrap intervals over {result.n_boot} resamples of patients (seed {result.seed}); every "
        "method and every difference uses the same resamples (paired).",
        "Macro AUROC: unweighted mean of one-vs-rest AUROCs. Brier: multi-class, sum over diagnoses (0 to 2). ECE: "
        "top-label, 15 equal-width confidence bins; resampling adds miscalibration of its own, so ECE's bootstrap "
        "interval sits above the estimate and can exclude it (read it as the noise scale, not as coverage).",
        "Re-weighted settings (literature-priors.md section 10): importance weights per diagnosis; model and Bayes "
        "probabilities shifted to the setting's prior (Saerens et al. 2002); the criteria do not use priors.",
        "The Bayes-optimal posterior is the exact p(diagnosis | recorded findings) of the world the synthetic test "
        "patients were drawn from (the facts name it): no model can do better on its patients. It is not shown for "
        "user cohorts.",
        "At presentation the treatment responses (IVIg, corticosteroids) are hidden from every method, the criteria "
        "included; with treatment every method sees them.",
    ]
    sections = [section(result, ev) for ev in result.evaluations]
    return ReportView("mmn-ddx benchmark", datetime.now(UTC).isoformat(timespec="seconds"), dict(facts), sections,
                      notes)


def write_reports(result: BenchmarkResult, out_dir: str | Path, facts: Mapping[str, str],
                  real_cases: Sequence[SectionView] = ()) -> dict[str, Path]:
    """Write report.md, report.html, metrics.csv, comparisons.csv and figures/*.png into ``out_dir``;
    ``real_cases``: sections of :func:`real_case_section`, shown after the cohorts."""
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    view = build_view(result, facts)
    inline: dict[str, str] = {}
    for sec, evaluation in zip(view.sections, result.evaluations, strict=True):
        for name, figure in figures(evaluation).items():
            relative = f"figures/{_slug(evaluation.cohort, evaluation.mode, name)}.png"
            figure.savefig(out_dir / relative, dpi=110)
            sec.figures[name] = relative
            inline[relative] = base64.b64encode((out_dir / relative).read_bytes()).decode("ascii")
    view.sections.extend(real_cases)
    paths = {
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
        "metrics": out_dir / "metrics.csv",
        "comparisons": out_dir / "comparisons.csv",
    }
    markdown = _TEMPLATES.get_template("benchmark_report.md").render(view=view, notice=NOT_FOR_CLINICAL_USE)
    paths["markdown"].write_text(markdown, encoding="utf-8")
    html = _TEMPLATES.get_template("benchmark_report.html").render(view=view, inline=inline,
                                                                  notice=NOT_FOR_CLINICAL_USE)
    paths["html"].write_text(html, encoding="utf-8")
    result.metrics.to_csv(paths["metrics"], index=False)
    result.comparisons.to_csv(paths["comparisons"], index=False)
    return paths


def _cell(estimate: float, low: float, high: float) -> Text:
    """Estimate over its CI, on two lines to keep the terminal table narrow."""
    text = fmt(estimate)
    if text == "n/a" or not (math.isfinite(low) and math.isfinite(high)):
        return Text(text)
    return Text(f"{text}\n{low:.3f}–{high:.3f}")


TERMINAL_COMPARISONS = (("gain over best rules", "balanced_accuracy_all"),
                        ("gain over best rules", "balanced_accuracy"),
                        ("gap to Bayes ceiling", "macro_auroc"),
                        ("ratio to Bayes ceiling", "log_loss"))
DETECTOR_COLUMNS: dict[str, str] = {"coverage": "coverage", "sensitivity": "sensitivity",
                                    "specificity": "specificity", "ppv": "PPV"}


def _table(title: str, first: str, columns: Sequence[str], caption: str = "") -> Table:
    return Table(Column(first, min_width=10),
                 *(Column(c, justify="right", min_width=11, overflow="fold") for c in columns),
                 title=Text(title), title_justify="left", caption=Text(caption) if caption else None,
                 caption_justify="left")


def _key_comparisons(result: BenchmarkResult, evaluation: Evaluation) -> list[str]:
    if not len(result.comparisons):
        return []
    c = _select(result.comparisons, evaluation)
    return headline(pd.concat([c[(c["comparison"] == what) & (c["metric"] == m)] for what, m in TERMINAL_COMPARISONS]))


def terminal_tables(result: BenchmarkResult) -> list[Table]:
    """Per cohort x mode: every method's headline metrics (CI under each estimate; the caption states the
    champion's gain over the best rules, its distance to the Bayes ceiling and the section's notes, such as a world
    shift), and each criteria set as a
    detector of its own diagnoses."""
    tables = []
    for evaluation in result.evaluations:
        metrics = _select(result.metrics, evaluation)
        where = f"{evaluation.cohort}: {evaluation.mode}"
        main = _table(f"{where} (95 % CI)", "method", list(TERMINAL_COLUMNS.values()),
                      "\n".join(_key_comparisons(result, evaluation) + evaluation.notes))
        detectors = _table(f"{where}: criteria as detectors (on the patients they assess)", "criteria -> diagnosis",
                           list(DETECTOR_COLUMNS.values()))
        for method, group in metrics.groupby("method", sort=False):
            cells = group.set_index("metric")[["estimate", "ci_low", "ci_high"]]
            name = SHORT_NAMES.get(str(method), str(method))
            main.add_row(Text(name), *(_cell(*cells.loc[m]) for m in TERMINAL_COLUMNS))
            if group["kind"].iloc[0] != "criteria":
                continue
            for d in DIAGNOSES:
                if math.isfinite(cells.loc[f"sensitivity_{d}", "estimate"]):
                    detectors.add_row(Text(f"{name} -> {d}"), *(_cell(*cells.loc[m if m == "coverage" else f"{m}_{d}"])
                                                                 for m in DETECTOR_COLUMNS))
        tables += [main, detectors]
    return tables


def real_case_tables(sections: Sequence[SectionView]) -> list[Table]:
    """The real-case sections as terminal tables (caption: the n caveat)."""
    tables = []
    for sec in sections:
        for view in sec.tables:
            table = _table(view.title, view.columns[0], view.columns[1:], sec.headline[0])
            for row in view.rows:
                table.add_row(*(Text(str(c)) for c in row))
            tables.append(table)
    return tables


def print_tables(result: BenchmarkResult, console: Console | None = None,
                 real_cases: Sequence[SectionView] = ()) -> None:
    """Print the terminal tables; piped output gets 130 columns instead of Rich's default 80 (which would
    crop the table)."""
    console = console or Console(highlight=False)
    if not console.is_terminal and console.width < 130:
        console = Console(file=console.file, width=130, highlight=False)
    for table in [*terminal_tables(result), *real_case_tables(real_cases)]:
        console.print(table)
