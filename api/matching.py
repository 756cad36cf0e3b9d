"""The service's matching state: one embedder, one in-process index, one config per process.

Candidates for suggestions come from one of two retrievals, chosen at start-up (`choose_retrieval`):
``in-process`` scans this process's MemberIndex; ``pgvector`` asks PostgreSQL for the nearest
narratives that pass the hard filters (HNSW index, `matcher.storage.vector_candidates`) and ranks
only those, with the same `matcher.ranking.rank`.
"""
from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from matcher.ann import Calibration, attach_graph, calibrate, rank_nearest
from matcher.availability import coming_week_start
from matcher.config import MatchConfig
from matcher.embedding import Embedder
from matcher.explanation import best_sentence_pair
from matcher.index import MemberIndex, UnknownMemberError
from matcher.profiles import Member
from matcher.ranking import Exposure, Ranking, rank
from matcher.safety import SafetyConfig, SafetyScreen
from matcher.text_scoring import service_dimension
from matcher.storage import (
    MemberRow, active_pairing_counts, blocked_ids, current_version, declined_ids, embedding_of,
    recent_exposure, record_suggestions, rows_with_vectors, sync_index, to_profile, vector_candidates,
    vector_filter_counts, vector_store_dimension,
)

log = logging.getLogger(__name__)

RETRIEVALS = ("in-process", "pgvector")
MAX_SCORED = 1000      # peers the pgvector retrieval loads at most per suggestion (and hnsw.ef_search's limit)


def choose_retrieval(engine: Engine, dimension: int, wanted: str | None = None) -> str:
    """`wanted`, or pgvector when the database has a vector store of this dimension; logs the choice.

    Raises
    ------
    ValueError: when `wanted` is unknown, or is pgvector and the database cannot do it.
    """
    if wanted not in (None, *RETRIEVALS):
        raise ValueError(f"Unknown retrieval {wanted!r}; use one of {', '.join(RETRIEVALS)}.")
    with engine.connect() as conn:
        stored = vector_store_dimension(conn)
    if stored == dimension and wanted != "in-process":
        log.info("suggestions: candidates retrieved in PostgreSQL with pgvector (HNSW, cosine, %s dimensions)",
                 dimension)
        return "pgvector"
    if wanted == "pgvector":
        raise ValueError(f"pgvector retrieval needs PostgreSQL with a vector store of {dimension} dimensions; "
                         f"this database has {stored or 'none'}.")
    reason = ("as configured" if wanted else f"{engine.dialect.name} has no pgvector store" if not stored
              else f"the pgvector store holds {stored} dimensions, the model makes {dimension}")
    log.info("suggestions: candidates retrieved from the in-process index (%s)", reason)
    return "in-process"


def exposure_lookup(session: Session, hours: int) -> Callable[[list[int]], dict[int, int]]:
    """`rank`'s exposure for one request: asked for the candidates near the top only, each id once.

    (The pgvector path ranks several times as it loads more peers; the same ids come up again.)
    """
    known: dict[int, int] = {}

    def recent(member_ids: list[int]) -> dict[int, int]:
        missing = [i for i in member_ids if i not in known]
        if missing:
            found = recent_exposure(session, hours, missing)
            known.update({i: found.get(i, 0) for i in missing})
        return {i: known[i] for i in member_ids}

    return recent


