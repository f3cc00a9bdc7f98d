"""The tabulated TreeSHAP returns XGBoost's own ``pred_contribs`` for any row, including unknown values and
values lying exactly on a split threshold; boosters it cannot represent are refused, and the explainer
then calls ``pred_contribs`` itself."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from mmn_ddx.training.artifact.explain import Explainer
from mmn_ddx.training.artifact.shap_tables import TreeShapTable

N_FEATURES = 9


def _data(rng: np.random.Generator, n: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mixed integer and continuous features with 20 % unknown; the label depends on several of them."""
    X = np.column_stack([rng.integers(0, 4, size=(n, 4)), rng.normal(size=(n, N_FEATURES - 4))]).astype(float)
    score = X[:, 0] - X[:, 1] + 2 * X[:, 4] + X[:, 5] * X[:, 2]
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    X[rng.random(X.shape) < 0.2] = np.nan
    return X, y


def _fit(classes: int, depth: int, seed: int = 0) -> tuple[xgb.XGBClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    X, y = _data(rng, 1500, classes)
    model = xgb.XGBClassifier(n_estimators=25, max_depth=depth, learning_rate=0.3, colsample_bytree=0.7,
                              tree_method="hist", n_jobs=1, random_state=seed).fit(X, y)
    return model, _data(rng, 400, classes)[0]


def _on_the_thresholds(model: xgb.XGBClassifier, X: np.ndarray) -> np.ndarray:
    """Rows whose values sit exactly on split thresholds (XGBoost sends ``x == t`` right)."""
    splits = model.get_booster().trees_to_dataframe().query("Feature != 'Leaf'")
    rows = X[:min(len(splits), len(X))].copy()
    for i, (feature, threshold) in enumerate(zip(splits["Feature"], splits["Split"], strict=True)):
        rows[i % len(rows), int(feature[1:])] = np.float32(threshold)
    return rows


@pytest.mark.parametrize("classes", [4, 2])
def test_the_table_returns_xgboost_pred_contribs(classes: int) -> None:
    model, X = _fit(classes, depth=3)
    booster = model.get_booster()
    rows = np.vstack([X, _on_the_thresholds(model, X), np.full((1, N_FEATURES), np.nan)])
    values, bias = TreeShapTable(booster)(rows)
    native = booster.predict(xgb.DMatrix(rows, missing=np.nan), pred_contribs=True)
    native = native.reshape(len(rows), -1, N_FEATURES + 1)
    assert values.shape == (len(rows), N_FEATURES, native.shape[1])
    np.testing.assert_allclose(values, np.transpose(native[:, :, :-1], (0, 2, 1)), atol=2e-6)
    np.testing.assert_allclose(bias, native[0, :, -1], atol=1e-7)
    margin = booster.predict(xgb.DMatrix(rows, missing=np.nan), output_margin=True).reshape(len(rows), -1)
    np.testing.assert_allclose(bias + values.sum(axis=1), margin, atol=1e-5)
    np.testing.assert_allclose(TreeShapTable(booster).margin(rows), bias + values.sum(axis=1), atol=1e-10)


def test_one_row_at_a_time_equals_the_batch() -> None:
    model, X = _fit(4, depth=3)
    table = TreeShapTable(model.get_booster())
    batch, _ = table(X)
    singles = np.concatenate([table(X[i:i + 1])[0] for i in range(20)])
    np.testing.assert_array_equal(singles, batch[:20])


def test_deeper_trees_are_explained_by_pred_contribs_directly() -> None:
    model, X = _fit(4, depth=5)
    assert TreeShapTable.build(model.get_booster()) is None
    with pytest.raises(ValueError, match="more than 7 splits"):
        TreeShapTable(model.get_booster())
    attribution = Explainer(model, N_FEATURES)(X)
    assert "tabulated" not in attribution.method
    native = model.get_booster().predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    np.testing.assert_allclose(attribution.values, np.transpose(native[:, :, :-1], (0, 2, 1)), atol=1e-6)


def test_the_explainer_uses_the_table_for_shallow_trees() -> None:
    model, X = _fit(4, depth=3)
    attribution = Explainer(model, N_FEATURES)(X)
    assert "tabulated" in attribution.method
    native = model.get_booster().predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    np.testing.assert_allclose(attribution.values, np.transpose(native[:, :, :-1], (0, 2, 1)), atol=2e-6)


@pytest.mark.parametrize("min_child_weight", [10, 1000])
def test_a_tree_without_a_split_contributes_nothing_and_its_value_goes_to_the_bias(min_child_weight: int) -> None:
    """A rare class (8 of 458 patients) gets single-leaf trees ("stumps") next to the others' split trees
    (min_child_weight 10), or every tree is one (1000): each stump has one pattern and no features."""
    rng = np.random.default_rng(0)
    X, y = _data(rng, 600, 4)
    keep = (y != 3) | (np.cumsum(y == 3) <= 8)
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, min_child_weight=min_child_weight, tree_method="hist",
                              n_jobs=1, random_state=0).fit(X[keep], y[keep])
    booster = model.get_booster()
    splits = booster.trees_to_dataframe().groupby("Tree")["Feature"].apply(lambda f: int((f != "Leaf").sum()))
    assert (splits == 0).sum() >= 10 and (splits.max() > 0) == (min_child_weight == 10)
    table = TreeShapTable.build(booster)
    assert table is not None
    rows = np.vstack([X, np.full((1, N_FEATURES), np.nan)])
    values, bias = table(rows)
    native = booster.predict(xgb.DMatrix(rows, missing=np.nan), pred_contribs=True)
    np.testing.assert_allclose(values, np.transpose(native[:, :, :-1], (0, 2, 1)), atol=2e-6)
    np.testing.assert_allclose(bias, native[0, :, -1], atol=1e-6)
    margin = booster.predict(xgb.DMatrix(rows, missing=np.nan), output_margin=True)
    np.testing.assert_allclose(bias + values.sum(axis=1), margin, atol=1e-5)
    np.testing.assert_allclose(table.margin(rows), bias + values.sum(axis=1), atol=1e-10)
