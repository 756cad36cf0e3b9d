"""Choosing MatchConfig weights: search them against labels, learn them from feedback, export them.

Every function works on a cached `PairTable`, so trying a setting costs one matrix product and a sort.
Weights are normalised like the defaults: similarity, availability, topics and preferences sum to 1,
and the exposure weight is scaled by the same factor (ranking is unchanged by a positive scale).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, ParameterGrid, ParameterSampler, StratifiedGroupKFold
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from matcher.analysis.evaluation import ndcg_at_k, precision_at_k, reciprocal_rank
from matcher.analysis.pair_features import WEIGHT_FEATURES, WEIGHT_FIELDS, PairTable, weight_vector
from matcher.config import MatchConfig

DEFAULT_GRID = {
    "w_similarity": [0.35, 0.5, 0.65, 0.8],
    "w_availability": [0.0, 0.15, 0.3],
    "w_topics": [0.0, 0.1, 0.2, 0.3],
}
C_GRID = np.logspace(-2, 3, 6)  # features are in [-1, 1]; feedback sets are hundreds of pairs or more


# ---- ranking quality of one setting --------------------------------------------------------------

def shared_label_gains(table: PairTable, labels: Mapping[int, str]) -> np.ndarray:
    """1.0 for each pair whose two members share a label (e.g. the fixtures' hidden theme), else 0.0."""
    return np.array([float(q in labels and labels[q] == labels.get(p)) for q, p in
                     zip(table.query_ids.tolist(), table.peer_ids.tolist())])


def evaluate_weights(table: PairTable, gains: np.ndarray, config: MatchConfig, k: int = 5) -> dict[str, float]:
    """Mean precision@k, NDCG@k and MRR of ranking each query's pairs by `config`'s score.

    Parameters
    ----------
    table : the candidate pairs.
    gains : one gain >= 0 per pair; a pair is relevant when its gain is positive (NDCG uses the gains).
    config : whose weights score the pairs.
    k : cut-off.

    Returns
    -------
    ``{"precision@k", "ndcg@k", "mrr", "queries"}``; queries with no relevant pair are skipped.
    """
    gains = np.asarray(gains, dtype=np.float64)
    if gains.shape != (len(table),) or (gains < 0).any():
        raise ValueError(f"Give one gain >= 0 per pair ({len(table)}), got shape {gains.shape}.")
    values: dict[str, list[float]] = {f"precision@{k}": [], f"ndcg@{k}": [], "mrr": []}
    for rows in table.ranked(table.scores(config)).values():
        relevant = {int(r) for r in rows if gains[r] > 0}
        if not relevant:
            continue
        ranked = rows.tolist()
        values[f"precision@{k}"].append(precision_at_k(ranked, relevant, k))
        values[f"ndcg@{k}"].append(ndcg_at_k(ranked, {r: gains[r] for r in relevant}, k))
        values["mrr"].append(reciprocal_rank(ranked, relevant))
    if not values["mrr"]:
        raise ValueError("No query has a relevant pair, so nothing can be scored.")
    return {name: float(np.mean(v)) for name, v in values.items()} | {"queries": len(values["mrr"])}


# ---- searching the weights ---------------------------------------------------------------------

def grid_search(table: PairTable, gains: np.ndarray, grid: Mapping[str, Sequence[float]] | None = None,
                base: MatchConfig | None = None, k: int = 5) -> list[dict]:
    """Every combination of `grid` (weight field -> values) scored by `evaluate_weights`, best NDCG first.

    Parameters
    ----------
    table, gains, k : as for `evaluate_weights`.
    grid : e.g. ``{"w_similarity": [0.5, 0.65], "w_topics": [0, 0.1]}``; `DEFAULT_GRID` when None.
    base : the config whose other weights and thresholds each setting keeps; the defaults when None.

    Returns
    -------
    One dict per setting: every weight field, then the metrics. Ties keep the grid's order.

    Raises
    ------
    ValueError: for a key that is not a weight field, or a negative weight.
    """
    return _score_settings(table, gains, ParameterGrid(dict(grid or DEFAULT_GRID)), base, k)


def random_search(table: PairTable, gains: np.ndarray, distributions: Mapping[str, object], n_iter: int = 20,
                  base: MatchConfig | None = None, k: int = 5, seed: int = 0) -> list[dict]:
    """Like `grid_search`, over `n_iter` settings drawn from `distributions` (lists or scipy.stats)."""
    return _score_settings(table, gains, ParameterSampler(dict(distributions), n_iter, random_state=seed), base, k)


def _score_settings(table: PairTable, gains: np.ndarray, settings: Iterable[dict], base: MatchConfig | None,
                    k: int) -> list[dict]:
    base = base or MatchConfig()
    rows = []
    for setting in settings:
        unknown = set(setting) - set(WEIGHT_FIELDS)
        if unknown:
            raise ValueError(f"Only weights can be searched ({', '.join(WEIGHT_FIELDS)}); got {sorted(unknown)}.")
        config = base.with_weights(**{name: float(value) for name, value in setting.items()})
        weights = dict(zip(WEIGHT_FIELDS, weight_vector(config).tolist()))
        rows.append(weights | evaluate_weights(table, gains, config, k))
    return sorted(rows, key=lambda row: -row[f"ndcg@{k}"])


# ---- learning the weights from feedback --------------------------------------------------------

@dataclass(frozen=True)
class LearnedWeights:
    """A learned config and how well the model behind it predicted held-out outcomes."""

    config: MatchConfig
    cv_auc: float
    cv_auc_std: float
    coefficients: np.ndarray
    C: float


def learn_weights(features: np.ndarray, outcomes: np.ndarray, groups: np.ndarray | None = None,
                  base: MatchConfig | None = None, folds: int = 5, seed: int = 0,
                  name: str | None = None, sample_weight: np.ndarray | None = None) -> LearnedWeights:
    """Fit a cross-validated logistic regression of outcomes on pair features and turn it into weights.

    Parameters
    ----------
    features : (n, 5) weight features in `WEIGHT_FEATURES` order (`PairTable.weight_features`).
    outcomes : n booleans, e.g. ``rating >= 4`` or ``would_continue``.
    groups : n query ids, so that no query's pairs are split across folds; each pair its own group if None.
    base : the config whose thresholds the result keeps; the defaults when None.
    folds : cross-validation folds (stratified by outcome, grouped by query).
    seed : of the fold shuffle.
    name : of the new config; ``learned-YYYY-MM-DD`` by default.
    sample_weight : n weights > 0 of the observations in the fits (e.g. 1 / (size - 1) for each pair of a
        group rating); 1 each if None. The held-out ROC AUC is unweighted.

    Returns
    -------
    `LearnedWeights` with the normalised config (negative coefficients clipped to 0) and the mean
    held-out ROC AUC over the folds at the regularisation strength chosen by that same search.

    Raises
    ------
    ValueError: for mismatched shapes, too few pairs of either outcome, or no positive coefficient.
    """
    X = check_array(features, dtype=np.float64)
    y = np.asarray(outcomes, dtype=bool)
    if X.shape[1] != len(WEIGHT_FEATURES) or y.shape != (X.shape[0],):
        raise ValueError(f"Give an (n, {len(WEIGHT_FEATURES)}) feature matrix and n outcomes.")
    if min(y.sum(), (~y).sum()) < folds:
        raise ValueError(f"Need at least {folds} good and {folds} poor outcomes to cross-validate.")
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    fit_params = {}
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.shape != y.shape or not (weight > 0).all():
            raise ValueError("Give one sample weight > 0 per outcome.")
        fit_params["sample_weight"] = weight
    search = GridSearchCV(LogisticRegression(max_iter=1000), {"C": C_GRID}, scoring="roc_auc",
                          cv=StratifiedGroupKFold(folds, shuffle=True, random_state=seed))
    # Hundreds of tiny fits: a second BLAS thread only spins, and stalls badly on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        search.fit(X, y, groups=groups, **fit_params)
    coefficients = search.best_estimator_.coef_[0]
    config = config_from_weights(np.clip(coefficients, 0, None), base,
                                 name or f"learned-{date.today().isoformat()}")
    std = float(search.cv_results_["std_test_score"][search.best_index_])
    return LearnedWeights(config, float(search.best_score_), std, coefficients, float(search.best_params_["C"]))


def config_from_weights(weights: np.ndarray | Sequence[float], base: MatchConfig | None = None,
                        name: str | None = None) -> MatchConfig:
    """`base` with `weights` (in `WEIGHT_FEATURES` order) normalised like the defaults, rounded to 4 decimals.

    Raises
    ------
    ValueError: when similarity, availability, topics and preferences are all zero (nothing to rank by).
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(WEIGHT_FEATURES),) or (weights < 0).any():
        raise ValueError(f"Give {len(WEIGHT_FEATURES)} weights >= 0 in the order {', '.join(WEIGHT_FEATURES)}.")
    scale = weights[:-1].sum()
    if scale <= 0:
        raise ValueError("At least one of similarity, availability, topics or preferences needs a positive weight.")
    base = base or MatchConfig()
    changes = {field: round(float(w / scale), 4) for field, w in zip(WEIGHT_FIELDS, weights)}
    return base.with_weights(**changes, name=name or base.name)


def weight_distance(a: MatchConfig, b: MatchConfig) -> float:
    """L1 distance of the two weight vectors, each scaled to sum to 1 (0 = same ranking weights, at most 2)."""
    va, vb = weight_vector(a), weight_vector(b)
    if va.sum() == 0 or vb.sum() == 0:
        raise ValueError("A config with every weight 0 has no direction to compare.")
    return float(np.abs(va / va.sum() - vb / vb.sum()).sum())


def export_config(config: MatchConfig, path: str | Path) -> Path:
    """Write `config` as JSON; the service uses it when started with ``PEERMATCH_CONFIG=<path>``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config.save(path)
    return path
