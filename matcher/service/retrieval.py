"""Where a suggestion's candidates come from: one `Retriever` interface, one implementation per retrieval.

``in-process`` ranks this process's `MemberIndex` (exactly, or through a calibrated HNSW graph);
``pgvector`` asks PostgreSQL for the nearest narratives that pass the hard filters (HNSW index,
`matcher.store.vectors.vector_candidates`) and ranks only those. Both rank with the same
`matcher.ranking.rank`; `choose_retrieval` picks one at start-up.
"""
from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from matcher.ann import rank_nearest
from matcher.config import MatchConfig
from matcher.index import MemberIndex, UnknownMemberError
from matcher.profiles import Member
from matcher.ranking import Exposure, Ranking, rank
from matcher.service.errors import SetupError
from matcher.service.index_state import IndexState
from matcher.store import Session
from matcher.store.members import embedding_of, live_member, profile_of, rows_with_vectors, to_profile
from matcher.store.vectors import vector_candidates, vector_filter_counts

log = logging.getLogger(__name__)

RETRIEVALS = ("in-process", "pgvector")
MAX_SCORED = 1000      # peers the pgvector retrieval loads at most per suggestion (and hnsw.ef_search's limit)


class Retriever(Protocol):
    """Ranks peers for one stored member; `Ranking.extra["search"]` says how they were found."""

    name: str

    def rank(self, session: Session, member_id: int, k: int, blocked: set[int], declined: set[int],
             exposure: Exposure, exact: bool = False) -> Ranking:
        """The `k` best peers; raises `UnknownMemberError` for a member without a vector."""
        ...


def choose_retrieval(dialect: str, stored_dimension: int, dimension: int, wanted: str | None = None) -> str:
    """`wanted`, or pgvector when the database has a vector store of this dimension; logs the choice.

    Raises
    ------
    SetupError: when `wanted` is unknown, or is pgvector and the database cannot do it.
    """
    if wanted not in (None, *RETRIEVALS):
        raise SetupError(f"Unknown retrieval {wanted!r}; use one of {', '.join(RETRIEVALS)}.")
    if stored_dimension == dimension and wanted != "in-process":
        log.info("suggestions: candidates retrieved in PostgreSQL with pgvector (HNSW, cosine, %s dimensions)",
                 dimension)
        return "pgvector"
    if wanted == "pgvector":
        raise SetupError(f"pgvector retrieval needs PostgreSQL with a vector store of {dimension} dimensions; "
                         f"this database has {stored_dimension or 'none'}.")
    reason = ("as configured" if wanted else f"{dialect} has no pgvector store" if not stored_dimension
              else f"the pgvector store holds {stored_dimension} dimensions, the model makes {dimension}")
    log.info("suggestions: candidates retrieved from the in-process index (%s)", reason)
    return "in-process"


class InProcessRetriever:
    """Ranks this process's index: exactly, or the calibrated number of nearest candidates (HNSW)."""

    name = "in-process"

    def __init__(self, state: IndexState, config: MatchConfig) -> None:
        self.state, self.config = state, config

    def rank(self, session: Session, member_id: int, k: int, blocked: set[int], declined: set[int],
             exposure: Exposure, exact: bool = False) -> Ranking:
        index = self.state.refresh(session)
        query, embedding = index.get(member_id), index.embedding(member_id)
        calibration = self.state.calibration
        if not exact and calibration is not None and calibration.candidates:
            ranking = rank_nearest(query, embedding, index, self.config, k, calibration.candidates,
                                   blocked, declined, exposure)
            if ranking is not None:
                ranking.extra["recall_at_10"] = round(calibration.recall_at_k, 4)
                return ranking
        ranking = rank(query, embedding, index, self.config, k, blocked, declined, exposure)
        ranking.extra["search"] = "exact"
        return ranking


