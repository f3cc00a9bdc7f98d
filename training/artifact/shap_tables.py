"""XGBoost's exact TreeSHAP values, tabulated per tree: the same numbers as ``pred_contribs``, ~10x faster.

Why it is exact. Path-dependent TreeSHAP (Lundberg et al., Nat. Mach. Intell. 2020) explains one tree
with the value function ``v(S) = E[tree(x) | x_S]``: at a split on a feature in ``S`` follow the
patient's branch, at any other split average both branches weighted by their training cover. So a
tree's SHAP values depend on the patient *only through the direction taken at each of its splits*. A
tree with ``s`` splits therefore has at most ``2**s`` distinct explanations. For the shallow trees
served here (depth <= 3, at most 7 splits, 128 patterns) we ask XGBoost's own ``pred_contribs`` once
for every pattern that any input can produce (one patient per combination of threshold intervals, or
unknown, of the tree's features), store the answers, and at prediction time compute each tree's split
directions (one sparse product) and look its contributions up (one gather and one sparse sum).

The numbers are XGBoost's, summed in float64 instead of float32: they differ from ``pred_contribs`` on
the whole model only by its float32 rounding (~1e-6 on the log-odds scale), and base plus contributions
equals the margin. Boosters the table cannot represent (deeper trees, DART, several parallel trees per
round, categorical splits) get no table (:meth:`TreeShapTable.build` returns ``None``); the caller then
uses ``pred_contribs`` directly.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import xgboost as xgb

MAX_SPLITS = 7
"""Largest number of splits per tree tabulated (2**7 = 128 patterns per tree; depth-3 trees)."""
CHUNK_ROWS = 64
"""Patients per vectorised step: the gathered (patients, trees, slots) block is ~70 kB per patient for the
served 1 200-tree model, so 64 patients (~4 MB) stay in cache between the gather and the sparse sum. With
256 (~17 MB) the table took ~90 instead of ~25-30 us per patient on the shared 2-core machine (load 8-10;
32 MB L3 shared with the other processes)."""


@dataclass(frozen=True)
class _Tree:
    """One tree's splits in a fixed order: the order that numbers its direction patterns."""

    group: int
    """Output (class) the tree adds to."""
    features: np.ndarray
    thresholds: np.ndarray
    default_left: np.ndarray
    slots: tuple[int, ...]
    """The distinct features the tree splits on; a pattern's contributions are stored in this order."""

    def patterns(self, X32: np.ndarray) -> np.ndarray:
        """(n,) pattern number of each row: bit j set when it goes left at split j (XGBoost: ``x < t``)."""
        values = X32[:, self.features]
        left = np.where(np.isnan(values), self.default_left, values < self.thresholds)
        return left.astype(np.int64) @ (2 ** np.arange(len(self.features), dtype=np.int64))


def _booster_json(booster: xgb.Booster) -> dict[str, Any]:
    return json.loads(booster.save_raw(raw_format="json"))


def _parse_trees(model: dict[str, Any]) -> list[_Tree]:
    gbtree = model["learner"]["gradient_booster"]["model"]
    trees = []
    for tree, group in zip(gbtree["trees"], gbtree["tree_info"], strict=True):
        splits = [i for i, left in enumerate(tree["left_children"]) if left != -1]
        features = np.array([tree["split_indices"][i] for i in splits], dtype=np.int64)
        trees.append(_Tree(
            group=int(group),
            features=features,
            thresholds=np.array([tree["split_conditions"][i] for i in splits], dtype=np.float32),
            default_left=np.array([bool(tree["default_left"][i]) for i in splits]),
            slots=tuple(sorted(set(features.tolist()))),
        ))
    return trees


