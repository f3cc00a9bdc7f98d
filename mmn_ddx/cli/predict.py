"""``mmn-ddx predict``: an explained prediction for one patient, or a scored table for a cohort file.

    mmn-ddx predict patient.json                  # Rich view: bars, set, findings, criteria, next test
    mmn-ddx predict patient.json --json           # the PredictionResult as JSON
    mmn-ddx predict cohort.csv -o scored.parquet  # one row per patient (.csv, .parquet, .jsonl)

Exit codes: 0 = success; 1 = invalid input (nothing written unless ``--skip-invalid``), no model, or an
unreadable file; 2 = wrong usage (Typer). Invalid rows are reported as row, field and reason - never the
value - and a batch with invalid rows writes nothing unless ``--skip-invalid`` is given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mmn_ddx.data.contract import ID_FIELD
from mmn_ddx.data.formats import WRITE_FORMATS
from mmn_ddx.data.record import RecordError

if TYPE_CHECKING:  # the model stack takes seconds to import: only the predict command loads it
    import pandas as pd

    from mmn_ddx.serving.predictor import Predictor

predict_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="Explained predictions: one patient (.json) or a cohort file.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

CHUNK = 2000
"""Patients per vectorised batch: progress granularity without losing the batch speed-up."""
SHOWN_PROBLEMS = 20
BATCH_THREADS = max(1, min(2, os.cpu_count() or 1))
"""A batch uses the machine (the target has 2 cores); one patient runs single-threaded (see limit_threads)."""


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    return typer.Exit(code=1)


@predict_app.command("predict")
def predict(
    file: Annotated[Path, typer.Argument(help="patient.json (one record) or a cohort: .csv, .parquet, .jsonl, .xlsx, .json list.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help=f"Batch output table ({', '.join(WRITE_FORMATS)}).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the PredictionResult JSON (batch: JSON Lines).")] = False,
    model: Annotated[str | None, typer.Option("--model", help="MLflow model URI or model directory (default: the champion).")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="Model mode: at-presentation (default) or with-treatment.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Batch: skip invalid rows (reported) instead of failing.")] = False,
    next_test: Annotated[bool, typer.Option("--next-test/--no-next-test", help="Batch: add the next most informative test (slower).")] = False,
) -> None:
    """Predict MMN / MND / CIDP / MADSAM with explanations. Research software: not for clinical use."""
    from mmn_ddx.features.modes import MODES
    from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor

    if mode is not None and mode not in MODES:
        raise _fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not file.is_file():
        raise _fail(f"{file}: no such file")
    single = _single_record(file)
    if output is not None and output.suffix.lower() not in WRITE_FORMATS:
        raise _fail(f"{output.name}: cannot write '{output.suffix}' (use {', '.join(WRITE_FORMATS)})")
    try:
        predictor = Predictor.load(model, mode, threads=1 if single is not None else BATCH_THREADS)
    except (ModelNotFoundError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if single is not None:
        _predict_one(predictor, single, as_json)
    else:
        _predict_batch(predictor, file, output, as_json=as_json, skip_invalid=skip_invalid, next_test=next_test)


def _single_record(file: Path) -> dict | None:
    """The raw record of a one-patient .json file, or None for a cohort file (a .json list included)."""
    if file.suffix.lower() != ".json":
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"{file.name}: not a readable JSON file ({exc.__class__.__name__})") from None
    return raw if isinstance(raw, dict) else None


def _predict_one(predictor: Predictor, raw: dict, as_json: bool) -> None:
    from mmn_ddx.serving.render import render

    try:
        result = predictor.predict(raw)
    except RecordError as exc:
        _print_problems({1: exc.problems}, title="Invalid record")
        raise typer.Exit(code=1) from None
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        out.print(render(result))


def _predict_batch(predictor: Predictor, file: Path, output: Path | None, *, as_json: bool, skip_invalid: bool,
                   next_test: bool) -> None:
    from mmn_ddx.data.importer import CohortError, read_cohort, write_table

    try:
        imported = read_cohort(file)
    except CohortError as exc:
        raise _fail(str(exc)) from None
    problems = _rejections(imported.rejections)  # the schema's cross-field rules included
    if problems:
        _print_problems(problems, title=f"{file.name}: {len(problems)} invalid row(s)")
        if not skip_invalid:
            raise _fail("nothing written; fix the rows or pass --skip-invalid to score the valid ones")
        err.print(f"[yellow]Skipping {len(problems)} invalid row(s).[/]")
    valid = imported.valid.drop(index=[r for r in problems if r in imported.valid.index])
    if valid.empty:
        raise _fail("no valid rows to score")
    table = _score_chunks(predictor, valid, print_json=as_json, make_table=output is not None or not as_json,
                          next_test=next_test)
    if table is None:
        return
    if output is None:
        _print_table(table)
        return
    try:
        write_table(table, output)
    except CohortError as exc:
        raise _fail(str(exc)) from None
    err.print(f"Scored {len(table)} patients -> {output}")


def _score_chunks(predictor: Predictor, valid: pd.DataFrame, *, print_json: bool, make_table: bool,
                  next_test: bool) -> pd.DataFrame | None:
    """Score chunk by chunk under a progress bar; JSON Lines are printed as they come."""
    import pandas as pd

    from mmn_ddx.serving.batch import score_table
    from mmn_ddx.serving.records import BatchRecordError

    parts = []
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("scoring", total=len(valid))
        for start in range(0, len(valid), CHUNK):
            chunk = valid.iloc[start:start + CHUNK]
            try:
                if print_json:
                    for result in predictor.predict_many(chunk):
                        out.print(result.model_dump_json(), soft_wrap=True, markup=False, highlight=False)
                if make_table:
                    parts.append(score_table(predictor, chunk, with_next_test=next_test))
            except BatchRecordError as exc:
                _print_problems(exc.rows, title="Invalid rows")
                raise typer.Exit(code=1) from None
            except RecordError as exc:
                raise _fail("; ".join(f"{field}: {reason}" for field, reason in exc.problems.items())) from None
            progress.advance(task, len(chunk))
    return pd.concat(parts) if parts else None


def _rejections(rejections: pd.DataFrame) -> dict[int, dict[str, str]]:
    problems: dict[int, dict[str, str]] = {}
    for row, field, reason in zip(rejections["row"], rejections["field"], rejections["reason"], strict=True):
        problems.setdefault(int(row), {}).setdefault(str(field), str(reason))
    return problems


def _print_problems(problems: dict[int, dict[str, str]], *, title: str) -> None:
    """Row, field and reason of every problem (first few): never the value, which is patient data."""
    table = Table("row", "field", "reason", title=title, title_justify="left")
    shown = 0
    for row in sorted(problems):
        for field, reason in problems[row].items():
            if shown < SHOWN_PROBLEMS:
                table.add_row(str(row), field, reason)
            shown += 1
    err.print(table, markup=False)
    if shown > SHOWN_PROBLEMS:
        err.print(f"... {shown - SHOWN_PROBLEMS} more problems (run 'mmn-ddx cohort validate --report FILE').")


def _print_table(table: pd.DataFrame) -> None:
    """A terminal summary of a scored batch (the file written with -o holds every column)."""
    from mmn_ddx.serving.alerts import SYNTHETIC
    from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE

    view = Table(ID_FIELD, "predicted", "p", "set", "criteria", "warnings", title="Predictions", title_justify="left")
    for row in table.itertuples(index=False):
        p = getattr(row, f"p_{row.predicted_diagnosis}")
        shown = [w for w in str(row.warnings).split(";") if w and w != SYNTHETIC.code]  # the notice says it once
        view.add_row(str(getattr(row, ID_FIELD) or "-"), row.predicted_diagnosis, f"{100 * p:.0f} %",
                     row.prediction_set, str(row.criteria_label), ", ".join(shown))
    out.print(view)
    out.print(NOT_FOR_CLINICAL_USE, style="bold red")
