"""Helpers every ``mmn-ddx`` command shares: the error exit, reading a cohort (``--skip-invalid`` and
its rejection table) or a world file, and the Rich progress bars.

Messages name user files, columns and values: they are printed as plain text, never parsed as Rich
markup (a patient_id such as ``[red]`` must print as written). Patient values appear only in the
user's own terminal, and only where a command shows them on purpose (``show_values``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from mmn_ddx.data import CohortError, ImportResult, SkippedRows, read_cohort

if TYPE_CHECKING:
    from mmn_ddx.data import World

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
SHOWN_REJECTIONS = 20
ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""``factory(description, total)`` -> ``advance(n)``: what training reports its progress to."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` on stderr and return the exit to raise (1: bad input; 2: wrong usage)."""
    err.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(code=code)


def refuse_overwriting(output: Path | None, option: str, *inputs: Path | None) -> None:
    """Exit 2 before anything is written when ``output`` is one of the command's ``inputs``: writing the report
    or the scores over the cohort they come from destroyed it without a word (with ``--skip-invalid`` the
    rejected rows were then gone for good)."""
    if output is None:
        return
    for source in inputs:
        if source is not None and (output.resolve() == source.resolve()
                                   or (output.exists() and source.exists() and output.samefile(source))):
            raise fail(f"{option} {output} is the input file {source}: writing there would overwrite it; "
                       "choose another path.", code=2)


def read_world(path: Path, option: str = "--world") -> World:
    """The world in a world file given by ``option`` (format of priors.yaml); a bad file fails the command
    naming the option, the file and the problem."""
    from mmn_ddx.data import load_world

    try:
        return load_world(path)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise fail(f"{option} {path.name}: {exc}") from None


def warn(message: str) -> None:
    err.print(Text.assemble(("Warning: ", "yellow"), message), soft_wrap=True)


def rejection_table(rejections: pd.DataFrame, *, title: str, show_values: bool,
                    limit: int = SHOWN_REJECTIONS) -> Table:
    """The first ``limit`` problems (row, field, [value,] reason); values only where the command shows them."""
    table = Table("row", "field", *(["value"] if show_values else []), "reason", title=title, title_justify="left")
    for row in rejections.head(limit).itertuples(index=False):
        value = ["" if pd.isna(row.value) else str(row.value)] if show_values else []
        table.add_row(*(Text(cell) for cell in (str(row.row), str(row.field), *value, str(row.reason))))
    return table


@dataclass(frozen=True)
class ValidCohort:
    """A cohort file's valid rows, and the count of rows ``--skip-invalid`` left out (None: none were), which
    whatever learns from the rows records (bundle, card, MLflow run, world file, benchmark report)."""

    frame: pd.DataFrame
    skipped: SkippedRows | None = None


def read_valid(path: Path, *, skip_invalid: bool, require_label: bool = False, option: str = "",
               purpose: str = "using", show_values: bool = True, console: Console = out) -> ValidCohort:
    """The valid rows of a cohort file, for commands that need the whole cohort (train, benchmark, criteria).

    A file-level problem fails the command; rejected rows are listed and fail it too unless
    ``skip_invalid`` (then they are left out, said so and counted in :attr:`ValidCohort.skipped`); no valid
    row at all fails it.
    """
    prefix = f"{option} " if option else ""
    try:
        result = read_cohort(path, require_label=require_label)
    except CohortError as exc:
        raise fail(f"{prefix}{exc}") from None
    report_warnings(result, console=console)
    if result.n_rejected:
        console.print(rejection_table(result.rejections, title=f"Rejected rows of {path.name}",
                                      show_values=show_values))
        if len(result.rejections) > SHOWN_REJECTIONS:
            console.print(Text(f"... first {SHOWN_REJECTIONS} of {len(result.rejections)} problems "
                               f"(`mmn-ddx cohort validate {path} --report FILE` lists all)."), soft_wrap=True)
        if not skip_invalid:
            raise fail(f"{prefix}{path.name}: {result.n_rejected} of {result.n_read} rows rejected; fix them, or "
                       "pass --skip-invalid to use the valid rows only")
        warn(f"Skipping {result.n_rejected} invalid row(s); {purpose} {result.n_valid} of {result.n_read} rows.")
    if result.n_valid == 0:
        raise fail(f"{prefix}{path.name}: no valid rows")
    skipped = SkippedRows(path.name, result.n_read, result.n_valid, result.n_rejected) if result.n_rejected else None
    return ValidCohort(result.valid, skipped)


WARNINGS_TITLE = "Warnings (rows accepted)"
"""The title of the table of accepted cells to check (every command that reads a cohort prints it)."""


def report_warnings(result: ImportResult, *, console: Console = err) -> None:
    """Accepted cells the user should check (an Excel formula whose stored result was used)."""
    if len(result.warnings):
        console.print(rejection_table(result.warnings, title=WARNINGS_TITLE, show_values=False))


@contextlib.contextmanager
def progress_bars(console: Console = out) -> Iterator[ProgressFactory]:
    """Named bars for long steps (training folds, benchmark scoring)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        def factory(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield factory


@contextlib.contextmanager
def file_progress(description: str, console: Console = err) -> Iterator[Callable[[ImportResult], None]]:
    """One bar through a file read chunk by chunk (:func:`data.importer.iter_cohort`): bytes or rows."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[rows]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=None, rows="")
        rows = 0

        def update(chunk: ImportResult) -> None:
            nonlocal rows
            rows += chunk.n_read
            progress.update(task, completed=chunk.done, total=chunk.total, rows=f"{rows:,} rows")

        yield update
