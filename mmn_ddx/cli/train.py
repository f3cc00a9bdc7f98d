"""``mmn-ddx train``: train, track, register and export the champion (Rich progress and summary).

Exit codes: 0 = trained; 1 = the cohort was rejected (unreadable file, bad rows without
``--skip-invalid``, a diagnosis missing); 2 = wrong command-line usage (Typer's convention).
Patient values appear only in the user's own terminal (the rejection table), never in MLflow or logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from mmn_ddx.cli._common import ValidCohort, fail, out, progress_bars, read_valid, read_world
from mmn_ddx.data import DEFAULT_WORLDS, GENERATOR_VERSION, SkippedRows, World, generate_cohort
from mmn_ddx.features import MODES
from mmn_ddx.settings import get_settings
from mmn_ddx.training.artifact.metadata import SYNTHETIC_SOURCE, with_user_cohort
from mmn_ddx.training.fitting import FAMILY_NAMES, TrainingDataError, TrainingResult, TrainSettings, train

train_app = typer.Typer(add_completion=False)


def load_training_data(data: Path, skip_invalid: bool) -> ValidCohort:
    """Read a labelled cohort; bad rows fail the run unless ``skip_invalid`` (then they are left out, and counted)."""
    return read_valid(data, skip_invalid=skip_invalid, require_label=True, purpose="training on")


def _worlds(asked: int | None, world: World | None) -> int | None:
    """``--worlds``, else :data:`DEFAULT_WORLDS` around the literature world, else none around a world file (see
    ``--help``)."""
    return asked if asked is not None else None if world is not None else DEFAULT_WORLDS


def _training_data(data: Path | None, skip_invalid: bool, synthetic: int | None, settings: TrainSettings
                   ) -> tuple[pd.DataFrame, str, str | None, SkippedRows | None]:
    """The training patients, their source, generator version and the cohort's rows left out: the cohort, the
    synthetic patients, or both (then concatenated: a real patient counts as much as a synthetic one, with balanced
    class weights)."""
    real = None if data is None else load_training_data(data, skip_invalid)
    skipped = None if real is None else real.skipped
    if synthetic is None:
        assert real is not None and data is not None
        return real.frame, data.name, None, skipped
    generated = generate_cohort(synthetic, seed=settings.seed, world=settings.synthetic_world())
    if real is None or data is None:
        return generated, SYNTHETIC_SOURCE, GENERATOR_VERSION, None
    return (pd.concat([generated, real.frame], ignore_index=True), with_user_cohort(data.name), GENERATOR_VERSION,
            skipped)


def _summary(result: TrainingResult) -> Table:
    table = Table("family", "outer log-loss (95 % CI)", "outer macro AUROC", "held-out log-loss", "calibration",
                  title=f"{result.settings.model_name} ({result.settings.mode})", title_justify="left")
    for name, r in result.candidates.results.items():
        lo, hi = r.outer_ci.get("log_loss", (float("nan"), float("nan")))
        mark = " [bold green](champion)[/]" if name == result.champion else ""
        cal = "none" if r.calibration.is_identity else f"{r.calibration.kind} {r.calibration.value:.3g}"
        table.add_row(name + mark, f"{r.outer_log_loss:.4f} ({lo:.4f}-{hi:.4f})",
                      f"{r.outer_metrics['macro_auroc']:.4f}", f"{r.holdout_metrics.get('log_loss', float('nan')):.4f}",
                      cal)
    return table


@train_app.command("train")
def train_command(
    data: Annotated[Path | None, typer.Option("--data", help="Labelled cohort (.csv, .parquet, .xlsx, .jsonl, .json).",
                                              exists=True, dir_okay=False)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Train on the valid rows of --data, "
                                                                     "leaving out rejected rows.")] = False,
    synthetic: Annotated[int | None, typer.Option("--synthetic", min=100,
                                                  help="Train on N generated patients.")] = None,
    mode: Annotated[str, typer.Option("--mode", help=f"Feature mode: {' | '.join(MODES)}.")] = MODES[0],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split, the folds and the models.")] = 0,
    export_dir: Annotated[Path | None, typer.Option("--export-dir", help="Where the champion is exported (default: "
                                                    "<home>/models; home is $MMN_DDX_HOME, else the working "
                                                    "directory).")] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow store (default: "
                                                     "$MLFLOW_TRACKING_URI, else sqlite:///<home>/mlruns.db).")] = None,
    families: Annotated[str, typer.Option("--families",
                                          help="Comma-separated model families.")] = ",".join(FAMILY_NAMES),
    quick: Annotated[bool, typer.Option("--quick", help="One parameter set per family (no search).")] = False,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log and register in MLflow.")] = True,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes for the CV folds.")] = 2,
    refit_synthetic: Annotated[int | None, typer.Option(
        "--refit-synthetic", min=1000, help="With --synthetic: export the champion refitted on N fresh synthetic "
        "patients (the nested CV still runs on the --synthetic cohort).")] = None,
    posterior_targets: Annotated[bool, typer.Option(
        "--posterior-targets", help="With --refit-synthetic: the refit fits each synthetic patient's exact "
        "posterior (its world's Bayes answer) instead of its drawn diagnosis, and may use up to five times the "
        "trees: closer to the Bayes ceiling for the same patients, at a few ms per patient for the posterior (both "
        "cores).")] = False,
    world_file: Annotated[Path | None, typer.Option(
        "--world", exists=True, dir_okay=False, help="With --synthetic: draw the patients from this world file "
        "(format of priors.yaml, e.g. fitted to your cohort by `mmn-ddx world fit`) instead of the literature "
        "world; with --data as well, your cohort is added to the synthetic patients, each real patient weighted "
        "like one synthetic patient.")] = None,
    worlds: Annotated[int | None, typer.Option("--worlds", min=1, help="With --synthetic: draw the patients from K "
                                               "worlds drawn within the stated uncertainty around the base world "
                                               f"(seeded by --seed). Default: {DEFAULT_WORLDS} around the literature "
                                               "world; with --world none, the world itself: a fitted world already "
                                               "carries its cohort's evidence, and a redraw would spread it "
                                               "again by the literature's uncertainty.")] = None,
    nominal_world: Annotated[bool, typer.Option("--nominal-world", help="With --synthetic: the literature world "
                                                "(or the --world) only, no randomised worlds.")] = False,
    shift_worlds: Annotated[int, typer.Option("--shift-worlds", min=0, help="With --synthetic: the model card states "
                                              "the exported model's log-loss against the Bayes ceiling and its "
                                              "set coverage on K worlds drawn around the base world that training "
                                              "did not use (0: skip).")] = 5,
    shift_patients: Annotated[int, typer.Option("--shift-patients", min=100, help="Synthetic patients per world of "
                                                "that check (about 2 ms each for the exact posterior).")] = 400,
) -> None:
    """Train every model family with nested CV, choose and export the champion, register it in MLflow."""
    both = data is not None and synthetic is not None
    if (data is None and synthetic is None) or (both and world_file is None):
        raise fail("give exactly one of --data FILE or --synthetic N (both together only with --world FILE)", code=2)
    if world_file is not None and synthetic is None:
        raise fail("--world draws synthetic patients: give --synthetic N (and --data FILE to add your cohort)", code=2)
    if synthetic is None and (worlds is not None or nominal_world):
        raise fail("--worlds and --nominal-world choose the worlds synthetic patients are drawn from: give "
                   "--synthetic N with them", code=2)
    if refit_synthetic is not None and data is not None:
        raise fail("--refit-synthetic adds generated patients: use it with --synthetic, not with --data", code=2)
    if posterior_targets and refit_synthetic is None:
        raise fail("--posterior-targets sets how the refit learns: give --refit-synthetic N with it", code=2)
    if mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}", code=2)
    chosen = tuple(f.strip() for f in families.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FAMILY_NAMES]
    if unknown or not chosen:
        raise fail(f"unknown families {unknown}; choose from {', '.join(FAMILY_NAMES)}", code=2)
    world = None if world_file is None else read_world(world_file)
    settings = TrainSettings(mode=mode, seed=seed, families=chosen, quick=quick, n_jobs=jobs,
                             refit_synthetic=refit_synthetic, posterior_targets=posterior_targets, world=world,
                             shift_worlds=shift_worlds, shift_patients=shift_patients,
                             worlds=None if nominal_world or synthetic is None else _worlds(worlds, world))
    frame, source, generator, skipped = _training_data(data, skip_invalid, synthetic, settings)
    origin = f"{source}; {settings.worlds_description}" if generator else source
    out.print(f"Training [bold]{settings.model_name}[/] on {len(frame)} patients ({origin}), mode {mode}, seed {seed}.")
    try:
        with progress_bars() as progress:
            result = train(frame, settings, export_dir=export_dir or get_settings().models_dir, source=source,
                           generator_version=generator, skipped=skipped,
                           track=track, tracking_uri=tracking_uri, progress=progress)
    except TrainingDataError as exc:
        raise fail(str(exc)) from None
    out.print(_summary(result))
    if result.candidates.refit is not None:
        held_out = result.candidates.refit.holdout_metrics["log_loss"]
        targets = " on their exact posterior" if settings.posterior_targets else ""
        out.print(f"Exported model: refitted on {settings.refit_synthetic} synthetic patients{targets} "
                  f"({result.bundle.metadata.params}); held-out log-loss {held_out:.4f}.")
    _report_outcome(result, tracking_uri or get_settings().tracking_uri)


def _report_outcome(result: TrainingResult, tracking_uri: str) -> None:
    if result.tracked is not None:
        p = result.tracked.promotion
        name, version = result.settings.model_name, result.tracked.version
        verdict = "[green]promoted to @champion[/]" if p.promoted else "[yellow]not promoted[/]"
        out.print(f"Registered {name} version {version}: {verdict} ({p.reason}).")
        if not p.promoted:  # predict, serve and benchmark keep the champion: how to use this one anyway
            out.print(f"Use this version with predict/serve --model models:/{name}/{version}.", markup=False)
        out.print(f"MLflow run {result.tracked.run_id}; browse with `mlflow ui --backend-store-uri {tracking_uri}`.",
                  markup=False)
    if result.export_path is not None:
        what = "exported to" if result.exported_new_model else "export left unchanged (champion kept):"
        out.print(f"Champion {what} {result.export_path}")
    out.print("[dim]Trained on synthetic or unvalidated data: not for clinical use.[/]")
