"""Evaluation plots are built from the numbers they show."""

from __future__ import annotations

import numpy as np

from mmn_ddx.training.evaluation import plots


def test_confusion_matrix_shows_the_counts() -> None:
    y = np.array([0, 0, 1, 2, 3, 3])
    predicted = np.array([0, 1, 1, 2, 3, -1])  # -1: abstained (e.g. a criteria set)
    fig = plots.confusion_matrix_figure(y, predicted)
    texts = [t.get_text().split("\n")[0] for t in fig.axes[0].texts]
    assert len(texts) == 4 * 5 and texts[:5] == ["1", "1", "0", "0", "0"]  # row MMN: 1 MMN, 1 MND
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][-1] == "other"


def test_roc_and_reliability_have_one_curve_per_diagnosis() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    probs = rng.dirichlet(np.ones(4), 400)
    probs[np.arange(400), y] += 1
    probs /= probs.sum(axis=1, keepdims=True)
    roc = plots.roc_figure(y, probs)
    assert len(roc.axes[0].get_lines()) == 5  # four classes + chance line
    assert all("AUROC" in t.get_text() for t in roc.axes[0].get_legend().get_texts())
    assert len(plots.reliability_figure(y, probs).axes[0].get_lines()) == 5


def test_shap_summary_lists_the_most_important_findings_first() -> None:
    values = np.zeros((10, 3, 4))
    values[:, 1, :] = 2.0
    values[:, 2, 0] = 0.5
    fig = plots.shap_summary_figure(values, ["a", "b", "c"], top=2)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["c", "b"]  # barh draws bottom-up: the largest at the top