class MatchingState:
    """Keeps this process's index in step with the database through the version counter."""

    def __init__(self, embedder: Embedder, config: MatchConfig, safety: SafetyConfig | None = None,
                 retrieval: str = "in-process", ann_min_members: int | None = None,
                 ann_calibration: dict | None = None) -> None:
        self.embedder = embedder
        self.config = config
        self.safety = SafetyScreen(embedder, safety)
        self.retrieval = retrieval
        self.dimension = service_dimension(embedder.model_id, embedder.dimension)   # adapted vectors
        self.index = MemberIndex(self.dimension)
        self.version = -1
        self.ann_min_members = ann_min_members if retrieval == "in-process" else None
        self.ann_calibration = ann_calibration or {}   # keyword arguments for `matcher.ann.calibrate`
        self.calibration: Calibration | None = None   # set once the index is large enough for approximate search
        self._lock = threading.Lock()

    def refresh(self, session: Session) -> None:
        """Load members changed since this process last looked (everything on first call)."""
        version = current_version(session)
        if version == self.version and self.index.week_start == coming_week_start():
            return
        with self._lock:
            if self.index.week_start != coming_week_start():   # a new week: same members, other UTC minutes
                self.index.rebase_week(coming_week_start())
                log.info("index moved to the week of %s", self.index.week_start)
            if version != self.version:
                changed = sync_index(session, self.index, None if self.version < 0 else self.version)
                log.info("index refreshed to version %s (%s members changed)", version, changed)
                self.version = version
                self._calibrate_ann()

    def _calibrate_ann(self) -> None:
        """Past `ann_min_members`, attach an HNSW graph and (re)measure its recall, first and at every 1.5x growth."""
        size = len(self.index)
        if self.ann_min_members is None or size < self.ann_min_members:
            return
        if self.calibration is not None and size < 1.5 * self.calibration.members:
            return
        if importlib.util.find_spec("hnswlib") is None:
            log.warning("suggestions: %s members, but hnswlib is not installed ('pip install peermatch[ann]'); "
                        "searching exactly", size)
            self.ann_min_members = None
            return
        if self.index.ann is None:
            attach_graph(self.index)
        self.calibration = calibrate(self.index, self.config, **self.ann_calibration)
        (log.info if self.calibration.candidates else log.warning)("suggestions: %s", self.calibration.describe())

    def suggest(self, session: Session, member_id: int, k: int, exact: bool = False) -> Ranking:
        """Rank peers for a stored member and record who was shown (for exposure spreading).

        In-process, a calibrated approximate search ranks the nearest candidates unless `exact`.
        """
        blocked, declined = blocked_ids(session, member_id), declined_ids(session, member_id)
        exposure = exposure_lookup(session, self.config.exposure_window_hours)
        if self.retrieval == "pgvector":
            ranking = self._rank_in_database(session, member_id, k, blocked, declined, exposure)
        else:
            self.refresh(session)
            query, embedding = self.index.get(member_id), self.index.embedding(member_id)
            ranking = None
            if not exact and self.calibration is not None and self.calibration.candidates:
                ranking = rank_nearest(query, embedding, self.index, self.config, k, self.calibration.candidates,
                                       blocked, declined, exposure)
            if ranking is not None:
                ranking.extra["recall_at_10"] = round(self.calibration.recall_at_k, 4)
            else:
                ranking = rank(query, embedding, self.index, self.config, k, blocked, declined, exposure)
                ranking.extra["search"] = "exact"
        record_suggestions(session, member_id, [s.member_id for s in ranking.suggestions], ranking.config_digest)
        return ranking

    def _rank_in_database(self, session: Session, member_id: int, k: int, blocked: set[int],
                          declined: set[int], exposure: Exposure) -> Ranking:
        """Rank the nearest peers that pass the SQL filters, scoring them until the top k is certain.

        PostgreSQL lists candidates nearest first (HNSW; an exact scan when the filters leave too
        few of HNSW's list); `_score_nearest` scores them. When the list is used up before the
        ranking is certain, a four times longer one is asked for, up to `MAX_SCORED` peers (past
        that the ranking is marked ``certain=False``). `filtered_out` counts the SQL filters over
        every member; `availability` and `candidates` count the peers scored.
        """
        row = session.get(MemberRow, member_id)
        embedding = None if row is None or row.deleted_at is not None else embedding_of(row)
        if embedding is None:
            raise UnknownMemberError(member_id)
        query = to_profile(row, active_pairing_counts(session, [member_id]).get(member_id, 0))
        counts = vector_filter_counts(session, query, blocked, declined)
        index = MemberIndex(self.dimension)
        index.upsert(query, embedding)
        limit, exact = max(8 * k, 128), False
        while True:
            nearest = vector_candidates(session, query, embedding, blocked, declined, limit, exact)
            listed_all = len(nearest) >= counts["passed"]
            ranking, certain = self._score_nearest(session, query, embedding, index, nearest, listed_all, k, exposure)
            if certain or len(index) > MAX_SCORED or limit >= MAX_SCORED:
                break
            exact, limit = exact or len(nearest) < limit, min(4 * limit, MAX_SCORED)
        ranking.filtered_out = {**{name: n for name, n in counts.items() if name != "passed"},
                                "availability": ranking.filtered_out["availability"]}
        ranking.extra.update(search="pgvector", scored=len(index) - 1, scan="exact" if exact else "hnsw",
                             certain=certain)
        with self._lock:   # the views read the suggested peers from self.index, as they do in-process
            for shown in (query.id, *(s.member_id for s in ranking.suggestions)):
                self.index.upsert(index.get(shown), index.embedding(shown))
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
            self._add_peers(session, index, waiting[:batch])
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
    def _add_peers(session: Session, index: MemberIndex, peers: list[tuple[int, float, int]]) -> None:
        """Load `peers` (id, similarity, free capacity) into `index`, with capacity as the store saw it."""
        free = {peer_id: free for peer_id, _, free in peers}
        order = {peer_id: i for i, peer_id in enumerate(free)}
        found = sorted(rows_with_vectors(session, list(free)), key=lambda pair: order[pair[0].id])  # nearest first
        if found:   # members erased since they were listed are not found
            index.upsert_many([to_profile(row, row.capacity - free[row.id]) for row, _ in found],
                              np.stack([vector for _, vector in found]))

    def matched_sentences(self, member_id: int, peer_id: int) -> dict:
        """Coordinator-only: the sentence of each narrative that matched best."""
        a, b = self.index.get(member_id), self.index.get(peer_id)
        pair = best_sentence_pair(a.narrative, b.narrative, self.embedder)
        return {"member": pair["sentence_a"], "peer": pair["sentence_b"], "similarity": pair["similarity"]}
