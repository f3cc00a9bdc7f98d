"""``mmn-ddx benchmark``: models vs published criteria vs the Bayes ceiling, in both feature modes.

Exit codes: 0 = benchmarked; 1 = a cohort or model could not be used (unreadable file, rejected rows
without ``--skip-invalid``, a diagnosis missing, a bundle that does not load); 2 = wrong usage.
The report files and the MLflow run hold aggregate metrics only; patient values appear only in the
user's own terminal (the rejection table of ``--data``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from mmn_ddx.cli._common import ValidCohort, fail, out, progress_bars, read_valid, read_world
from mmn_ddx.cli._leakage import refuse_own_patients, refuse_training_rows
from mmn_ddx.data import GENERATOR_VERSION, World, generate_cohort, world_name
from mmn_ddx.features import MODES
from mmn_ddx.settings import MODEL_NAMES, get_settings
from mmn_ddx.training.evaluation import (
    COHORT_SETTING,
    PRIOR_SETTINGS,
    BenchmarkResult,
    Cohort,
    ModeModels,
    ProbaFn,
    SetsFn,
    TrainingOrigin,
    run_benchmark,
    world_digest,
)
from mmn_ddx.training.fitting import FAMILY_NAMES, ProgressFactory

if TYPE_CHECKING:
    from mmn_ddx.training.artifact import RecordFingerprints
    from mmn_ddx.training.evaluation.real_cases import RealCases
    from mmn_ddx.training.evaluation.report import SectionView

benchmark_app = typer.Typer(add_completion=False)
DEV_CASES = Path("../shared/clinical/real-cases/dev.jsonl")
"""The real development cases beside the repository (run from its root); reported when present."""


def read_labelled(path: Path, skip_invalid: bool, option: str) -> ValidCohort:
    """A labelled cohort's valid rows; rejected rows fail the run unless ``skip_invalid`` (then they are counted)."""
    return read_valid(path, skip_invalid=skip_invalid, require_label=True, option=option)


@dataclass(frozen=True)
class SavedChampion:
    """A champion loaded from an export or the registry, with what the leak check needs."""

    label: str
    predict: ProbaFn
    provenance: str
    synthetic_seed: int | None
    """The seed of its synthetic training data (alone or with a user cohort), None for a user cohort alone."""
    training_digest: str = ""
    """The content digest of its training cohort (the bundle's ``training_data_digest``)."""
    sets: SetsFn | None = None
    """Its conformal prediction sets (the bundle's)."""
    origin: TrainingOrigin | None = None
    """The world it learnt from (its bundle's metadata): a test cohort of another world says so."""
    fingerprints: RecordFingerprints | None = None
    """Its user-cohort training records' fingerprints (the bundle's), None for a synthetic-only or older bundle."""


@dataclass(frozen=True)
class ChampionChoice:
    """Where the champion of each mode comes from: the benchmark's own training, or a saved bundle."""

    spec: str
    export_dir: Path

    def load(self, mode: str) -> SavedChampion | None:
        """The saved champion for ``mode``, or None to use the one trained by the benchmark."""
        from mmn_ddx.training.artifact import BundleError, load_bundle

        if self.spec == "trained":
            return None
        location = self.export_dir / MODEL_NAMES[mode] if self.spec == "auto" else self.spec
        if self.spec == "auto" and not Path(location).exists():
            return None
        try:
            bundle = load_bundle(location)
        except (BundleError, OSError) as exc:
            raise fail(f"--champion: {exc}") from None
        if bundle.mode != mode:
            if self.spec == "auto":
                raise fail(f"{location} holds a {bundle.mode} model, expected {mode}")
            return None  # an explicit bundle serves its own mode only
        meta = bundle.metadata
        version = f"v{meta.version}" if meta.version else "unregistered"
        return SavedChampion(f"{meta.family}, saved", bundle.predict_proba,
                             f"{meta.name} {version} ({meta.family}) from {location}, trained on "
                             f"{meta.training_data_source} ({meta.n_training} patients)",
                             meta.seed if meta.synthetic_training is not None else None,
                             meta.training_data_digest, bundle.record_sets, TrainingOrigin.of_bundle(meta),
                             fingerprints=bundle.fingerprints)


