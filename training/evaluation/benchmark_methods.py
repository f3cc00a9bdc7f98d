"""How each benchmarked method becomes :class:`~training.metrics.Predictions` on a cohort.

* model families and the champion: their calibrated probabilities;
* each published criteria set: a *detector* of the diagnoses it names (EFNS/PNS 2010 MMN -> MMN; EAN/PNS
  2021 CIDP typical -> CIDP, multifocal and focal confined to an arm -> MADSAM, the other phenotypes -> neither,
  as ``CIDP_VARIANT_LABELS`` maps them; Gold Coast 2020 -> MND).
  "not met" is a negative answer, "not assessable" an abstention (missing data are not evidence), each read
  from the categories the detector names (the cascade's steps): "definite or probable" abstains when those two
  are undecided, not when only "possible" is;
* the criteria.md section 5 cascade: a four-class classifier that abstains ("unclassified", "conflicting"),
  under each reading of the record (strict, and chart review as retrospective validation studies read charts:
  docs/criteria.md), so each reading's coverage and accuracy are reported side by side;
* the exact posterior of the world a synthetic cohort was drawn from, the Bayes ceiling (synthetic cohorts
  only).

At presentation the treatment responses are hidden from *every* method, criteria included: response to
IVIg is a supportive criterion of both guidelines (EFNS/PNS 2010 MMN; EAN/PNS 2021 CIDP), and the models
of that mode never see it, so the rules must not either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, World, posterior
from mmn_ddx.features import fields_unseen_in
from mmn_ddx.features.criteria import (
    CIDP_VARIANT_LABELS,
    CONFLICTING,
    UNCLASSIFIED,
    criteria_categories,
    evaluate_criteria,
    evaluate_readings,
)
from mmn_ddx.training.evaluation.benchmark_worlds import TrainingOrigin
from mmn_ddx.training.evaluation.metrics import ABSTAIN, NEGATIVE, Predictions

Kind = Literal["model", "champion", "criteria", "rules", "bayes"]
ProbaFn = Callable[[pd.DataFrame], np.ndarray]
"""A fitted model's ``predict_proba`` on a canonical frame: (n, 4) in ``DIAGNOSES`` order."""
SetsFn = Callable[[pd.DataFrame, np.ndarray], list[list[str]]]
"""A model's prediction sets from the records and their probabilities (its bundle's ``record_sets``)."""

BAYES = "Bayes-optimal posterior"
CASCADE = "rule-based cascade"
"""The cascade under the strict reading (an unknown never counts)."""
CASCADE_CHART_REVIEW = "rule-based cascade (chart review)"
"""The cascade under the chart-review reading."""
MMN_DEFINITE_PROBABLE = "EFNS/PNS 2010 MMN, definite or probable"
MMN_POSSIBLE = "EFNS/PNS 2010 MMN, possible or better"


def _cidp_criteria_name() -> str:
    """The CIDP detector's name, saying which phenotypes it scores as which diagnosis (from the one mapping)."""
    phenotypes: dict[str, list[str]] = {}
    for variant, label in CIDP_VARIANT_LABELS.items():
        if label in DIAGNOSES:
            phenotypes.setdefault(label, []).append(variant)
    scored = ", ".join(f"{' or '.join(variants)} -> {label}" for label, variants in phenotypes.items())
    return f"EAN/PNS 2021 CIDP ({scored})"


CIDP_CRITERIA = _cidp_criteria_name()
"""'EAN/PNS 2021 CIDP (typical -> CIDP, multifocal or focal arm -> MADSAM)'."""
GOLD_COAST = "Gold Coast 2020 ALS -> MND"
SHORT_NAMES: dict[str, str] = {
    MMN_DEFINITE_PROBABLE: "MMN crit. def/prob", MMN_POSSIBLE: "MMN crit. >= possible",
    CIDP_CRITERIA: "CIDP criteria", GOLD_COAST: "Gold Coast", CASCADE: "rule cascade",
    CASCADE_CHART_REVIEW: "chart-review cascade", BAYES: "Bayes ceiling",
}
"""Names for narrow places (the terminal table)."""


@dataclass(frozen=True)
class ModeModels:
    """The models of one feature mode: every candidate family and the champion (maybe one of them)."""

    mode: str
    families: Mapping[str, ProbaFn]
    champion_name: str
    champion: ProbaFn
    champion_sets: SetsFn | None = None
    """The champion's conformal prediction sets from its probabilities (its bundle's), when it has them."""
    champion_origin: TrainingOrigin | None = None
    """What the champion learnt from: a synthetic test cohort of another world says so (None: not known)."""


@dataclass(frozen=True)
class Method:
    """One benchmarked method's output on one cohort and mode."""

    name: str
    kind: Kind
    predictions: Predictions


def frame_for_mode(frame: pd.DataFrame, mode: str) -> pd.DataFrame:
    """At presentation the treatment responses do not exist yet: null them for every method."""
    unseen = fields_unseen_in(mode)
    if not unseen:
        return frame
    hidden = frame.copy()
    for name in unseen:
        if name in hidden.columns:
            hidden[name] = pd.Series(pd.NA, index=hidden.index, dtype=hidden[name].dtype)
    return hidden


