"""Evaluation plots: confusion matrix, one-vs-rest ROC, reliability diagram, SHAP summary.

Each function returns a ``matplotlib.figure.Figure`` built without ``pyplot`` (no global figure state,
nothing left open, safe in worker threads); the caller saves or logs it. The benchmark reuses them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from mmn_ddx.data import DIAGNOSES

COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")
"""One colour per diagnosis (ColorBrewer Dark2, distinguishable for common colour-vision deficiencies)."""


def confusion_matrix_figure(y: np.ndarray, predicted: np.ndarray, classes: Sequence[str] = DIAGNOSES,
                            title: str = "Confusion matrix") -> Figure:
    """Counts with row percentages (row = true diagnosis); ``predicted`` may hold extra labels (>= K)."""
    k = len(classes)
    labels = list(range(k))
    extra = sorted({int(p) for p in np.unique(predicted)} - set(labels))
    columns = [*classes, *(["other"] if extra else [])]
    pred = np.where(np.isin(predicted, labels), predicted, k)
    matrix = confusion_matrix(y, pred, labels=list(range(len(columns))))[:k]
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(1.3 * len(columns) + 2, 1.2 * k + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(len(columns)):
            ax.text(j, i, f"{matrix[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=9)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True diagnosis")
    ax.set_title(title)
    return fig


def roc_figure(y: np.ndarray, probs: np.ndarray, classes: Sequence[str] = DIAGNOSES,
               title: str = "One-vs-rest ROC") -> Figure:
    """One ROC curve per diagnosis against the other three, with its AUROC in the legend."""
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    for c, name in enumerate(classes):
        truth = (y == c).astype(int)
        if truth.min() == truth.max():
            continue
        fpr, tpr, _ = roc_curve(truth, probs[:, c])
        ax.plot(
            fpr, tpr, color=COLOURS[c % len(COLOURS)], label=f"{name} (AUROC {roc_auc_score(truth, probs[:, c]):.3f})"
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def reliability_figure(y: np.ndarray, probs: np.ndarray, classes: Sequence[str] = DIAGNOSES, bins: int = 10,
                       title: str = "Reliability diagram") -> Figure:
    """Observed frequency vs predicted probability per diagnosis (equal-width bins, empty bins skipped)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    for c, name in enumerate(classes):
        p, truth = probs[:, c], (y == c)
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        counts = np.bincount(which, minlength=bins)
        keep = counts > 0
        mean_p = np.bincount(which, weights=p, minlength=bins)[keep] / counts[keep]
        observed = np.bincount(which, weights=truth, minlength=bins)[keep] / counts[keep]
        ax.plot(mean_p, observed, marker="o", color=COLOURS[c % len(COLOURS)], label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed frequency")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig


def shap_summary_figure(values: np.ndarray, names: Sequence[str], classes: Sequence[str] = DIAGNOSES, top: int = 15,
                        scale: str = "log-odds", title: str = "Mean |SHAP| by finding") -> Figure:
    """Stacked bars of mean |contribution| per class for the ``top`` most important findings/features.

    ``values``: (patient, finding or feature, class), e.g. per-feature SHAP values summed per finding.
    """
    importance = np.abs(values).mean(axis=0)  # (feature, class)
    order = np.argsort(-importance.sum(axis=1))[:top][::-1]
    fig = Figure(figsize=(7, 0.35 * len(order) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    left = np.zeros(len(order))
    for c, name in enumerate(classes):
        ax.barh(range(len(order)), importance[order, c], left=left, color=COLOURS[c % len(COLOURS)], label=name)
        left += importance[order, c]
    ax.set_yticks(range(len(order)), [names[j] for j in order])
    ax.set_xlabel(f"mean |SHAP value| ({scale})")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig
