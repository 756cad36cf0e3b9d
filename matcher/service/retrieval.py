"""Where a suggestion's candidates come from: one `Retriever` interface, one implementation per retrieval.

``in-process`` ranks this process's `MemberIndex` (exactly, or through a calibrated HNSW graph);
``pgvector`` asks PostgreSQL for the nearest narratives that pass the hard filters (HNSW index,
`matcher.store.vectors.vector_candidates`) and ranks only those. Both rank with the same
`matcher.ranking.rank`; `choose_retrieval` picks one at start-up.
"""
from __future__ import annotations

import logging
import time
from typing import Protocol

import numpy as np

from matcher.ann import rank_nearest
from matcher.availability import to_bitmap, word_summary
from matcher.config import MatchConfig
from matcher.index import MemberIndex, UnknownMemberError
from matcher.profiles import Member
from matcher.ranking import Exposure, Ranking, query_intervals, rank
from matcher.service.errors import SetupError
from matcher.service.index_state import IndexState
from matcher.store import Session
from matcher.store.members import (
    current_version,
    embedding_of,
    live_member,
    profile_of,
    to_profile,
)
from matcher.store.vector_search import (
    MIN_PGVECTOR,
    SAMPLE_SECONDS,
    FilterSample,
    ListedPeer,
    ScanPlan,
    draw_filter_sample,
    peers_with_vectors,
    vector_candidates,
    vector_filter_counts,
    version_tuple,
)
from matcher.store.vectors import EXACT_SCAN_STORED, vector_index_exists

log = logging.getLogger(__name__)

RETRIEVALS = ("in-process", "pgvector")
MAX_SCORED = 1000      # peers the pgvector retrieval loads and scores at most per suggestion
MAX_LISTED = 1000      # peers it lists at most (4,096 made 100k 3.6x slower: listing, not scoring, dominated)
LISTED_SLACK = 1e-5    # above the float32 difference between pgvector's and the index's similarity
# An exact scan reads every stored vector (cost ~ members); HNSW visits ~ list / selectivity rows (cost ~
# list * members / passing). Nearest first, they cost the same near 25 passing members per row listed
# (README). Listed best bound first, the exact scan's first list makes the top k certain, where HNSW's
# nearest had to grow to ~1,000 rows (README, 2026-12-03): at 100k exact won for every member measured
# (p50 120 ms, recall 1.0, against 193 ms with HNSW above 25 per row); at 1M it was slower (p50 865-971 ms
# against 762 ms) but right (recall 1.0 against HNSW's 0.76), so up to 1M (EXACT_SCAN_STORED, where the
# store keeps no HNSW index) it always scans exactly.
EXACT_SCAN_PER_LISTED = 25
MAX_SCAN_TUPLES = 2_000_000   # rows an iterative HNSW scan may visit at most


class Retriever(Protocol):
    """Ranks peers for one stored member; `Ranking.extra["search"]` says how they were found."""

    name: str

    def rank(self, session: Session, member_id: int, k: int, blocked: set[int], declined: set[int],
             exposure: Exposure, exact: bool = False, counts: bool = False) -> Ranking:
        """The `k` best peers; raises `UnknownMemberError` for a member without a vector.

        `exact`: never search approximately; `counts`: count `filtered_out` over every member exactly.
        """
        ...