class TreeShapTable:
    """Exact TreeSHAP of a gbtree XGBoost model with shallow trees, by table lookup.

    ``table(X) -> (values (n, F, K), bias (K,))`` on the margin (log-odds) scale: ``pred_contribs``
    with the feature and class axes swapped (the layout of :class:`training.explain.FeatureAttribution`)
    and its bias column apart.
    """

    def __init__(self, booster: xgb.Booster, model: dict[str, Any] | None = None) -> None:
        """``model``: the booster's JSON, when the caller has already parsed it."""
        model = _booster_json(booster) if model is None else model
        reason = self.unsupported(model)
        if reason:
            raise ValueError(f"cannot tabulate this booster's SHAP values: {reason}")
        self.n_features = booster.num_features()
        self.n_groups = max(1, int(model["learner"]["learner_model_param"]["num_class"]))
        trees = _parse_trees(model)
        self.n_trees = len(trees)
        self.n_splits = max([len(t.features) for t in trees] + [1])
        self.n_slots = max([len(t.slots) for t in trees] + [1])
        self._prepare_directions(trees)
        self._table = self._fill(booster, trees)
        self._pattern_totals = self._table.sum(axis=1)
        self._tree_groups = sp.csr_matrix(np.eye(self.n_groups)[[tree.group for tree in trees]].T)  # (K, trees)
        self._scatter = self._scatter_matrix(trees)
        self.bias = self._bias(booster)

    @staticmethod
    def unsupported(model: dict[str, Any]) -> str | None:
        """Why the serialised model cannot be tabulated, or ``None`` if it can."""
        booster = model["learner"]["gradient_booster"]
        if booster.get("name") != "gbtree":
            return f"booster {booster.get('name')!r} (only gbtree)"
        if int(booster["model"]["gbtree_model_param"].get("num_parallel_tree", "1")) != 1:
            return "several parallel trees per round"
        for tree in booster["model"]["trees"]:
            if tree.get("categories_nodes"):
                return "categorical splits"
            if sum(left != -1 for left in tree["left_children"]) > MAX_SPLITS:
                return f"a tree with more than {MAX_SPLITS} splits"
        return None

    @classmethod
    def build(cls, booster: xgb.Booster) -> TreeShapTable | None:
        """The table, or ``None`` when this booster cannot be tabulated (its JSON is parsed once)."""
        model = _booster_json(booster)
        return None if cls.unsupported(model) else cls(booster, model)

    # --- prediction time ---------------------------------------------------------------------------

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SHAP values (n, F, K) of the rows of ``X`` (NaN = missing) and the bias (K,)."""
        X32 = np.asarray(X, dtype=np.float32)  # XGBoost compares in float32
        out = np.empty((len(X32), self.n_features * self.n_groups))
        for start in range(0, len(X32), CHUNK_ROWS):
            block = X32[start:start + CHUNK_ROWS]
            rows = np.take(self._table, self.table_rows(block).T, axis=0)  # (n, trees, slots)
            out[start:start + len(block)] = (self._scatter @ rows.reshape(len(block), -1).T).T
        return out.reshape(len(X32), self.n_features, self.n_groups), self.bias

    def margin(self, X: np.ndarray) -> np.ndarray:
        """Model output (n, K) on the margin scale: the bias plus every contribution, without the (n, F, K) array.

        Each tree's contributions add up to its output minus its expected value (local accuracy), so
        one stored sum per tree and pattern gives the margin; it equals XGBoost's ``output_margin`` to
        its float32 rounding and the explanation's total to float64 rounding.
        """
        totals = np.take(self._pattern_totals, self.table_rows(np.asarray(X, dtype=np.float32)))  # (trees, n)
        return self.bias + (self._tree_groups @ totals).T

    def table_rows(self, X32: np.ndarray) -> np.ndarray:
        """(trees, n) row of the table for every tree and patient: the tree's offset plus its pattern number.

        Each distinct split (feature, threshold, default direction) is tested once for all trees, in
        a form where an unknown value needs no test of its own: a split that sends unknowns right
        asks ``x < t`` (false for NaN), one that sends them left asks ``x >= t`` (false for NaN, the
        row goes left unless it holds). A sparse product then adds ``2**j`` for every j-th split of a
        tree the row goes left at.
        """
        values = np.ascontiguousarray(X32.T)[self._split_features]  # (splits, n)
        tests = np.empty(values.shape, dtype=np.float32)
        m = self._n_right_default
        np.less(values[:m], self._split_thresholds[:m, None], out=tests[:m])
        np.greater_equal(values[m:], self._split_thresholds[m:, None], out=tests[m:])
        return (self._pattern_bits @ tests + self._row_base).astype(np.intp)

    # --- construction ------------------------------------------------------------------------------

    def _prepare_directions(self, trees: list[_Tree]) -> None:
        """The distinct splits (unknown-goes-right first) and the sparse (trees, splits) matrix of ±2**j."""
        keys = sorted({key for tree in trees for key in zip(tree.features.tolist(), tree.thresholds.tolist(),
                                                            tree.default_left.tolist(), strict=True)},
                      key=lambda key: (key[2], key[0], key[1]))
        index = {key: i for i, key in enumerate(keys)}
        split_of, tree_of, bit = [], [], []
        left_default_bits = np.zeros((self.n_trees, 1))
        for t, tree in enumerate(trees):
            for j, key in enumerate(zip(tree.features.tolist(), tree.thresholds.tolist(),
                                        tree.default_left.tolist(), strict=True)):
                split_of.append(index[key])
                tree_of.append(t)
                bit.append(-2.0 ** j if key[2] else 2.0 ** j)  # x >= t means right: subtract from "all left"
                left_default_bits[t] += 2.0 ** j if key[2] else 0.0
        self._split_features = np.array([key[0] for key in keys], dtype=np.int64)
        self._split_thresholds = np.array([key[1] for key in keys], dtype=np.float32)
        self._n_right_default = sum(not key[2] for key in keys)
        self._pattern_bits = sp.csr_matrix((np.array(bit, dtype=np.float32), (tree_of, split_of)),
                                           shape=(self.n_trees, len(keys)))
        tree_offsets = np.arange(self.n_trees)[:, None] * 2 ** self.n_splits
        self._row_base = (tree_offsets + left_default_bits).astype(np.float32)  # exact: < 2**24

    def _fill(self, booster: xgb.Booster, trees: list[_Tree]) -> np.ndarray:
        """Ask XGBoost for every reachable pattern of every tree, one ``pred_contribs`` call per round."""
        table = np.zeros((self.n_trees * 2 ** self.n_splits, self.n_slots))
        per_round = self.n_groups
        for first in range(0, self.n_trees, per_round):
            members = range(first, min(first + per_round, self.n_trees))
            grids = [self._reachable_rows(trees[t]) for t in members]
            contribs = booster[first // per_round:first // per_round + 1].predict(
                xgb.DMatrix(np.concatenate(grids), missing=np.nan), pred_contribs=True)
            contribs = contribs.reshape(len(contribs), self.n_groups, self.n_features + 1)
            start = 0
            for t, grid in zip(members, grids, strict=True):
                rows = contribs[start:start + len(grid), trees[t].group]
                start += len(grid)
                index = trees[t].patterns(grid) + t * 2 ** self.n_splits
                table[index, :len(trees[t].slots)] = rows[:, list(trees[t].slots)]
        return table

    def _reachable_rows(self, tree: _Tree) -> np.ndarray:
        """One row per reachable pattern: per feature, one value for each distinct way through its splits."""
        splits = list(zip(tree.features.tolist(), tree.thresholds.tolist(), tree.default_left.tolist(), strict=True))
        choices = []
        for feature in tree.slots:  # float32 values compare exactly as Python floats
            own = [(threshold, left) for f, threshold, left in splits if f == feature]
            cuts = sorted({threshold for threshold, _ in own})
            distinct: dict[tuple[bool, ...], float] = {}  # unknown often goes the way of some value
            for value in [np.nan, float(np.nextafter(np.float32(cuts[0]), np.float32(-np.inf))), *cuts]:
                way = tuple(left if np.isnan(value) else value < threshold for threshold, left in own)
                distinct.setdefault(way, value)
            choices.append(list(distinct.values()))
        # A tree without a split (a single leaf) has one pattern, the empty combination: one all-unknown
        # row, whose contributions are all 0 (its leaf value is in the bias). Its count is explicit because
        # reshape cannot infer a row count from zero columns.
        combos = list(itertools.product(*choices))
        rows = np.full((len(combos), self.n_features), np.nan, dtype=np.float32)
        rows[:, list(tree.slots)] = np.array(combos, dtype=np.float32).reshape(len(combos), len(tree.slots))
        return rows

    def _scatter_matrix(self, trees: list[_Tree]) -> sp.csr_matrix:
        """(F * K, trees * slots): adds each tree's slot values into its (feature, class) cells."""
        targets, sources = [], []
        for t, tree in enumerate(trees):
            for slot, feature in enumerate(tree.slots):
                targets.append(feature * self.n_groups + tree.group)
                sources.append(t * self.n_slots + slot)
        return sp.csr_matrix((np.ones(len(targets)), (targets, sources)),
                             shape=(self.n_features * self.n_groups, self.n_trees * self.n_slots))

    def _bias(self, booster: xgb.Booster) -> np.ndarray:
        """Base score plus each tree's expected value: ``pred_contribs``' bias column (the same for every row)."""
        unknown = np.full((1, self.n_features), np.nan, dtype=np.float32)
        contribs = booster.predict(xgb.DMatrix(unknown, missing=np.nan), pred_contribs=True)
        return np.asarray(contribs, dtype=np.float64).reshape(self.n_groups, self.n_features + 1)[:, -1]
