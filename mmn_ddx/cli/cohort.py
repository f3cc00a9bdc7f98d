"""``mmn-ddx cohort``: validate, generate and describe cohort files (Rich output).

Exit codes: 0 = success; 1 = the file was rejected as a whole or at least one row was rejected
(so scripts and CI can gate on ``validate``); 2 = wrong command-line usage (Typer's convention).
Nothing here logs patient data: cell values appear only in the user's own terminal and report file.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from mmn_ddx.data._pandera import errors as pa_errors
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.describe import describe_cohort
from mmn_ddx.data.formats import WRITE_FORMATS
from mmn_ddx.data.importer import CohortError, read_cohort, write_table

cohort_app = typer.Typer(
    name="cohort",
    help="Validate, generate and describe cohort files (.csv UTF-8, .parquet, .xlsx, .jsonl, .json).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

SHOWN_REJECTIONS = 20


def _fail(message: str) -> typer.Exit:
    """Print on stderr and return the exit; messages name user columns/files, so never parse markup."""
    err.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(code=1)


@cohort_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Cohort file: .csv (UTF-8), .parquet, .xlsx, .jsonl or .json.")],
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row and report it.")] = False,
    require_label: Annotated[
        bool, typer.Option("--require-label", help="Require a 'diagnosis' for every row (training data).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write every rejection (row, field, value, reason) to .csv/.parquet/.jsonl."),
    ] = None,
) -> None:
    """Check a cohort file against the data dictionary; exit code 1 if any row is rejected.

    Row numbers count data rows from 1: for CSV/Excel row 1 is the line under the header.
    """
    try:
        result = read_cohort(file, require_label=require_label, strict=strict)
    except CohortError as exc:
        raise _fail(str(exc)) from None
    out.print(
        Text.assemble(
            f"{file.name}: {result.n_read} rows read, ",
            (f"{result.n_valid} accepted", "green"),
            ", ",
            (f"{result.n_rejected} rejected", "green" if result.n_rejected == 0 else "red"),
            f" ({len(result.rejections)} problems)",
        ),
        soft_wrap=True,
    )
    if report is not None:
        try:
            write_table(result.rejections, report)
        except CohortError as exc:
            raise _fail(str(exc)) from None
        out.print(Text(f"All rejections written to {report}"), soft_wrap=True)
    if result.n_rejected:
        table = Table("row", "field", "value", "reason", title="Rejections", title_justify="left")
        for row in result.rejections.head(SHOWN_REJECTIONS).itertuples(index=False):
            value = "" if pd.isna(row.value) else str(row.value)
            table.add_row(*(Text(cell) for cell in (str(row.row), str(row.field), value, str(row.reason))))
        out.print(table)
        if len(result.rejections) > SHOWN_REJECTIONS and report is None:
            out.print(f"... first {SHOWN_REJECTIONS} of {len(result.rejections)} problems; use --report FILE for all.")
        raise typer.Exit(code=1)


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
            raise ValueError(f"'{part.strip()}': expected DIAGNOSIS=WEIGHT, DIAGNOSIS one of {', '.join(DIAGNOSES)}{hint}")
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
    output: Annotated[Path, typer.Option("-o", "--output", help=f"Output file ({', '.join(WRITE_FORMATS)}).")],
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
) -> None:
    """Generate a synthetic labelled cohort (not real patients) and write it to a file."""
    from mmn_ddx.data.generator import CLASS_PRIOR_PRESETS, generate_cohort  # lazy: the model loads in ~1 s
    from mmn_ddx.data.schema import validate_cohort

    if output.suffix.lower() not in WRITE_FORMATS:
        raise _fail(f"{output.name}: cannot write '{output.suffix}' (use {', '.join(WRITE_FORMATS)})")
    try:
        priors = None if class_priors is None else parse_class_priors(class_priors, CLASS_PRIOR_PRESETS)
    except ValueError as exc:
        raise _fail(f"--class-priors: {exc}") from None
    cohort = generate_cohort(n, seed=seed, class_priors=priors)
    try:  # the generator's output meets the same contract as imported data, or nothing is written
        validate_cohort(cohort, require_label=True)
    except pa_errors.SchemaErrors as exc:
        raise _fail(f"generated cohort violates the data dictionary (generator bug):\n{exc}") from None
    write_table(cohort, output)
    used = priors or CLASS_PRIOR_PRESETS["balanced"]
    out.print(
        Text(f"Wrote {n} synthetic patients (seed {seed}, class priors {class_priors or 'balanced'}) to {output}"),
        soft_wrap=True,
    )
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

    Laid out to be held against /work/shared/clinical/literature-priors.md.
    """
    try:
        result = read_cohort(file)
    except CohortError as exc:
        raise _fail(str(exc)) from None
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