def train_models(frame: pd.DataFrame, mode: str, *, seed: int, quick: bool, families: tuple[str, ...], jobs: int,
                 source: str, saved: SavedChampion | None, progress: ProgressFactory | None,
                 refit_synthetic: int | None = None, world: World | None = None) -> tuple[ModeModels, str]:
    """Every family trained by the training use case (no tracking, no export), and the mode's champion:
    ``saved`` if given, else the one this training chose (refitted on ``refit_synthetic`` fresh synthetic
    patients when given, as ``train --refit-synthetic`` exports it). ``world``: the world of synthetic training
    patients (the refit's too; None: the literature world). Returns the models and the champion's provenance."""
    from mmn_ddx.training.fitting import TrainSettings, train

    settings = TrainSettings(mode=mode, seed=seed, families=families, quick=quick, n_jobs=jobs,
                             refit_synthetic=refit_synthetic, world=world)
    result = train(frame, settings, export_dir=None, track=False, source=source,
                   generator_version=GENERATOR_VERSION if source == "synthetic" else None, progress=progress)
    families_fns = result.predictors()
    origin = TrainingOrigin.of_world(world) if source == "synthetic" else TrainingOrigin.of_user_cohort(source)
    if saved is None and refit_synthetic:
        return (
            ModeModels(mode, families_fns, result.champion, result.champion_predictor, result.bundle.record_sets,
                       origin),
            f"{result.champion}, chosen by outer-CV log-loss in this run, "
            f"refitted on {refit_synthetic} synthetic patients",
        )
    if saved is None:
        return ModeModels(mode, families_fns, result.champion, families_fns[result.champion],
                          result.bundle.record_sets, origin), \
            f"{result.champion}, chosen by outer-CV log-loss in this run"
    return ModeModels(mode, families_fns, saved.label, saved.predict, saved.sets, saved.origin), saved.provenance


def _read_real_cases(path: Path | None) -> RealCases | None:
    """The real cases to report, validated before any training (a bad line names its line and field)."""
    from mmn_ddx.training.evaluation import read_real_cases

    if path is None:
        return None
    try:
        return read_real_cases(path)
    except ValueError as exc:
        raise fail(f"--real-cases: {exc}") from None


def _real_case_sections(cases: RealCases, source: str, models: dict[str, ModeModels],
                        world: World | None) -> list[SectionView]:
    """Per mode: the champion (with its prediction sets), the exact posterior of ``world`` and the cascade."""
    from mmn_ddx.training.evaluation import evaluate_real_cases, real_case_section

    sections = []
    for mode in MODES:
        chosen = models[mode]

        def champion(frame: pd.DataFrame, chosen: ModeModels = chosen) -> tuple[np.ndarray, list[list[str]] | None]:
            probs = np.asarray(chosen.champion(frame), dtype=np.float64)
            return probs, chosen.champion_sets(frame, probs) if chosen.champion_sets is not None else None

        figures = evaluate_real_cases(cases, mode, {f"champion ({chosen.champion_name})": champion}, world)
        sections.append(real_case_section(figures, mode, source))
    return sections


LOGGED_KINDS = ("champion", "rules", "bayes")
LOGGED_METRICS = ("coverage", "accuracy", "balanced_accuracy", "balanced_accuracy_all", "macro_f1", "macro_auroc",
                  "log_loss", "brier", "ece")


def world_fact(world: World | None, path: Path | None, uses: list[str]) -> str:
    """The world the synthetic figures come from, as the report and MLflow name it (the full digest matches a
    bundle's ``training_world``), and what was drawn from it."""
    return f"{world_name(world)}{f', file {path.name}' if path else ''}, digest {world_digest(world)}: " \
        + ", ".join(uses)


