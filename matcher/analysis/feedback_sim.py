"""Simulated feedback on pairs, from hidden "true" weights, to check that tuning can recover them.

The fixtures state no preferences and have no suggestion history, so two features would never vary;
`with_stated_preferences` and `simulated_exposure` give some members preferences and a recent load.

Feedback follows an ordered logit of the true utility ``u = weight_vector(true_config) @ features``:

    z = signal * (u - mean(u)) / std(u) + e,   e ~ Logistic(0, 1)
    rating = 1 + number of CUTPOINTS below z          (1..5; rating >= 4 exactly when z > 0)
    would_continue ~ Bernoulli(sigmoid(signal * (u - mean(u)) / std(u)))   (drawn independently)

Everything is drawn from one ``numpy.random.default_rng(seed)``, so a seed gives the same feedback.
`run_simulated_study` chains it all: preferences, exposure, logged pairs, feedback, a split by
member, and the weights learned from the training half.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit
from sklearn.model_selection import GroupShuffleSplit

from matcher.analysis.pair_features import PairTable, candidate_pairs, weight_vector
from matcher.analysis.tuning import LearnedWeights, evaluate_weights, learn_weights
from matcher.config import MatchConfig
from matcher.index import MemberIndex

CUTPOINTS = (-3.0, -1.5, 0.0, 1.5)


@dataclass(frozen=True)
class SimulatedFeedback:
    """One simulated answer per pair of a `PairTable`, in its row order."""

    utility: np.ndarray
    rating: np.ndarray
    would_continue: np.ndarray

    @property
    def good(self) -> np.ndarray:
        """The outcome tuning learns from: rated 4 or 5."""
        return self.rating >= 4


def with_stated_preferences(index: MemberIndex, share: float = 0.5, seed: int = 0) -> MemberIndex:
    """A copy of `index` where about `share` of members prefer a language and about `share` prefer topics.

    A preferred language is one the member speaks; preferred topics are one or two tags used by
    members of the same hidden theme (the member's own tags when it has no theme).
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share!r}.")
    rng = np.random.default_rng(seed)
    members = [m for m in index.members if m is not None]
    pools: dict[str, set[str]] = defaultdict(set)
    for m in members:
        pools[m.extra.get("theme") or f"member-{m.id}"].update(m.topics)
    copied = copy.deepcopy(index)
    for m in members:
        pool = sorted(pools[m.extra.get("theme") or f"member-{m.id}"])
        languages = (str(rng.choice(m.languages)),) if rng.random() < share else ()
        wants_topics = rng.random() < share and len(pool) > 0
        topics = tuple(rng.choice(pool, size=min(len(pool), int(rng.integers(1, 3))), replace=False).tolist()) \
            if wants_topics else ()
        copied.refresh_state(replace(m, preferred_languages=languages, preferred_topics=topics))
    return copied


def simulated_exposure(index: MemberIndex, mean: float = 1.0, seed: int = 0) -> dict[int, int]:
    """Recent suggestions per member: Poisson counts around a Gamma-distributed popularity (a few are shown a lot)."""
    if mean < 0:
        raise ValueError(f"mean must be >= 0, got {mean!r}.")
    rng = np.random.default_rng(seed)
    ids = [m.id for m in index.members if m is not None]
    counts = rng.poisson(rng.gamma(shape=1.0, scale=mean, size=len(ids)))
    return {member_id: int(c) for member_id, c in zip(ids, counts) if c > 0}


def simulate_feedback(table: PairTable, true_config: MatchConfig, signal: float = 2.0,
                      seed: int = 0) -> SimulatedFeedback:
    """Ratings and would-continue answers for every pair of `table` under hidden weights.

    Parameters
    ----------
    table : the pairs (`candidate_pairs`), with the features the true utility weighs.
    true_config : the hidden weights that make a pair good.
    signal : how strongly the standardised utility drives the answers against unit logistic noise.
    seed : of every draw.

    Raises
    ------
    ValueError: for fewer than two pairs, a utility that does not vary, or `signal` < 0.
    """
    if len(table) < 2 or signal < 0:
        raise ValueError("Give at least two pairs and a signal >= 0.")
    utility = table.weight_features @ weight_vector(true_config)
    if utility.std() == 0:
        raise ValueError("The true utility is the same for every pair; nothing can be learned from it.")
    rng = np.random.default_rng(seed)
    standard = signal * (utility - utility.mean()) / utility.std()
    latent = standard + rng.logistic(size=len(table))
    rating = 1 + np.searchsorted(CUTPOINTS, latent)
    would_continue = rng.random(len(table)) < expit(standard)
    return SimulatedFeedback(utility, rating.astype(np.int64), would_continue)


@dataclass(frozen=True)
class SimulatedStudy:
    """Simulated feedback on logged pairs, split by member, and the weights learned from the training half."""

    true_config: MatchConfig
    index: MemberIndex
    exposure: dict[int, int]
    pairs: PairTable
    feedback: SimulatedFeedback
    train: np.ndarray
    test: np.ndarray
    learned: LearnedWeights

    def held_out(self, config: MatchConfig, k: int = 5) -> dict[str, float]:
        """`evaluate_weights` of `config` on the held-out members' pairs: a 4 gains 1, a 5 gains 2, else 0."""
        gains = np.clip(self.feedback.rating[self.test] - 3, 0, None)
        return evaluate_weights(self.pairs.subset(self.test), gains, config, k)


def run_simulated_study(index: MemberIndex, true_config: MatchConfig, per_query: int = 12,
                        preference_share: float = 0.5, mean_exposure: float = 1.0, signal: float = 2.0,
                        test_share: float = 0.5, seed: int = 0) -> SimulatedStudy:
    """Simulate feedback on `per_query` random feasible peers per active member and learn weights from it.

    Parameters
    ----------
    index : the members (not modified; preferences are added to a copy).
    true_config : the hidden weights behind the feedback.
    per_query : logged pairs per member.
    preference_share, mean_exposure, signal : see `with_stated_preferences`, `simulated_exposure`,
        `simulate_feedback`.
    test_share : share of members whose pairs are held out from learning.
    seed : of every draw, the split and the folds.
    """
    simulated = with_stated_preferences(index, preference_share, seed)
    exposure = simulated_exposure(simulated, mean_exposure, seed)
    pairs = candidate_pairs(simulated, exposure=exposure, per_query=per_query, seed=seed)
    feedback = simulate_feedback(pairs, true_config, signal, seed)
    train, test = next(GroupShuffleSplit(n_splits=1, test_size=test_share, random_state=seed)
                       .split(pairs.features, groups=pairs.query_ids))
    learned = learn_weights(pairs.weight_features[train], feedback.good[train], pairs.query_ids[train], seed=seed)
    return SimulatedStudy(true_config, simulated, exposure, pairs, feedback, train, test, learned)
