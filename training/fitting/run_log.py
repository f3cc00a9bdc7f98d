"""Log one training to MLflow: a parent run, one nested run per family, the champion model, the registry.

What ``mlflow ui`` shows for a training:

* parent run: settings, the world of the synthetic patients (file, digest, provenance), the development
  and evaluation datasets (digest + schema), the champion's metrics, the plots on the held-out split, the
  feature->finding map, the model card, the pyfunc model (explicit signature + input example), the registry
  comparison (metrics ``comparison_*``, tags);
* one nested run per family: its final and per-fold hyperparameters, per-fold metrics (``step`` = fold),
  aggregate outer-CV metrics with 95 % CIs, held-out metrics and its calibrator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from mmn_ddx.data import DIAGNOSES, World
from mmn_ddx.features import feature_map, group_columns
from mmn_ddx.training.artifact.bundle import ModelBundle, load_bundle
from mmn_ddx.training.artifact.metadata import TrainingWorld
from mmn_ddx.training.evaluation import plots
from mmn_ddx.training.fitting import registry, tracking
from mmn_ddx.training.fitting.fitting import FamilyResult
from mmn_ddx.training.fitting.models import describe_params

WORLD_ARTIFACT_DIR = "world"


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    model_uri: str
    version: str
    promotion: registry.Promotion


class SignatureMissingError(RuntimeError):
    """MLflow logged the model without a signature (it does so silently when inference fails)."""


def log_world(world: World, named: TrainingWorld) -> None:
    """The active run: the world of the synthetic patients (issue #14) as a YAML artifact that ``load_world``
    reads back, its digest and source as params and its provenance as ``world_provenance.*`` tags."""
    tracking.log_params({"world_digest": named.digest, "world_source": named.source})
    tracking.set_tags({f"world_provenance.{key}": value for key, value in named.provenance.items()})
    # the file's own key order (not MLflow's sorted ``log_dict``): the uncertainty roles of shared YAML
    # nodes are read where a node first appears, so a re-ordered tree may not load back
    text = yaml.safe_dump(world.parameters, sort_keys=False, allow_unicode=True)
    tracking.log_text(text, f"{WORLD_ARTIFACT_DIR}/world-{named.digest[:12]}.yaml")


def log_family(result: FamilyResult) -> None:
    """The active (nested) run: one family's evidence."""
    tracking.log_params({**result.params, "family": result.name, "calibration": result.calibration.kind,
                         "calibration_value": f"{result.calibration.value:.6g}"})
    tracking.set_tags({f"fold_{f}_params": describe_params(p) for f, p in enumerate(result.nested.fold_params)})
    for f, metrics in enumerate(result.fold_metrics):
        tracking.log_metrics({f"fold_{k}": v for k, v in metrics.items()}, step=f)
    tracking.log_metrics({f"outer_{k}": v for k, v in result.outer_metrics.items()})
    tracking.log_metrics({f"outer_{k}_ci_low": lo for k, (lo, _) in result.outer_ci.items() if np.isfinite(lo)})
    tracking.log_metrics({f"outer_{k}_ci_high": hi for k, (_, hi) in result.outer_ci.items() if np.isfinite(hi)})
    tracking.log_metrics({f"holdout_{k}": v for k, v in result.holdout_metrics.items()})
    tracking.log_metrics({"calibration_log_loss_raw": result.choice.log_loss_raw,
                          "calibration_log_loss_calibrated": result.choice.log_loss_calibrated})


def log_plots(bundle: ModelBundle, y: np.ndarray, probs: np.ndarray, evaluation_frame: object) -> None:
    """Champion plots on the held-out split (the SHAP summary is summed per clinical finding)."""
    name = bundle.metadata.family
    figures = {
        "plots/confusion_matrix.png": plots.confusion_matrix_figure(y, probs.argmax(axis=1),
                                                                    title=f"Confusion matrix, held out ({name})"),
        "plots/roc_one_vs_rest.png": plots.roc_figure(y, probs, title=f"One-vs-rest ROC, held out ({name})"),
        "plots/reliability.png": plots.reliability_figure(y, probs, title=f"Reliability, held out ({name})"),
    }
    attribution = bundle.explain(evaluation_frame)
    groups = group_columns(bundle.mode)
    index = {f: j for j, f in enumerate(bundle.feature_names)}
    by_finding = np.stack([attribution.values[:, [index[c] for c in cols], :].sum(axis=1) for cols in groups.values()],
                          axis=1)
    figures["plots/shap_summary.png"] = plots.shap_summary_figure(by_finding, list(groups), DIAGNOSES,
                                                                  scale=attribution.scale)
    for path, figure in figures.items():
        tracking.log_figure(figure, path)


def finding_map_document(mode: str) -> dict[str, dict[str, object]]:
    return {
        column: {"group": f.group, "fields": list(f.fields), "label": f.label}
        for column, f in feature_map(mode).items()
    }


def log_champion(bundle: ModelBundle, bundle_dir: Path, *, y_eval: np.ndarray, evaluation_frame: object,
                 example: object) -> TrackedRun:
    """In the active parent run: model, artifacts, registration and the guarded alias move."""
    tracking.log_metrics({f"champion_{k}": v for k, v in bundle.metadata.metrics.items() if np.isfinite(v)})
    tracking.log_dict(finding_map_document(bundle.mode), "feature_finding_map.json")
    tracking.log_text(bundle.model_card, "model_card.md")
    probs = bundle.predict_proba(evaluation_frame)
    log_plots(bundle, y_eval, probs, evaluation_frame)
    model_uri = tracking.log_pyfunc(bundle_dir, example=example)
    if tracking.logged_signature(model_uri) is None:
        raise SignatureMissingError(f"{model_uri}: MLflow stored the model without a signature")
    name = bundle.metadata.name
    version = tracking.register(model_uri, name, tags={"family": bundle.metadata.family, "mode": bundle.mode,
                                                        "training_data_digest": bundle.metadata.training_data_digest})
    promotion = registry.promote(name, version, probs, evaluation_frame, y_eval,
                                 loader=lambda uri: load_bundle(uri).predict_proba)
    tracking.log_metrics(promotion.metrics())
    tracking.set_tags(promotion.tags() | {"registered_version": version})
    tracking.log_text(json.dumps(asdict(promotion), indent=1), "champion_comparison.json")
    return TrackedRun(run_id="", model_uri=model_uri, version=version, promotion=promotion)
