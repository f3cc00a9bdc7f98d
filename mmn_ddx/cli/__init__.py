"""The ``mmn-ddx`` command: one Typer app assembled from each layer's own commands."""

from __future__ import annotations

import os

import typer

from mmn_ddx.cli.benchmark import benchmark_app
from mmn_ddx.cli.cohort import cohort_app
from mmn_ddx.cli.criteria import criteria_app
from mmn_ddx.cli.predict import predict_app
from mmn_ddx.cli.serve import serve_app
from mmn_ddx.cli.train import train_app
from mmn_ddx.cli.world import world_app

app = typer.Typer(
    name="mmn-ddx",
    help="Differential diagnosis of asymmetric weakness: MMN vs MND, CIDP and MADSAM.\n\n"
    "Models trained on synthetic data are not clinically validated: not for clinical use.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _quiet_model_downloads() -> None:
    """MLflow draws a progress bar for each model it copies out of the local store (13 small files for one
    prediction); the command's own output is what a user reads. Set the variable to true to see it."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


app.add_typer(cohort_app, name="cohort")
app.add_typer(world_app, name="world")
# Single-command sub-apps are mounted without a name so that they run as `mmn-ddx <command>`.
for single_command in (criteria_app, train_app, benchmark_app, predict_app, serve_app):
    app.add_typer(single_command)

if __name__ == "__main__":  # pragma: no cover
    app()