def diagnosis_codes(labels: Sequence[object] | np.ndarray) -> np.ndarray:
    """Diagnosis names to class indices; anything else (None, "other CIDP variant", ...) to NEGATIVE."""
    lookup: dict[object, int] = {name: k for k, name in enumerate(DIAGNOSES)}
    return np.fromiter((lookup.get(x, NEGATIVE) for x in labels), dtype=np.int64, count=len(labels))


def _cascade(labels: np.ndarray) -> Predictions:
    return Predictions(np.where(np.isin(labels, DIAGNOSES), diagnosis_codes(labels), ABSTAIN))


def _either(steps: pd.DataFrame, *names: str) -> tuple[np.ndarray, np.ndarray]:
    """Kleene OR of cascade steps (nullable booleans): (met, decided), decided = met or every one not met."""
    block = steps[[f"rule_based.{name}" for name in names]]
    met = block.fillna(False).to_numpy(dtype=bool).any(axis=1)
    return met, met | block.notna().to_numpy().all(axis=1)


def criteria_methods(frame: pd.DataFrame) -> tuple[list[Method], dict[str, float]]:
    """Each criteria set as a detector (strict reading), the cascade as a classifier under each reading, and
    the cascades' abstention rates (keys "unclassified", "conflicting"; chart review suffixed).

    A detector abstains when the categories it asks about are undecided, whatever the rest of its set says:
    MMN "definite or probable" answers "no" when both are not met though "possible" is undecided, and
    abstains when "possible" is met but they are undecided; the CIDP detector answers "no" when its typical,
    multifocal and arm-confined focal categories are all not met though another variant is undecided.
    """
    verdicts = evaluate_criteria(frame)
    steps = criteria_categories(frame)
    chart_review = np.asarray(evaluate_readings(frame, ("chart-review",))["chart-review"].labels, dtype=object)
    cidp = verdicts["cidp_ean2021"].astype("object").to_numpy()
    variant = verdicts["cidp_variant"].astype("object").to_numpy()
    als = verdicts["als_gold_coast"].astype("object").to_numpy()
    rules = verdicts["rule_based_label"].astype("object").to_numpy()

    def detector(positive: np.ndarray, labels: np.ndarray | int, assessable: np.ndarray) -> np.ndarray:
        return np.where(~assessable, ABSTAIN, np.where(positive, labels, NEGATIVE))

    mmn_k, mnd_k = DIAGNOSES.index("MMN"), DIAGNOSES.index("MND")
    mmn_met, mmn_decided = _either(steps, "step1_mmn_definite_or_probable")
    mmn_any_met, mmn_any_decided = _either(steps, "step1_mmn_definite_or_probable", "step5_mmn_possible")
    cidp_labels = diagnosis_codes([CIDP_VARIANT_LABELS.get(v) if isinstance(v, str) else None for v in variant])
    cidp_met = np.isin(cidp, ["CIDP", "possible CIDP"])  # the variant reaching the verdict names the label
    _, cidp_decided = _either(steps, "step2_multifocal_cidp", "step3_typical_cidp")
    methods = [
        Method(MMN_DEFINITE_PROBABLE, "criteria",
               Predictions(detector(mmn_met, mmn_k, mmn_decided), targets=(mmn_k,))),
        Method(MMN_POSSIBLE, "criteria",
               Predictions(detector(mmn_any_met, mmn_k, mmn_any_decided), targets=(mmn_k,))),
        Method(CIDP_CRITERIA, "criteria",
               Predictions(detector(cidp_met, cidp_labels, cidp_met | cidp_decided),
                           targets=(DIAGNOSES.index("CIDP"), DIAGNOSES.index("MADSAM")))),
        Method(GOLD_COAST, "criteria",
               Predictions(detector(als == "met", mnd_k, als != "not assessable"), targets=(mnd_k,))),
        Method(CASCADE, "rules", _cascade(rules)),
        Method(CASCADE_CHART_REVIEW, "rules", _cascade(chart_review)),
    ]
    abstentions = {reason: float(np.mean(rules == reason)) for reason in (UNCLASSIFIED, CONFLICTING)}
    abstentions |= {f"{reason} (chart review)": float(np.mean(chart_review == reason))
                    for reason in (UNCLASSIFIED, CONFLICTING)}
    return methods, abstentions


def model_methods(frame: pd.DataFrame, models: ModeModels) -> list[Method]:
    """Each family's probabilities, and the champion's (not recomputed when it is one of the families)."""
    methods, computed = [], {}
    for name, predict in models.families.items():
        computed[id(predict)] = Predictions.from_proba(predict(frame))
        methods.append(Method(name, "model", computed[id(predict)]))
    champion = computed.get(id(models.champion)) or Predictions.from_proba(models.champion(frame))
    methods.append(Method(f"champion ({models.champion_name})", "champion", champion))
    return methods


def bayes_method(frame: pd.DataFrame, mode: str, world: World | None = None) -> Method:
    """The exact posterior of the world the patients were drawn from (None: the literature world), from the fields
    the mode may use (balanced prior, like the cohort)."""
    return Method(BAYES, "bayes", Predictions.from_proba(posterior(frame, exclude=fields_unseen_in(mode), world=world)))