class PgvectorRetriever:
    """Ranks the nearest peers that pass the SQL filters, scoring them until the top k is certain.

    PostgreSQL lists candidates nearest first (HNSW; an exact scan when the filters leave too few
    of HNSW's list); they are scored in growing batches. When the list is used up before the
    ranking is certain, a four times longer one is asked for, up to `MAX_SCORED` peers (past that
    the ranking is marked ``certain=False``). `filtered_out` counts the SQL filters over every
    member; `availability` and `candidates` count the peers scored.
    """

    name = "pgvector"

    def __init__(self, config: MatchConfig, dimension: int, model_id: str | None = None) -> None:
        self.config, self.dimension, self.model_id = config, dimension, model_id

    def rank(self, session: Session, member_id: int, k: int, blocked: set[int], declined: set[int],
             exposure: Exposure, exact: bool = False) -> Ranking:
        row = live_member(session, member_id)
        embedding = None if row is None else embedding_of(row)
        if row is None or embedding is None or (self.model_id is not None and row.embedding_model != self.model_id):
            raise UnknownMemberError(member_id)
        query = profile_of(session, row)
        counts = vector_filter_counts(session, query, blocked, declined)
        index = MemberIndex(self.dimension)
        index.upsert(query, embedding)
        limit, exact_scan = max(8 * k, 128), False
        while True:
            nearest = vector_candidates(session, query, embedding, blocked, declined, limit, exact_scan)
            listed_all = len(nearest) >= counts["passed"]
            ranking, certain = self._score_nearest(session, query, embedding, index, nearest, listed_all, k, exposure)
            if certain or len(index) > MAX_SCORED or limit >= MAX_SCORED:
                break
            exact_scan, limit = exact_scan or len(nearest) < limit, min(4 * limit, MAX_SCORED)
        ranking.filtered_out = {**{name: n for name, n in counts.items() if name != "passed"},
                                "availability": ranking.filtered_out["availability"]}
        ranking.extra.update(search="pgvector", scored=len(index) - 1, scan="exact" if exact_scan else "hnsw",
                             certain=certain)
        return ranking

    def _score_nearest(self, session: Session, query: Member, embedding: np.ndarray, index: MemberIndex,
                       nearest: list[tuple[int, float, int]], listed_all: bool, k: int,
                       exposure: Exposure) -> tuple[Ranking, bool]:
        """Score the listed peers into `index` in growing batches, nearest first, until the top k is certain.

        A peer not scored yet is no nearer than the next one waiting (or, past the list, than its
        last one), so its score is at most `score_ceiling` of that similarity; the ranking is
        certain once the k-th score reaches it, or when every peer passing the filters is scored.
        """
        waiting = [peer for peer in nearest if peer[0] not in index]
        batch = max(4 * k, 32)
        while True:
            ranking = rank(query, embedding, index, self.config, k, exposure=exposure)
            if not waiting and listed_all:
                return ranking, True
            next_similarity = waiting[0][1] if waiting else nearest[-1][1] if nearest else None
            if self._certain(ranking, k, next_similarity) or not waiting or len(index) > MAX_SCORED:
                return ranking, self._certain(ranking, k, next_similarity)
            self._add_peers(session, index, waiting[:batch], self.model_id)
            waiting, batch = waiting[batch:], 2 * batch

    def score_ceiling(self, similarity: float) -> float:
        """The highest score a peer this similar could reach (every other component at its best)."""
        c = self.config
        return c.w_similarity * similarity + c.w_availability + c.w_topics + c.w_preferences

    def _certain(self, ranking: Ranking, k: int, similarity: float | None) -> bool:
        """True when no peer at most `similarity` similar can enter the top k (with room for rounding)."""
        return (similarity is not None and len(ranking.suggestions) == k
                and ranking.suggestions[-1].score >= self.score_ceiling(similarity) + 2e-6)

    @staticmethod
    def _add_peers(session: Session, index: MemberIndex, peers: list[tuple[int, float, int]],
                   model_id: str | None) -> None:
        """Load `peers` (id, similarity, free capacity) into `index`, with capacity as the store saw it
        (only members with a vector of `model_id`, when given)."""
        free = {peer_id: free for peer_id, _, free in peers}
        order = {peer_id: i for i, peer_id in enumerate(free)}
        found = sorted(rows_with_vectors(session, list(free), model_id),
                       key=lambda pair: order[pair[0].id])  # nearest first
        if found:   # members erased since they were listed are not found
            index.upsert_many([to_profile(row, row.capacity - free[row.id]) for row, _ in found],
                              np.stack([vector for _, vector in found]))
