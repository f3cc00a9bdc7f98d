"""``mmn-ddx world fit``: update the world's parameters with a labelled real cohort (issue #14).

The cohort is read and validated by the same reader as ``cohort validate`` and ``train --data`` (bad rows
are listed with row, field and reason, and fail the command unless ``--skip-invalid``). Only aggregate
parameters are written: the world file holds no record, its provenance only the cohort's digest and counts
(with ``--skip-invalid``, ``skipped_rows``: each file's rows read, used and rejected).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Column, Table
from rich.text import Text

from mmn_ddx.cli._common import err, fail, out, progress_bars, read_valid, read_world, refuse_overwriting
from mmn_ddx.data import DIAGNOSES, LABEL

if TYPE_CHECKING:
    import pandas as pd

    from mmn_ddx.data import FitReport

world_app = typer.Typer(
    name="world",
    help="Fit the generator's world to your own cohort, with the literature as the prior.",
    no_args_is_help=True,
    add_completion=False,
)
NOTICE = ("The fitted world describes your cohort's records under the generator's model; models trained on it "
          "are trained on synthetic data and are not clinically validated.")


def _absent_diagnoses(cohort: pd.DataFrame) -> list[str]:
    present = set(cohort[LABEL].dropna().astype(str))
    return [d for d in DIAGNOSES if d not in present]


@world_app.command("fit")
def fit(
    data: Annotated[Path, typer.Option("--data", exists=True, dir_okay=False,
                                       help="Labelled cohort (.csv, .parquet, .xlsx, .jsonl, .json).")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="World file to write (YAML).")],
    prior_world: Annotated[Path | None, typer.Option("--prior-world", exists=True, dir_okay=False,
                                                     help="Prior world file; default: the literature world.")] = None,
    prior_strength: Annotated[float, typer.Option("--prior-strength",
                                                  help="Scale of the prior's stated strengths (1 = as stated).")] = 1.0,
    unlabelled: Annotated[Path | None, typer.Option("--unlabelled", exists=True, dir_okay=False,
                                                    help="Records without a diagnosis (it becomes a latent).")] = None,
    report: Annotated[Path | None, typer.Option("--report", dir_okay=False,
                                                help="Also write the report as Markdown.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Parameters shown: those that moved most.")] = 15,
    max_iter: Annotated[int, typer.Option("--max-iter", min=1, help="EM iterations at most.")] = 100,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Leave out invalid rows instead of "
                                                                      "failing (they are listed).")] = False,
) -> None:
    """MAP estimates of the world's latent-state weights from your cohort (EM, literature prior); writes a
    world file in the format of priors.yaml with a provenance block, and a report of what moved."""
    from mmn_ddx.data import fit_world

    refuse_overwriting(output, "--output", data, unlabelled, prior_world)
    refuse_overwriting(report, "--report", data, unlabelled, prior_world, output)
    labelled = read_valid(data, skip_invalid=skip_invalid, require_label=True, option="--data", purpose="fitting on")
    extra = None if unlabelled is None else read_valid(unlabelled, skip_invalid=skip_invalid, option="--unlabelled",
                                                       purpose="fitting on")
    cohort, skipped = labelled.frame, [r.skipped for r in (labelled, extra) if r is not None and r.skipped]
    prior = None if prior_world is None else read_world(prior_world, "--prior-world")
    with progress_bars(console=err) as bars:
        advance = bars("EM iterations", max_iter)
        try:
            result = fit_world(cohort, prior=prior, strength=prior_strength,
                               unlabelled=None if extra is None else extra.frame, max_iter=max_iter,
                               on_iteration=lambda _i, _lp: advance(1), skipped=skipped)
        except ValueError as exc:
            raise fail(str(exc)) from None
    result.world.to_yaml(output)
    out.print(_table(result.report, top))
    out.print(Text(_summary(result.report, output), style="green" if result.report.converged else "yellow"),
              soft_wrap=True)
    out.print(Text("Not fitted (kept at the prior): " + "; ".join(result.report.not_fitted) + "."), soft_wrap=True)
    absent = _absent_diagnoses(cohort)
    if absent:  # the fit cannot move what the cohort does not show: say so where it is read
        err.print(Text(f"Warning: no {', '.join(absent)} patient in {data.name}: the parameters of "
                       f"{'that diagnosis' if len(absent) == 1 else 'those diagnoses'} stay at the prior's.",
                       style="yellow"), soft_wrap=True)
    out.print(Text(NOTICE, style="dim"), soft_wrap=True)
    if report is not None:
        report.write_text(to_markdown(result.report, top, output), encoding="utf-8")


def _summary(report: FitReport, output: Path) -> str:
    iterations = len(report.log_posterior)
    state = f"converged after {iterations} iterations" if report.converged else \
        f"stopped after {iterations} iterations without converging (raise --max-iter)"
    return (f"World written to {output}: {report.labelled} labelled and {report.unlabelled} unlabelled records, "
            f"prior strength {report.strength:g}, EM {state}.")


def _rows(report: FitReport, top: int) -> list[tuple[str, str, str, str, str, str]]:
    return [(w.name, w.group, f"{w.prior:.3f}", f"{w.fitted:.3f}", f"{w.low:.3f}–{w.high:.3f}",
             f"{w.effective_n:.0f}") for w in report.moved_most(top)]


HEADERS = ("parameter", "group", "prior", "fitted", "90 % interval", "n eff")


def _table(report: FitReport, top: int) -> Table:
    """The group is in the path; a long path folds within its column rather than squeezing the numbers."""
    table = Table(Column(HEADERS[0], overflow="fold", min_width=32),
                  *(Column(h, justify="right", no_wrap=True) for h in HEADERS[2:]),
                  title=f"The {top} parameters that moved most", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for row in _rows(report, top):
        table.add_row(*(Text(cell) for cell in (row[0], *row[2:])))  # text, not markup: "[category]"
    return table


def to_markdown(report: FitReport, top: int, output: Path) -> str:
    """The report as Markdown: what moved most, what was not fitted, the notice."""
    lines = ["# World fit report", "", _summary(report, output), "",
             f"## The {top} parameters that moved most", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in _rows(report, top)]
    lines += ["", "## Not fitted (kept at the prior)", "", *(f"- {group}" for group in report.not_fitted), "",
              NOTICE, ""]
    return "\n".join(lines)
