"""Per-pair features: `score_pair`'s components at unit weights, cached so tuning re-scores with a dot product.

With every weight set to 1, `score_pair` reports each component unweighted, so for any config

    score(pair) = weight_vector(config) @ weight_features(pair)

(the exposure feature is the negative penalty, as in the score). Two extra columns describe a pair
without entering the score: the number of shared languages and the weekly overlap in hours.
Components come from the explanation, rounded to 4 decimals.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member
from matcher.ranking import exposure_penalty, filter_masks, score_pair

WEIGHT_FEATURES = ("similarity", "availability", "topics", "preferences", "exposure")
WEIGHT_FIELDS = tuple(f"w_{name}" for name in WEIGHT_FEATURES)
EXTRA_FEATURES = ("shared_languages", "overlap_hours")
FEATURES = WEIGHT_FEATURES + EXTRA_FEATURES


def weight_vector(config: MatchConfig) -> np.ndarray:
    """The config's weights in `WEIGHT_FEATURES` order."""
    return np.array([getattr(config, field) for field in WEIGHT_FIELDS], dtype=np.float64)


def unit_weights(config: MatchConfig) -> MatchConfig:
    """`config` with every weight 1.0, so score components equal the raw features."""
    return config.with_weights(**dict.fromkeys(WEIGHT_FIELDS, 1.0))


def pair_features(query: Member, peer: Member, similarity: float, overlap: int, index: MemberIndex,
                  config: MatchConfig | None = None, recent: int = 0) -> dict[str, float]:
    """The features of one pair, read from `score_pair`'s explanation at unit weights.

    Parameters
    ----------
    query, peer : the two members (both in `index`, which places their availability in UTC).
    similarity : cosine of their narratives' embeddings.
    overlap : weekly minutes both are free.
    config : supplies the thresholds (target overlap, exposure switch); its weights are ignored.
    recent : the peer's appearances in recent suggestions (drives the exposure penalty).

    Returns
    -------
    ``{name: value}`` for every name in `FEATURES`.
    """
    unit = unit_weights(config or MatchConfig())
    explanation = score_pair(query, peer, similarity, overlap, index, unit, recent).explanation
    values = {name: float(explanation["components"][name]) for name in WEIGHT_FEATURES}
    values["shared_languages"] = float(len(explanation["shared_languages"]))
    values["overlap_hours"] = explanation["overlap_minutes"] / 60
    return values


def features_from_explanation(explanation: Mapping) -> np.ndarray:
    """The weight features of a stored pair, read back from its explanation (a proposal's or a suggestion's).

    Raises
    ------
    ValueError: when the explanation lacks a component (e.g. it was erased with a member).
    """
    try:
        exposure = explanation["exposure"]
        unweighted = exposure_penalty(exposure["recent_suggestions"], exposure["free_capacity"],
                                      MatchConfig(w_exposure=1.0))
        return np.array([explanation["similarity"], explanation["availability_fit"], explanation["topic_overlap"],
                         explanation["preference_fit"]["reciprocal"], -round(unweighted, 4)], dtype=np.float64)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"The explanation has no {exc} component.") from exc


@dataclass(frozen=True)
class PairTable:
    """Feature rows of (query, peer) pairs, grouped by query, peers in index-row order within a query."""

    query_ids: np.ndarray
    peer_ids: np.ndarray
    features: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.query_ids)
        if len(self.peer_ids) != n or self.features.shape != (n, len(FEATURES)):
            raise ValueError(f"Expected {n} peer ids and a ({n}, {len(FEATURES)}) feature matrix.")

    def __len__(self) -> int:
        return len(self.query_ids)

    @property
    def weight_features(self) -> np.ndarray:
        """The columns the score weights, in `WEIGHT_FEATURES` order."""
        return self.features[:, : len(WEIGHT_FEATURES)]

    def column(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]

    def subset(self, rows: np.ndarray) -> PairTable:
        """The table restricted to `rows` (a boolean mask or sorted row numbers)."""
        return PairTable(self.query_ids[rows], self.peer_ids[rows], self.features[rows])

    def scores(self, config: MatchConfig) -> np.ndarray:
        """Every pair's score under `config`'s weights."""
        return self.weight_features @ weight_vector(config)

    def ranked(self, scores: np.ndarray) -> dict[int, np.ndarray]:
        """Query id -> its table rows, best score first (ties keep index-row order, as `rank` does)."""
        if len(self) == 0:
            return {}
        order = np.lexsort((np.arange(len(self)), -np.asarray(scores), self.query_ids))
        queries = self.query_ids[order]
        starts = np.flatnonzero(np.r_[True, queries[1:] != queries[:-1]])
        return {int(queries[s]): rows for s, rows in zip(starts, np.split(order, starts[1:]))}


def candidate_pairs(index: MemberIndex, config: MatchConfig | None = None, query_ids: Iterable[int] | None = None,
                    exposure: Mapping[int, int] | None = None, per_query: int | None = None,
                    seed: int = 0) -> PairTable:
    """Features of every feasible (query, peer) pair, or of a seeded sample of `per_query` peers per query.

    Parameters
    ----------
    index : the members; feasibility is `rank`'s hard filters under `config`.
    config : thresholds of the filters and the features; the defaults when None.
    query_ids : whose candidates; every active member by default.
    exposure : member id -> recent suggestions (for the exposure feature); none by default.
    per_query : keep at most this many peers per query, drawn uniformly (as exploration would log them).
    seed : of that draw.
    """
    config = config or MatchConfig()
    exposure = exposure or {}
    rng = np.random.default_rng(seed)
    if query_ids is None:
        query_ids = [int(i) for i in index.ids[np.flatnonzero(index.live[: index.size] & index.active[: index.size])]]
    queries, peers, rows_out = [], [], []
    for query_id in query_ids:
        query = index.get(query_id)
        _, overlaps, keep = filter_masks(query, index, config, set(), set())
        rows = np.flatnonzero(keep)
        if per_query is not None and rows.size > per_query:
            rows = np.sort(rng.choice(rows, size=per_query, replace=False))
        sims = index.embeddings[rows] @ index.embedding(query_id)
        for row, sim in zip(rows, sims):
            peer = index.member_at(row)
            values = pair_features(query, peer, float(sim), int(overlaps[row]), index, config,
                                   exposure.get(peer.id, 0))
            queries.append(query_id)
            peers.append(peer.id)
            rows_out.append([values[name] for name in FEATURES])
    features = np.array(rows_out, dtype=np.float64).reshape(len(rows_out), len(FEATURES))
    return PairTable(np.array(queries, dtype=np.int64), np.array(peers, dtype=np.int64), features)