def choose_retrieval(dialect: str, stored_dimension: int, dimension: int, wanted: str | None = None,
                     pgvector_version: str | None = None, foreign: str | None = None) -> str:
    """`wanted`, or pgvector when the database has a vector store of this dimension, a pgvector new
    enough (`MIN_PGVECTOR`) and no `foreign` reason (`Database.foreign_vectors`: its vectors were made
    by another text adapter, and what to do); logs the choice. `choose_by_measurement` may still pick in-process later.

    Raises
    ------
    SetupError: when `wanted` is unknown, or is pgvector and the database cannot do it.
    """
    if wanted not in (None, *RETRIEVALS):
        raise SetupError(f"Unknown retrieval {wanted!r}; use one of {', '.join(RETRIEVALS)}.")
    usable_dimension = stored_dimension == dimension
    unusable = None   # why a store of the right dimension cannot serve, and what to do about it
    if usable_dimension and pgvector_version is not None and version_tuple(pgvector_version) < MIN_PGVECTOR:
        unusable = (f"this database has pgvector {pgvector_version}, and peermatch needs "
                    f"{'.'.join(map(str, MIN_PGVECTOR))} or newer (iterative index scans; the HNSW build and vacuum "
                    f"fixes of 0.8.1-0.8.3): install a newer pgvector on the server and run "
                    f"'ALTER EXTENSION vector UPDATE;' in this database")
    elif usable_dimension and foreign:
        unusable = foreign
    if unusable and wanted != "in-process":
        advice = f"{unusable}, or set PEERMATCH_RETRIEVAL=in-process"
        if wanted == "pgvector":
            raise SetupError(f"pgvector retrieval refused: {advice}.")
        log.warning("suggestions: candidates retrieved from the in-process index, because %s", advice)
        return "in-process"
    if usable_dimension and wanted != "in-process":
        log.info("suggestions: candidates retrieved in PostgreSQL with pgvector %s (HNSW, cosine, %s dimensions)",
                 pgvector_version or "", dimension)
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
             exposure: Exposure, exact: bool = False, counts: bool = False) -> Ranking:
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
    """Ranks the peers that pass every SQL filter, scoring them until the top k is certain.

    PostgreSQL lists candidates best bound first from an exact scan (a store of up to
    `EXACT_SCAN_STORED`, or few members passing), or nearest first through HNSW with an iterative
    scan sized from the filters' selectivity (`scan_plan`, `matcher.store.vector_search`), each with
    a bound of its whole score; only the peers whose bound can reach the top k are loaded and scored
    by `matcher.ranking.rank`. When the list is used up before the ranking is certain, a four times
    longer one is asked for, up to `MAX_LISTED` listed and `MAX_SCORED` scored (past that the
    ranking is marked ``certain=False``). `filtered_out` is estimated from a sample of the store
    cached per index version (exact with `counts`, one pass over every member); `availability`
    adds the exact minute check over the peers scored.
    """

    name = "pgvector"

    def __init__(self, config: MatchConfig, dimension: int, model_id: str | None = None,
                 exact_below: int | None = None) -> None:
        self.config, self.dimension, self.model_id, self.exact_below = config, dimension, model_id, exact_below
        self._sample: FilterSample | None = None
        self._warned_unindexed = False

    def rank(self, session: Session, member_id: int, k: int, blocked: set[int], declined: set[int],
             exposure: Exposure, exact: bool = False, counts: bool = False) -> Ranking:
        row = live_member(session, member_id)
        embedding = None if row is None else embedding_of(row)
        if row is None or embedding is None or (self.model_id is not None and row.embedding_model != self.model_id):
            raise UnknownMemberError(member_id)
        query = profile_of(session, row)
        index = MemberIndex(self.dimension)
        index.upsert(query, embedding)
        summary = word_summary(to_bitmap(query_intervals(query, index)))
        if counts:
            removed = vector_filter_counts(session, query, blocked, declined, summary)
            passed = removed.pop("passed")
        else:
            removed, passed = self.filter_sample(session).estimate(session, query, blocked, declined, summary)
        limit, stored = max(8 * k, 128), sum(removed.values()) + passed
        plan, scans = self.usable_plan(session, passed, stored, limit), []
        while True:
            scans.append("exact" if plan.exact else "hnsw")
            listed = vector_candidates(session, query, embedding, blocked, declined, summary, limit, plan,
                                       self.config)
            ranking, certain = self._score_listed(session, query, embedding, index, listed,
                                                  self.unlisted_ceiling(listed, limit, plan), k, exposure)
            if certain or len(index) > MAX_SCORED or limit >= MAX_LISTED:
                break
            listed_short = len(listed) < limit   # HNSW hit max_scan_tuples, or listed all: scan exactly now
            limit = min(4 * limit, MAX_LISTED)
            plan = ScanPlan(exact=True) if plan.exact or listed_short else self.usable_plan(session, passed, stored,
                                                                                            limit)
        ranking.filtered_out = {**removed, "availability": removed["availability"]
                                + ranking.filtered_out["availability"]}
        ranking.extra.update(search="pgvector", scored=len(index) - 1, scan="+".join(dict.fromkeys(scans)),
                             certain=certain, counts="exact" if counts or self._sample_complete else "estimated")
        return ranking

    @property
    def _sample_complete(self) -> bool:
        return self._sample is not None and self._sample.complete

    def filter_sample(self, session: Session) -> FilterSample:
        """The cached sample of the store's filter columns, drawn again when the index version moved
        (at most once a minute for a store larger than the sample)."""
        version, sample = current_version(session), self._sample
        if sample is None or (sample.version != version
                              and (sample.complete or time.monotonic() - sample.drawn_at > SAMPLE_SECONDS)):
            sample = self._sample = draw_filter_sample(session, version=version)
        return sample

    def scan_plan(self, passing: int, stored: int, limit: int) -> ScanPlan:
        """Exact when the store is small (`EXACT_SCAN_STORED`) or few members pass the filters
        (`exact_below`, which overrides both; default `EXACT_SCAN_PER_LISTED` x `limit`); else HNSW,
        visiting enough rows to find `limit` passing ones at the estimated selectivity (four times
        over, for the estimate's error)."""
        if self.exact_below is None:
            exact = stored <= EXACT_SCAN_STORED or passing <= EXACT_SCAN_PER_LISTED * limit
        else:
            exact = passing <= self.exact_below
        if exact:
            return ScanPlan(exact=True)
        share = max(passing / max(stored, 1), 1e-4)
        return ScanPlan(exact=False, ef_search=min(max(limit, 40), 1000),
                        max_scan_tuples=int(min(max(4 * limit / share, 20_000), MAX_SCAN_TUPLES)))

    def usable_plan(self, session: Session, passing: int, stored: int, limit: int) -> ScanPlan:
        """`scan_plan`, scanning exactly instead where it says HNSW and the store has no HNSW index
        (one that grew past `EXACT_SCAN_STORED` since its last rebuild; warned about once)."""
        plan = self.scan_plan(passing, stored, limit)
        if plan.exact or vector_index_exists(session.connection()):
            return plan
        if not self._warned_unindexed:
            log.warning("suggestions: the pgvector store holds %s vectors and no HNSW index, so every suggestion "
                        "scans it exactly; 'peermatch rebuild-vectors' builds the index", stored)
            self._warned_unindexed = True
        return ScanPlan(exact=True)

    def unlisted_ceiling(self, listed: list[ListedPeer], limit: int, plan: ScanPlan) -> float:
        """The highest score a passing peer the list left out could have (-inf when it left nobody out).

        An exact list holds the best bounds, so no peer left out beats its last one; a nearest-first
        one holds the nearest, so no peer left out is more similar than its last one.
        """
        if plan.exact:
            return -np.inf if len(listed) < limit else listed[-1].bound + LISTED_SLACK
        return self.score_ceiling(min(peer.similarity for peer in listed)) if listed else np.inf

    def _score_listed(self, session: Session, query: Member, embedding: np.ndarray, index: MemberIndex,
                      listed: list[ListedPeer], unlisted: float, k: int, exposure: Exposure) -> tuple[Ranking, bool]:
        """Score the listed peers whose score bound can still reach the top k, best bound first.

        Peers are loaded and scored in growing batches, highest bound first, only while their bound
        beats the k-th score; the ranking is certain once the k-th score reaches every bound left and
        `unlisted`, the ceiling of every peer not listed.
        """
        waiting = [peer for peer in listed if peer.member_id not in index]   # best bound first
        bounds = np.fromiter((peer.bound for peer in waiting), dtype=np.float64, count=len(waiting)) + LISTED_SLACK
        at, batch = 0, max(2 * k, 16)
        while True:
            ranking = rank(query, embedding, index, self.config, k, exposure=exposure)
            kth = ranking.suggestions[-1].score if len(ranking.suggestions) == k else -np.inf
            next_bound = bounds[at] if at < len(waiting) else -np.inf
            if max(next_bound, unlisted) == -np.inf or kth >= max(next_bound, unlisted) + 2e-6:
                return ranking, True
            if kth >= next_bound + 2e-6 or len(index) > MAX_SCORED:   # only a longer list can tell
                return ranking, False
            reaching = at + int(np.count_nonzero(bounds[at:] > kth))   # bounds are sorted: these come first
            end = min(max(reaching, at + 1), at + batch)
            self._add_peers(session, index, waiting[at:end], self.model_id)
            at, batch = end, 2 * batch

    def score_ceiling(self, similarity: float) -> float:
        """The highest score a peer this similar could reach (every other component at its best)."""
        c = self.config
        return c.w_similarity * similarity + c.w_availability + c.w_topics + c.w_preferences

    @staticmethod
    def _add_peers(session: Session, index: MemberIndex, peers: list[ListedPeer], model_id: str | None) -> None:
        """Load `peers` (id, similarity, free capacity) into `index`, with capacity as the store saw it
        (only members with a vector of `model_id`, when given)."""
        free = {peer.member_id: peer.free_capacity for peer in peers}
        order = {peer_id: i for i, peer_id in enumerate(free)}
        found = sorted(peers_with_vectors(session, list(free), model_id),
                       key=lambda pair: order[pair[0].id])  # in the order given
        if found:   # members erased since they were listed are not found
            index.upsert_many([to_profile(row, row.capacity - free[row.id]) for row, _ in found],
                              np.stack([vector for _, vector in found]))
