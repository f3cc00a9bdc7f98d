"""``mmn-ddx cohort``: validate, generate and describe cohort files (Rich output).

Exit codes: 0 = success; 1 = the file was rejected as a whole or at least one row was rejected
(so scripts and CI can gate on ``validate``); 2 = wrong command-line usage (Typer's convention).
Nothing here logs patient data: cell values appear only in the user's own terminal and report file.
"""

from __future__ import annotations

import contextlib
import difflib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Column, Table
from rich.text import Text

from mmn_ddx.cli._common import (
    SHOWN_REJECTIONS,
    WARNINGS_TITLE,
    err,
    fail,
    file_progress,
    out,
    read_world,
    refuse_overwriting,
    rejection_table,
    report_warnings,
)
from mmn_ddx.data import (
    DEFAULT_WORLDS,
    DIAGNOSES,
    LABEL,
    WRITE_FORMATS,
    CohortError,
    ImportResult,
    SchemaErrors,
    TableWriter,
    describe_cohort,
    iter_cohort,
    read_cohort,
    write_table,
)
from mmn_ddx.settings import get_settings

if TYPE_CHECKING:
    from mmn_ddx.data import World

cohort_app = typer.Typer(
    name="cohort",
    help="Validate, generate and describe cohort files (.csv UTF-8, .parquet, .xlsx, .jsonl, .json).",
    no_args_is_help=True,
    add_completion=False,
)
@cohort_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Cohort file: .csv (UTF-8), .parquet, .xlsx, .jsonl or .json.")],
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row and report it.")] = False,
    require_label: Annotated[
        bool, typer.Option("--require-label", help="Require a 'diagnosis' for every row (training data).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write every rejection (row, field, value, reason) to "
                                      f"{'/'.join(WRITE_FORMATS)}."),
    ] = None,
) -> None:
    """Check a cohort file against the data dictionary; exit code 1 if any row is rejected.

    Row numbers count data rows from 1: for CSV/Excel row 1 is the line under the header. The file is
    read in chunks (flat memory, however big it is).

    A workbook holds the cohort on one sheet (cells on several sheets refuse it, naming them);
    merged cells over data rows are rejected.
    """
    refuse_overwriting(report, "--report", file)
    tally = _Tally()
    try:
        with contextlib.ExitStack() as stack:
            writer = None if report is None else stack.enter_context(TableWriter(report))
            with file_progress(f"Validating {file.name}") as advance:
                for chunk in iter_cohort(file, require_label=require_label, strict=strict):
                    tally.add(chunk)
                    if writer is not None:
                        writer.write(chunk.rejections)
                    advance(chunk)
    except CohortError as exc:
        raise fail(str(exc)) from None
    out.print(
        Text.assemble(
            f"{file.name}: {tally.n_read} rows read, ",
            (f"{tally.n_valid} accepted", "green"),
            ", ",
            (f"{tally.n_rejected} rejected", "green" if tally.n_rejected == 0 else "red"),
            f" ({tally.n_problems} problems)",
        ),
        soft_wrap=True,
    )
    if len(tally.warnings):
        out.print(rejection_table(tally.warnings, title=WARNINGS_TITLE, show_values=True))
    if report is not None:
        out.print(Text(f"All rejections written to {report}"), soft_wrap=True)
    if tally.n_rejected:
        out.print(rejection_table(tally.shown, title="Rejections", show_values=True))
        if tally.n_problems > SHOWN_REJECTIONS and report is None:
            out.print(f"... first {SHOWN_REJECTIONS} of {tally.n_problems} problems; use --report FILE for all.")
        raise typer.Exit(code=1)


