"""The ``mmn-ddx`` command: one Typer app assembled from each layer's own commands."""

from __future__ import annotations

import typer

from data.cli import cohort_app

app = typer.Typer(
    name="mmn-ddx",
    help="Differential diagnosis of asymmetric weakness: MMN vs MND, CIDP and MADSAM.\n\n"
    "Models trained on synthetic data are not clinically validated: not for clinical use.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cohort_app, name="cohort")

if __name__ == "__main__":  # pragma: no cover
    app()