def _key(*parts: str) -> str:
    """An MLflow metric key (letters, digits, ``_ - . /`` only)."""
    return "/".join("".join(c if c.isalnum() or c in "_-." else "_" for c in p).strip("_") for p in parts)


def mlflow_metrics(result: BenchmarkResult) -> dict[str, float]:
    """Headline figures for the run page: champion, rules and ceiling, and every comparison with its CI.

    Each cascade (strict, chart review: both of kind "rules") is keyed by its name under ``rules/``; one key
    per kind let the last cascade's figures overwrite the other's without naming it."""
    metrics: dict[str, float] = {}
    rows = result.metrics
    rows = rows[(rows["setting"] == COHORT_SETTING) & rows["kind"].isin(LOGGED_KINDS)
                & rows["metric"].isin(LOGGED_METRICS)]
    for r in rows.itertuples(index=False):
        method = (str(r.method),) if r.kind == "rules" else ()
        for suffix, value in (("", r.estimate), ("_ci_low", r.ci_low), ("_ci_high", r.ci_high)):
            metrics[_key(r.cohort, r.mode, str(r.kind), *method, f"{r.metric}{suffix}")] = float(value)
    for r in result.comparisons.itertuples(index=False):
        for suffix, value in (("", r.estimate), ("_ci_low", r.ci_low), ("_ci_high", r.ci_high)):
            key = _key(r.cohort, r.mode, r.setting, r.comparison.replace(" ", "_"), f"{r.metric}{suffix}")
            metrics[key] = float(value)
    return {k: v for k, v in metrics.items() if pd.notna(v)}


def log_benchmark(result: BenchmarkResult, paths: dict[str, Path], facts: dict[str, str], *,
                  tracking_uri: str | None) -> str:
    """One MLflow run ``benchmark``: the facts as parameters, headline metrics, the table and the reports."""
    from mmn_ddx.training.fitting import tracking  # the only module that talks to MLflow

    tracking.configure(tracking_uri)
    from mmn_ddx.training.evaluation import terminal_tables

    console = Console(record=True, width=140, file=io.StringIO())

    for table in terminal_tables(result):
        console.print(table)
    with tracking.run("benchmark", tags={"kind": "benchmark"}) as run_id:
        tracking.log_params({**{k.replace(",", ""): v for k, v in facts.items()}, "n_boot": result.n_boot,
                             "seed": result.seed})
        tracking.log_metrics(mlflow_metrics(result))
        tracking.log_text(console.export_text(), "benchmark/table.txt")
        for path in paths.values():
            tracking.log_artifact(path, "benchmark")
        figures = paths["markdown"].parent / "figures"
        for path in sorted(figures.glob("*.png")):
            tracking.log_artifact(path, "benchmark/figures")
    return run_id