class _Tally:
    """Counts over the chunks of a file, and the first problems and warnings to show."""

    def __init__(self) -> None:
        self.n_read = self.n_valid = self.n_rejected = self.n_problems = 0
        self.shown = pd.DataFrame()
        self.warnings = pd.DataFrame()

    def add(self, chunk: ImportResult) -> None:
        self.n_read += chunk.n_read
        self.n_valid += chunk.n_valid
        self.n_rejected += chunk.n_rejected
        self.n_problems += len(chunk.rejections)
        if len(self.shown) < SHOWN_REJECTIONS and len(chunk.rejections):
            self.shown = pd.concat([self.shown, chunk.rejections.head(SHOWN_REJECTIONS)]).head(SHOWN_REJECTIONS)
        if len(self.warnings) < SHOWN_REJECTIONS and len(chunk.warnings):
            self.warnings = pd.concat([self.warnings, chunk.warnings.head(SHOWN_REJECTIONS)]).head(SHOWN_REJECTIONS)


def parse_class_priors(text: str, presets: dict[str, dict[str, float]]) -> dict[str, float]:
    """A preset name or "MMN=0.25,MND=0.25,...": non-negative weights, normalised to sum 1.

    A diagnosis left out gets weight 0 (e.g. "MMN=1,MND=1" for an MMN-vs-MND study).
    """
    if text in presets:
        return dict(presets[text])
    if "=" not in text:
        raise ValueError(f"unknown preset '{text}': use one of {', '.join(presets)} or 'MMN=0.25,MND=0.25,...'")
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = (piece.strip() for piece in part.partition("="))
        if not sep or name not in DIAGNOSES:
            close = difflib.get_close_matches(name.upper(), DIAGNOSES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(
                f"'{part.strip()}': expected DIAGNOSIS=WEIGHT, DIAGNOSIS one of {', '.join(DIAGNOSES)}{hint}"
            )
        if name in weights:
            raise ValueError(f"{name} is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"{name}: '{value}' is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{name}: weight must be a non-negative number, got '{value}'")
        weights[name] = weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the weights must not all be zero")
    return {d: weights.get(d, 0.0) / total for d in DIAGNOSES}


@cohort_app.command("generate")
def generate(
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help=f"Output file ({', '.join(WRITE_FORMATS)}); default: <home>/data/cohort.parquet "
                               "(home is $MMN_DDX_HOME, else the working directory).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Number of synthetic patients.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same cohort).")] = 0,
    class_priors: Annotated[
        str | None,
        typer.Option(
            "--class-priors",
            help="Diagnosis mix: a preset (balanced, new-patients, follow-up, referral) or weights "
            "'MMN=0.25,MND=0.25,CIDP=0.25,MADSAM=0.25'. Default: the generator's (balanced).",
        ),
    ] = None,
    randomize: Annotated[bool, typer.Option("--randomize", help="Draw each patient from one of K worlds drawn "
                                            "within the literature's uncertainty (seeded by --seed).")] = False,
    worlds: Annotated[int | None, typer.Option("--worlds", min=1, help="With --randomize: the number of worlds "
                                               f"(default {DEFAULT_WORLDS}).")] = None,
    world_file: Annotated[Path | None, typer.Option("--world", exists=True, dir_okay=False, help="A world file "
                                                    "(format of priors.yaml); default: the literature world.")] = None,
) -> None:
    """Generate a synthetic labelled cohort (not real patients) and write it to a file."""
    from mmn_ddx.data import (  # lazy: the model loads in ~1 s
        CLASS_PRIOR_PRESETS,
        draw_worlds,
        generate_cohort,
        validate_cohort,
    )

    if worlds is not None and not randomize:
        raise fail("--worlds needs --randomize", code=2)
    base = _world(world_file)

    output = output or get_settings().cohort_path
    if output.suffix.lower() not in WRITE_FORMATS:
        raise fail(f"{output.name}: cannot write '{output.suffix}' (use {', '.join(WRITE_FORMATS)})")
    try:
        priors = None if class_priors is None else parse_class_priors(class_priors, CLASS_PRIOR_PRESETS)
    except ValueError as exc:
        raise fail(f"--class-priors: {exc}") from None
    world = draw_worlds(worlds or DEFAULT_WORLDS, seed=seed, base=base) if randomize else base
    cohort = generate_cohort(n, seed=seed, class_priors=priors, world=world)
    try:  # the generator's output meets the same contract as imported data, or nothing is written
        validate_cohort(cohort, require_label=True)
    except SchemaErrors as exc:
        raise fail(f"generated cohort violates the data dictionary (generator bug):\n{exc}") from None
    write_table(cohort, output)
    used = priors or CLASS_PRIOR_PRESETS["balanced"]
    out.print(
        Text(f"Wrote {n} synthetic patients (seed {seed}, class priors {class_priors or 'balanced'}) to {output}"),
        soft_wrap=True,
    )
    out.print(Text(f"World: {'literature (data/priors.yaml)' if world is None else world.source}"), soft_wrap=True)
    counts = cohort[LABEL].value_counts()
    table = Table("diagnosis", "prior", "patients", "%")
    for diagnosis in DIAGNOSES:
        count = int(counts.get(diagnosis, 0))
        table.add_row(diagnosis, f"{used.get(diagnosis, 0.0):.3g}", str(count), f"{100 * count / n:.1f}")
    out.print(table)


