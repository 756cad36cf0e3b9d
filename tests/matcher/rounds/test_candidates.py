"""Candidate edges: the vectorised scores, filter counts and top-n equal the scalar ranking code."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import matcher.rounds.candidates as assignment
from matcher.config import MatchConfig
from matcher.ranking import filter_masks
from matcher.rounds import (
    candidate_edges,
    forbidden_partners,
)
from tests.matcher.factories import add
from tests.matcher.factories import make_member as member
from tests.matcher.rounds.cases import SIMILARITY_ONLY, feasible_pairs, random_index


@pytest.mark.parametrize("segments", [True, False], ids=["segments", "bitmaps"])
def test_vectorised_candidates_equal_filter_masks_and_score_pair(monkeypatch, segments):
    if not segments:
        monkeypatch.setattr(assignment, "MAX_SEGMENTS", 0)
    monkeypatch.setattr(assignment, "CHUNK_CELLS", 64)   # several blocks
    index = random_index(7, seekers=30, supporters=40, peers=10)
    config = MatchConfig(min_overlap_minutes=30)
    index.upsert(replace(index.get(35), needs_review=True), index.embedding(35))
    index.upsert(replace(index.get(36), active_pairings=1), index.embedding(36))
    forbidden = forbidden_partners({frozenset((1, 31))}, {2: {32, 33}})
    left = index.rows_for(range(1, 31))
    right = np.array([r for r in range(index.size) if index.members[r].role != "seeker"])
    edges = candidate_edges(index, config, left, right, index.free_capacity[right], top_n=1000,
                            forbidden=forbidden)
    assert len(edges.left) > 50 and (edges.compatible > edges.feasible).any()
    for i, row in enumerate(left):
        member_id = int(index.ids[row])
        oracle = feasible_pairs(index, config, member_id, forbidden)
        mine = {int(index.ids[right[j]]): (float(s), float(sim), int(o)) for j, s, sim, o in zip(
            edges.right[edges.left == i], edges.score[edges.left == i],
            edges.similarity[edges.left == i], edges.overlap[edges.left == i])}
        assert set(mine) == {k for k, v in oracle.items() if v[0] > 0}
        for peer_id, (score, similarity, overlap) in mine.items():
            assert score == pytest.approx(oracle[peer_id][0], abs=1e-5)
            assert similarity == pytest.approx(oracle[peer_id][1], abs=1e-6)
            assert overlap == oracle[peer_id][2]
        assert edges.feasible[i] == len(oracle)


def test_filter_counts_match_filter_masks():
    index = random_index(11, seekers=20, supporters=30)
    config = MatchConfig()
    left, right = index.rows_for(range(1, 21)), index.rows_for(range(21, 51))
    edges = candidate_edges(index, config, left, right, index.free_capacity[right])
    for i, row in enumerate(left):
        masks, overlaps, keep = filter_masks(index.members[row], index, config, set(), set())
        before = ~(masks["self"] | masks["inactive"] | masks["role"] | masks["language"])
        assert edges.compatible[i] == before.sum()
        assert edges.available[i] == (before & (overlaps >= config.min_overlap_minutes)).sum()
        assert edges.feasible[i] == keep.sum()


def test_top_n_keeps_the_best_candidates(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    for i, x in enumerate((0.1, 0.9, 0.5, 0.7), start=2):
        add(index, member(i), (x, 1 - x, 0, 0))
    edges = candidate_edges(index, SIMILARITY_ONLY, index.rows_for([1]), index.rows_for([2, 3, 4, 5]),
                            np.ones(4, np.int64), top_n=2)
    assert sorted(int(index.ids[index.rows_for([2, 3, 4, 5])[j]]) for j in edges.right) == [3, 5]


# --- optimality ----------------------------------------------------------------------------