@benchmark_app.command("benchmark")
def benchmark_command(
    data: Annotated[Path | None, typer.Option(
        "--data", exists=True, dir_okay=False,
        help="A labelled user cohort to evaluate on as well (no Bayes ceiling).")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Leave out rejected rows of --data / "
                                                                     "--train-data instead of failing.")] = False,
    n_test: Annotated[int, typer.Option("--n-test", min=0, help="Synthetic test patients (0: only --data).")] = 20000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic test cohort and of the bootstrap; must "
                                                     "differ from --train-seed.")] = 1,
    n_train: Annotated[int, typer.Option("--n-train", min=100, help="Synthetic training patients.")] = 5000,
    train_seed: Annotated[int, typer.Option("--train-seed", help="Seed of the training cohort, folds and models.")] = 0,
    train_data: Annotated[Path | None, typer.Option(
        "--train-data", exists=True, dir_okay=False,
        help="Train on this labelled cohort instead of a synthetic one.")] = None,
    champion: Annotated[str, typer.Option("--champion", help="auto: the exported champion in --export-dir for its "
                                          "mode if present, else the champion trained here; trained: always the "
                                          "one trained here; or a bundle directory / MLflow model URI (e.g. "
                                          "models:/mmn-ddx@champion), used for its own mode.")] = "auto",
    export_dir: Annotated[Path | None, typer.Option(
        "--export-dir", help="Where 'auto' looks for exported champions (default: <home>/models; home is "
                             "$MMN_DDX_HOME, else the working directory).")] = None,
    families: Annotated[str, typer.Option(
        "--families", help="Comma-separated model families.")] = ",".join(FAMILY_NAMES),
    quick: Annotated[bool, typer.Option("--quick", help="One parameter set per family (no search): faster.")] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", min=10, help="Bootstrap resamples for the 95 % CIs.")] = 1000,
    settings: Annotated[str, typer.Option("--settings", help="Class-prior presets to re-weight to (comma-separated; "
                                          "'none' for none).")] = ",".join(PRIOR_SETTINGS),
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report directory (default: <home>/reports/benchmark)."
                                                 )] = None,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the report to MLflow as a run.")] = True,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow store (default: "
                                                     "$MLFLOW_TRACKING_URI, else sqlite:///<home>/mlruns.db).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes for training.")] = 2,
    real_cases: Annotated[Path | None, typer.Option(
        "--real-cases", exists=True, dir_okay=False,
        help=f"Real published cases (JSON lines with a diagnosis) to report as well, evaluation only (default: "
             f"{DEV_CASES} when present).")] = None,
    world_file: Annotated[Path | None, typer.Option(
        "--world", exists=True, dir_okay=False, help="Draw the synthetic patients (the test cohort, and the "
        "families' training cohort unless --train-data) from this world file (format of priors.yaml, e.g. fitted "
        "to your cohort by `mmn-ddx world fit`, as for `train --world`) instead of the literature world: the Bayes "
        "ceiling, and the exact posterior on the real cases, are then that world's.")] = None,
) -> None:
    """Benchmark every model family, the champion, the published criteria and the Bayes ceiling.

    Models: every family is trained here, in both modes, by the training use case (nested CV with \
search; no tracking, nothing exported) on --train-data or on --n-train synthetic patients (--train-seed). \
The champion of a mode is the one exported by 'mmn-ddx train' in --export-dir when present, else the one \
this training chose (see --champion).

    Test data: a fresh synthetic cohort (--n-test, --seed: never the training seed) of the literature world or \
the --world, whose exact posterior is the Bayes ceiling, and/or the labelled --data cohort. A saved champion \
that learnt from another world is scored all the same, under that world shift, and the report says so. \
Reported for both modes, with paired bootstrap 95 % CIs and re-weighted to the \
literature class priors: report.md, report.html, metrics.csv and comparisons.csv in --out, also logged to \
MLflow.
    """
    from mmn_ddx.training.evaluation import print_tables, write_reports  # matplotlib and Jinja only when running

    chosen = tuple(f.strip() for f in families.split(",") if f.strip())
    if not chosen or any(f not in FAMILY_NAMES for f in chosen):
        raise fail(f"--families: choose from {', '.join(FAMILY_NAMES)}", code=2)
    presets = () if settings.strip() == "none" else tuple(s.strip() for s in settings.split(",") if s.strip())
    if any(p not in PRIOR_SETTINGS for p in presets):
        raise fail(f"--settings: choose from {', '.join(PRIOR_SETTINGS)} (or 'none')", code=2)
    if n_test == 0 and data is None:
        raise fail("nothing to evaluate: give --data FILE or --n-test > 0", code=2)
    if train_data is None and seed == train_seed and n_test > 0:
        raise fail("--seed must differ from --train-seed: the test patients would repeat training patients", code=2)
    if data is not None and train_data is not None and data.resolve() == train_data.resolve():
        raise fail("--data and --train-data are the same file: the models would be scored on their own "
                    "training patients", code=2)
    if world_file is not None and n_test == 0 and train_data is not None:
        raise fail("--world draws synthetic patients: give --n-test > 0, or train on synthetic patients (no "
                   "--train-data)", code=2)
    cases_path = real_cases or (DEV_CASES if DEV_CASES.is_file() else None)
    cases = _read_real_cases(cases_path)
    world = None if world_file is None else read_world(world_file)

    cohorts = []
    skipped: dict[str, str] = {}  # the report's facts: the rows --skip-invalid left out of each user cohort
    if n_test > 0:
        cohorts.append(Cohort(f"synthetic test (n={n_test}, seed {seed})",
                              generate_cohort(n_test, seed=seed, world=world), True, world))
    if data is not None:
        test = read_labelled(data, skip_invalid, "--data")
        cohorts.append(Cohort(data.name, test.frame, False))
        skipped |= {"rows of --data": test.skipped.words} if test.skipped else {}
    if train_data is not None:
        trained = read_labelled(train_data, skip_invalid, "--train-data")
        train_frame, source = trained.frame, train_data.name
        skipped |= {"rows of --train-data": trained.skipped.words} if trained.skipped else {}
        refuse_training_rows(train_frame, train_data.name, cohorts)
    else:
        train_frame, source = generate_cohort(n_train, seed=train_seed, world=world), "synthetic"

    from mmn_ddx.training.fitting import TrainingDataError

    locations = get_settings()
    saved = {mode: ChampionChoice(champion, export_dir or locations.models_dir).load(mode)  # fail before training
             for mode in MODES}
    for mode, found in saved.items():
        if found is not None:
            refuse_own_patients(mode, found, cohorts, seed=seed)
    models: dict[str, ModeModels] = {}
    provenance: dict[str, str] = {}
    origin = f"{source}; {world_name(world)}" if train_data is None else source
    out.print(f"Training {', '.join(chosen)} on {len(train_frame)} patients ({origin}) in both modes.")
    try:
        with progress_bars() as progress:
            for mode in MODES:
                def labelled(description: str, total: int, mode: str = mode) -> Callable[[int], None]:
                    return progress(f"{mode}: {description}", total)

                models[mode], provenance[mode] = train_models(
                    train_frame, mode, seed=train_seed, quick=quick, families=chosen, jobs=jobs, source=source,
                    saved=saved[mode], progress=labelled, world=world)
    except TrainingDataError as exc:
        raise fail(f"training data: {exc}") from None
    with out.status("Scoring (bootstrap CIs)") as status:
        result = run_benchmark(cohorts, models, n_boot=n_boot, seed=seed, settings=presets,
                               progress=lambda what: status.update(f"Scoring {what}"))
    uses = ["the synthetic test patients and their Bayes ceiling"] * (n_test > 0) \
        + ["the families' training patients"] * (train_data is None)
    facts = {
        "test cohorts": "; ".join(c.name for c in cohorts),
        **({"synthetic world": world_fact(world, world_file, uses)} if uses else {}),
        "training cohort of the families": f"{source}, {len(train_frame)} patients, seed {train_seed}"
                           + (f", generator {GENERATOR_VERSION}" if source == "synthetic" else ""),
        **skipped,
        "model families": f"{', '.join(chosen)} ({'quick: no search' if quick else 'nested CV with search'})",
        **{f"champion, {mode}": provenance[mode] for mode in MODES},
        "bootstrap": f"{n_boot} paired resamples, seed {seed}",
        "class-prior settings": ", ".join(presets) or "none",
    }
    real_sections = []
    if cases is not None and cases_path is not None:
        real_sections = _real_case_sections(cases, cases_path.name, models, world)
        facts["real development cases"] = f"{cases_path.name}, {len(cases.labels)} patients (evaluation only)"
    else:  # said, not left out silently: run from elsewhere, the default path is not found
        facts["real development cases"] = f"none: {DEV_CASES} not found from this directory; --real-cases FILE"
    paths = write_reports(result, out_dir or locations.reports_dir / "benchmark", facts, real_sections)
    print_tables(result, out, real_sections)
    out.print(f"Reports: {paths['markdown']} and {paths['html']}")
    if track:
        run_id = log_benchmark(result, paths, facts, tracking_uri=tracking_uri)
        out.print(f"Logged to MLflow run {run_id}.")
    out.print("[dim]Synthetic data and unvalidated models: not for clinical use.[/]")