@cohort_app.command("describe")
def describe(
    file: Annotated[Path, typer.Argument(help="Cohort file: .csv (UTF-8), .parquet, .xlsx, .jsonl or .json.")],
) -> None:
    """Per-diagnosis summary (% recorded, % true, category split, median (IQR)) of the valid rows.

    Laid out to be held against the published frequencies the generator cites (literature-priors.md,
    cited parameter by parameter in data/priors.yaml).
    """
    try:
        result = read_cohort(file)
    except CohortError as exc:
        raise fail(str(exc)) from None
    report_warnings(result)
    if result.n_rejected:
        err.print(
            Text.assemble(
                ("Warning: ", "yellow"),
                f"{result.n_rejected} of {result.n_read} rows rejected and left out; "
                f"run 'mmn-ddx cohort validate {file}' to see why.",
            ),
            soft_wrap=True,
        )
    summary = describe_cohort(result.valid)
    table = Table(
        Column("field", no_wrap=True),
        *(Column(name, justify="right", overflow="fold") for name in summary.columns),
        title=Text(f"{file.name}: {result.n_valid} patients"),
        box=box.SIMPLE_HEAD,
    )
    for field, block in summary.groupby(level="field", sort=False):  # one header row per field: fits 80 columns
        if field != "n":
            table.add_row(Text(str(field), style="bold"))
        for (_, statistic), cells in block.iterrows():
            table.add_row("patients" if field == "n" else f"  {statistic}", *cells)
    out.print(table)


