"""Approximate nearest neighbours for large in-process indexes: an hnswlib HNSW graph over MemberIndex rows.

The graph only proposes candidates: the `ranking.rank` of the `candidates` rows most similar to the
query, with every hard filter and the full score. How many candidates that takes is measured, not
guessed: `calibrate` compares the approximate top-k with the exact ranking of sampled members and
doubles the candidates until recall@k reaches the target, or says exact search must be used.

Needs the optional `hnswlib` package (``pip install 'peermatch[ann]'``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member
from matcher.ranking import Exposure, Ranking, rank

TARGET_RECALL = 0.95


class AnnGraph:
    """An HNSW graph (inner product on unit vectors) whose labels are index rows; rows are added, replaced, removed."""

    def __init__(self, dimension: int, capacity: int = 1024, m: int = 16, ef_construction: int = 100,
                 seed: int = 0) -> None:
        import hnswlib

        self._graph = hnswlib.Index(space="ip", dim=dimension)
        self._graph.init_index(max_elements=max(capacity, 16), M=m, ef_construction=ef_construction, random_seed=seed)
        self._graph.set_num_threads(1)
        self._deleted: set[int] = set()

    def __len__(self) -> int:
        return self._graph.get_current_count() - len(self._deleted)

    def add(self, rows: np.ndarray, vectors: np.ndarray, threads: int = 1) -> None:
        """Insert (or replace) the vectors of `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        needed = self._graph.get_current_count() + rows.size
        if needed > self._graph.get_max_elements():
            self._graph.resize_index(max(needed, 2 * self._graph.get_max_elements()))
        self._graph.add_items(np.asarray(vectors, dtype=np.float32).reshape(rows.size, -1), rows, num_threads=threads)
        self._deleted.difference_update(rows.tolist())

    def remove(self, row: int) -> None:
        if row in self._deleted:
            return
        try:
            self._graph.mark_deleted(row)
        except RuntimeError:   # never added
            return
        self._deleted.add(row)

    def nearest(self, query: np.ndarray, n: int) -> np.ndarray | None:
        """The rows of the `n` nearest vectors (fewer when fewer are live), or None if the graph cannot list them."""
        n = min(n, len(self))
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        self._graph.set_ef(max(n, 64))
        try:
            labels, _ = self._graph.knn_query(np.asarray(query, dtype=np.float32)[None, :], k=n, num_threads=1)
        except RuntimeError:   # HNSW could not reach n live elements (tiny or heavily deleted graphs)
            return None
        return labels[0].astype(np.int64)


def attach_graph(index: MemberIndex, threads: int = 2, **params) -> AnnGraph:
    """Build a graph of every live row of `index` and keep it in sync with the index from now on."""
    graph = AnnGraph(index.dimension, capacity=max(int(index.size * 1.25), 1024), **params)
    rows = np.flatnonzero(index.live[: index.size])
    for start in range(0, rows.size, 100_000):   # bounded temporary copies of the matrix
        chunk = rows[start:start + 100_000]
        graph.add(chunk, index.embeddings[chunk], threads=threads)
    index.ann = graph
    return graph


def rank_nearest(query: Member, query_embedding: np.ndarray, index: MemberIndex, config: MatchConfig,
                 k: int, candidates: int, blocked: set[int] | None = None, declined: set[int] | None = None,
                 exposure: Exposure | None = None) -> Ranking | None:
    """`rank` among the `candidates` rows the graph finds most similar (None when it cannot list them)."""
    if index.ann is None:
        return None
    rows = index.ann.nearest(query_embedding, candidates + 1)   # +1: the query itself is usually among them
    if rows is None:
        return None
    ranking = rank(query, query_embedding, index, config, k, blocked, declined, exposure, rows=rows)
    ranking.extra.update(search="ann", examined=int(rows.size))
    return ranking


@dataclass(frozen=True)
class Calibration:
    """How many candidates reach the target recall@k on sampled members (None: none tried did; search exactly)."""

    candidates: int | None
    recall_at_k: float
    sampled: int
    members: int

    def describe(self) -> str:
        if self.candidates is None:
            return (f"approximate search off: recall@10 {self.recall_at_k:.3f} < {TARGET_RECALL} even at the most "
                    f"candidates tried, on {self.sampled} sampled of {self.members} members; searching exactly")
        return (f"approximate search on: recall@10 {self.recall_at_k:.3f} with {self.candidates} candidates, "
                f"on {self.sampled} sampled of {self.members} members")


def calibrate(index: MemberIndex, config: MatchConfig, k: int = 10, sample: int = 48, start: int = 1024,
              most: int = 32768, target: float = TARGET_RECALL, seed: int = 0) -> Calibration:
    """The fewest candidates (start, 2*start, ... most) whose recall@k against exact ranking reaches `target`.

    Recall is the share of the exact top-k (hard filters and full score, no blocks or exposure)
    that the approximate search also returns, pooled over `sample` random active members.
    """
    live = np.flatnonzero(index.live[: index.size] & index.active[: index.size])
    rng = np.random.default_rng(seed)
    rows = rng.choice(live, size=min(sample, live.size), replace=False) if live.size else live
    queries = [(index.member_at(r), index.embeddings[r]) for r in rows]
    exact = [{s.member_id for s in rank(m, e, index, config, k).suggestions} for m, e in queries]
    wanted = sum(map(len, exact))
    recall, candidates = 1.0, start
    while candidates <= most:
        hits = 0
        for (member, embedding), truth in zip(queries, exact):
            ranking = rank_nearest(member, embedding, index, config, k, candidates)
            hits += len(truth & {s.member_id for s in ranking.suggestions}) if ranking is not None else 0
        recall = hits / wanted if wanted else 1.0
        if recall >= target:
            return Calibration(candidates, recall, len(queries), len(index))
        candidates *= 2
    return Calibration(None, recall, len(queries), len(index))
