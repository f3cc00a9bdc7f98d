"""Everything else a clinician reads next to a prediction, worded from facts: the direction of a finding,
the warnings, the out-of-distribution reasons and the criteria's note.

The code that decides (``serving.alerts``: when to warn; ``training.artifact.reference``: what is
atypical; the criteria: which verdict) returns facts - codes, counts, values, bounds, labels - and only
this module turns them into sentences, so a sentence is written once and changed in one place. These
run for every finding of every prediction: plain string formatting, no numpy on a handful of numbers
(numpy only across many findings at once: :func:`directions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.features import MODES, feature_map, fields_unseen_in, finding_name
from mmn_ddx.serving.wording._phrases import DRUGS
from mmn_ddx.serving.wording.fields import field_label, field_labels, in_sentence, measure_unit
from mmn_ddx.settings import MODEL_NAMES

if TYPE_CHECKING:  # type only: the criteria CLI words its facts without loading the model code
    from mmn_ddx.features.criteria import CascadeFact
    from mmn_ddx.training.artifact import Atypical, SyntheticTraining

NEUTRAL: dict[str, float] = {"log-odds": 0.05, "probability": 0.01}
"""Below this |effect| (:func:`serving.explanation.finding_effects`) a finding is worded as having "little effect":
0.05 log-odds is a 5 % change of the odds, 0.01 on the probability scale one percentage point."""


# --- findings -----------------------------------------------------------------------------------------


def direction(contributions: Sequence[float], predicted: int, neutral: float = NEUTRAL["log-odds"]) -> str:
    """How a finding moves the prediction, in words, from its per-class effects (on the log-odds scale
    :func:`serving.explanation.finding_effects`, the change of each class's log-odds against the others; on the
    probability scale the contributions themselves).

    Worded from the predicted class's own effect; when the finding lowers it or barely touches it, the other
    class it raises most is named. Plain Python:
    it runs for every finding of every patient, and numpy costs more than it saves on four numbers.
    """
    values = [float(v) for v in contributions]
    own = values[predicted]
    other = max((k for k in range(len(values)) if k != predicted), key=values.__getitem__)
    return _direction(_effect(own, neutral), values[other] >= neutral, predicted, other)


def directions(contributions: np.ndarray, predicted: np.ndarray | int, neutral: float = NEUTRAL["log-odds"]
               ) -> list[str]:
    """:func:`direction` of many findings at once: ``contributions`` (findings, classes), ``predicted``
    (findings,), e.g. every patient's top findings of a batch (the same words, a test holds it), or one class
    for every finding (one patient's explanation: a column, not a gather per finding, ~14 -> ~8 us)."""
    others = contributions.astype(np.float64, copy=True)
    if isinstance(predicted, (int, np.integer)):  # a numpy integer too: np.asarray(it).tolist() is no list
        predicted = int(predicted)
        own = contributions[:, predicted]
        others[:, predicted] = -np.inf
        classes = [predicted] * len(contributions)
    else:
        rows = np.arange(len(contributions))
        own = contributions[rows, predicted]
        others[rows, predicted] = -np.inf
        classes = np.asarray(predicted).tolist()
    other = others.argmax(axis=1)  # the first largest, as ``max`` picks it
    raises_other = others.max(axis=1) >= neutral
    effect = np.where(own >= neutral, _RAISES, np.where(own <= -neutral, _LOWERS, _NEITHER))
    return [_direction(*key)
            for key in zip(effect.tolist(), raises_other.tolist(), classes, other.tolist(), strict=True)]


_RAISES, _LOWERS, _NEITHER = 0, 1, 2


def _effect(own: float, neutral: float) -> int:
    return _RAISES if own >= neutral else _LOWERS if own <= -neutral else _NEITHER


@cache
def _direction(effect: int, raises_other: bool, predicted: int, other: int) -> str:
    """The words for a finding's effect on the predicted class and whether it raises the ``other`` class."""
    if effect == _RAISES:
        return f"towards {DIAGNOSES[predicted]}"
    if effect == _LOWERS:
        return f"away from {DIAGNOSES[predicted]}" + (f", towards {DIAGNOSES[other]}" if raises_other else "")
    return f"towards {DIAGNOSES[other]}" if raises_other else "little effect"


def sentence(statement: str, contributions: Sequence[float], predicted: int,
             neutral: float = NEUTRAL["log-odds"]) -> str:
    """e.g. "definite conduction block in 3 of 8 motor nerves: towards MMN"."""
    return joined(statement, direction(contributions, predicted, neutral))


def joined(statement: str, direction: str) -> str:
    """A finding's sentence from its statement and its :func:`direction` (or one of :func:`directions`)."""
    return f"{statement}: {direction}"


# --- warnings -----------------------------------------------------------------------------------------


def synthetic_training_data(share: SyntheticTraining) -> str:
    """The ``synthetic_training_data`` warning of a model trained on synthetic patients ``"only"`` or ``"partly"``
    (``BundleMetadata.synthetic_training``): the calibration and the prediction sets rest on the same data."""
    if share == "only":
        return ("The model was trained on synthetic patients only; its probabilities, and the prediction set's "
                "coverage, are calibrated on synthetic patients and not validated on real ones.")
    return ("The model was trained partly on synthetic patients (a user cohort added to generated ones); its "
            "probabilities, and the prediction set's coverage, are calibrated on that mix, not on real patients alone.")


def little_information(recorded: int, total: int, *, few_recorded: bool, no_motor_ncs: bool) -> str:
    reasons = []
    if few_recorded:
        reasons.append(f"only {recorded} of {total} findings beyond age and sex are recorded")
    if no_motor_ncs:
        reasons.append("no result of a motor nerve conduction study is recorded")
    return (f"Little information: {' and '.join(reasons)}; the prediction may lean on the pre-test probabilities "
            "of the clinical setting. Its prediction set is calibrated on training records this sparse: on published "
            "case reports the sets of models trained on synthetic patients have held the true diagnosis less often "
            "than they claim. "
            "Recording more findings makes it more reliable; the next test, when one is named, is the one expected "
            "to change it most.")


def treatment_response_ignored(unread: Sequence[str], mode: str) -> str:
    """``unread``: the treatment fields whose recorded response a model of ``mode`` does not read; the model
    that reads them is named as every entry point loads it (``--mode``, the registered name)."""
    reader = next(m for m in MODES if not fields_unseen_in(m))  # the mode whose model reads every field
    drugs = " and to ".join(DRUGS[name] for name in unread)
    return (f"The record gives the response to {drugs}, which this {mode} model does not read: its prediction is "
            f"the one for the first visit, before any treatment trial. The {reader} model ({MODEL_NAMES[reader]}, "
            f"--mode {reader}) reads treatment responses.")


def atypical(fact: Atypical) -> str:
    """One out-of-distribution fact as a clause, e.g. "CSF protein = 18 g/L is far outside the training data
    (99 % of training patients: 0.2 to 3.1 g/L)": a field by its label on the form.

    An unusual combination names the findings of its most atypical features (:func:`features.feature_map`),
    not the features: an indicator such as ``anti_mag_not_tested`` is atypical by its value (anti-MAG tested,
    where most training patients were not), which its name would state as the opposite fact.
    """
    share = f"{100 * (fact.share or 0):.0f} %"
    field = in_sentence(field_label(str(fact.field)))
    if fact.code == "out_of_range":
        unit = f" {found}" if (found := measure_unit(str(fact.field))) else ""
        return (f"{field} = {fact.value:g}{unit} is far outside the training data ({share} of training patients: "
                f"{fact.low:.3g} to {fact.high:.3g}{unit})")
    if fact.code == "unseen_value":
        return f"{field} = {_value(fact.value)} never occurred in the training data"
    findings = dict.fromkeys(_finding_names().get(column, column) for column in fact.features)
    return (f"unusual combination of findings, rarer than {share} of typical patients "
            f"(most atypical: {'; '.join(findings)})")


def _value(value: float | str | bool | None) -> str:
    """A recorded value as the form shows it: yes / no, a category's words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ")


@cache
def _finding_names() -> dict[str, str]:
    """Engineered feature -> the name of its finding, over every mode's features (a name not in the map, from a
    bundle of other features, is shown as it is rather than failing the prediction)."""
    return {column: in_sentence(finding_name(finding.group))
            for mode in MODES for column, finding in feature_map(mode).items()}


def out_of_distribution(facts: Sequence[Atypical]) -> str:
    return (
        "Unlike the training data: " + "; ".join(atypical(f) for f in facts) + ". Treat the probabilities with caution."
    )


def criteria_disagree(label: str, predicted: str) -> str:
    return f"The published criteria give {label}, the model predicts {predicted}."


# --- criteria -----------------------------------------------------------------------------------------

CASCADE_TITLE = "Rule-based cascade (MMN > MADSAM > CIDP > MND > possible MMN)"
SHOWN_MISSING = 4
"""How many of the fields that could decide the criteria the note names."""


def element(reference: str, description: str) -> str:
    """A guideline element as listed next to the model, e.g. "C1: weakness in two nerve territories"."""
    return f"{reference}: {description}"


def cascade_step(description: str, label: str) -> str:
    return f"{description} -> {label}"


def cascade_fact(fact: CascadeFact) -> str:
    """e.g. "step4_gold_coast (MND) is met but earlier step1_mmn_definite_or_probable (MMN) is not assessable"."""
    if fact.code == "blocked":
        names = ", ".join(f"{step} ({label})" for step, label in fact.blocked_by.items())
        return f"{fact.step} ({fact.label}) is met but earlier {names} is not assessable"
    return f"EAN/PNS 2021 {fact.variant} CIDP ({fact.verdict}) is outside the four labels"


def criteria_note(label: str, predicted: str, missing: Sequence[str]) -> str:
    """The criteria next to the model in one sentence: agreement, disagreement, or why there is no label
    (``missing``: the fields that could decide it, named by their labels on the form)."""
    if label not in DIAGNOSES:
        why = "no criteria set is met" if label == "unclassified" else "criteria sets point to different labels"
        named = field_labels(missing)
        more = (f"; recording {', '.join(named[:SHOWN_MISSING])}{' ...' if len(named) > SHOWN_MISSING else ''} "
                "may decide them") if named else ""
        return f"The published criteria give no single label ({label}: {why}){more}."
    if label == predicted:
        return f"The published criteria (rule-based cascade) also give {label}."
    return (f"The published criteria give {label} but the model predicts {predicted}: review the elements "
            "below; the criteria are specific but miss atypical presentations, the model is trained on synthetic data.")