@cohort_app.command("fidelity")
def fidelity(
    n: Annotated[int, typer.Option("--n", min=40, help="Complete synthetic work-ups to generate (balanced). Each "
                                   "generated figure's 95 % Monte Carlo interval narrows with n; 200 000 decides "
                                   "every packaged figure (20 000 leaves some near a bound undecided).")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Also write the table as Markdown.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
    targets: Annotated[
        Path | None, typer.Option("--targets", help="Targets table (YAML); default: the packaged data/fidelity.yaml.")
    ] = None,
    world_file: Annotated[Path | None, typer.Option("--world", exists=True, dir_okay=False, help="A world file "
                                                    "(format of priors.yaml); default: the literature world.")] = None,
) -> None:
    """Generated figures next to the published ones, each with its 95 % Monte Carlo interval.

    Marginals of literature-priors.md and the published criteria's sensitivity / specificity \
(criteria.md section 4), on complete synthetic work-ups (every test done and written down). A figure is \
within (or outside) its tolerance when its whole Monte Carlo interval is; an interval across a bound is \
not decisive at this --n.

    Exit code: 0 every figure within; 1 at least one outside; 3 none outside but some not decisive (rerun \
with a larger --n).
    """
    import json

    from mmn_ddx.data import (
        FIDELITY_VERDICTS,
        GENERATOR_VERSION,
        criteria_figures,
        generate_cohort,
        load_targets,
        marginal_figures,
        to_markdown,
    )
    from mmn_ddx.features.criteria import evaluate_criteria

    try:
        table_spec = load_targets(targets)
    except (OSError, ValueError) as exc:
        raise fail(f"--targets: {exc}") from None
    cohort = generate_cohort(n, seed=seed, complete=True, world=_world(world_file))
    try:
        figures = pd.concat([
            marginal_figures(cohort, table_spec["marginals"]),
            criteria_figures(cohort[LABEL], evaluate_criteria(cohort), table_spec["criteria"]),
        ], ignore_index=True)
    except (KeyError, ValueError) as exc:
        raise fail(f"fidelity targets: {exc}") from None
    within, outside, not_decisive = (int((figures["verdict"] == v).sum()) for v in FIDELITY_VERDICTS)
    title = f"Fidelity of the synthetic world (generator {GENERATOR_VERSION}, {n} complete work-ups, seed {seed})"
    out.print(_fidelity_table(figures, title))
    summary = f"{within} of {len(figures)} figures within tolerance beyond Monte Carlo error"
    summary += f", {outside} outside" if outside else ""
    summary += (f", {not_decisive} not decisive at this --n ('?': the 95 % Monte Carlo (MC) interval crosses a "
                "tolerance bound; a larger --n narrows it)") if not_decisive else ""
    out.print(Text(f"{summary}; synthetic data, not clinically validated.",
                   style="red" if outside else "yellow" if not_decisive else "green"))
    if markdown is not None:
        markdown.write_text(f"### {title}\n\n{to_markdown(figures)}", encoding="utf-8")
    if json_out is not None:
        payload = {"generator_version": GENERATOR_VERSION, "n": n, "seed": seed, "within": within, "outside": outside,
                   "not_decisive": not_decisive, "figures": figures.to_dict(orient="records")}
        json_out.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    if outside or not_decisive:
        raise typer.Exit(code=1 if outside else FIDELITY_NOT_DECISIVE)


FIDELITY_NOT_DECISIVE = 3
"""Exit code of a fidelity run with no figure outside its tolerance but some not decisive at its --n."""


def _fidelity_table(figures: pd.DataFrame, title: str) -> Table:
    """The figures in 80 columns: each generated figure with its Monte Carlo interval, each published one with its
    tolerance; a not-decisive verdict is '?' (the summary line says what it means)."""
    from mmn_ddx.data import FIDELITY_VERDICTS, format_interval, format_value

    shown = dict(zip(FIDELITY_VERDICTS, (Text("yes", "green"), Text("no", "bold red"), Text("?", "yellow")),
                     strict=True))
    widest = int(figures["id"].str.len().max())  # ids stay whole (searchable) even on an 80-column terminal
    table = Table(Column("figure", no_wrap=True, min_width=widest),  # the group is in the id (and the Markdown)
                  *(Column(name, justify="right", no_wrap=True)
                    for name in ("generated (MC 95 %)", "published (tolerance)")),
                  Column("ok", no_wrap=True), title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  collapse_padding=True)
    for row in figures.itertuples(index=False):  # intervals without '%': the figure before them says it
        def beside(value: float, low: float, high: float, statistic: str = row.statistic) -> str:
            return f"{format_value(statistic, value)} ({format_interval(statistic, low, high, unit=False)})"

        table.add_row(row.id, beside(row.generated, row.mc_low, row.mc_high),
                      beside(row.published, row.low, row.high), shown[row.verdict])
    return table


def _world(path: Path | None) -> World | None:
    """The world in ``--world FILE``, or None (the literature world); a bad file is a clear error."""
    return None if path is None else read_world(path)
