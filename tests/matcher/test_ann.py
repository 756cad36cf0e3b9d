"""matcher.ann: the HNSW graph stays in step with the index, and calibration tells the truth about recall."""
from __future__ import annotations

import numpy as np
import pytest

from bench.round import synthetic_index
from matcher import ann
from matcher.config import MatchConfig
from matcher.ranking import filter_masks, rank, score_pair

pytest.importorskip("hnswlib", reason="the ann extra is installed by `make test`")


@pytest.fixture(scope="module")
def community():
    """3,000 synthetic members around 32 clustered centres, with a graph attached."""
    index = synthetic_index(1000, 1000, 1000, seed=3)
    ann.attach_graph(index)
    return index


def unit(rng, n, d=16):
    v = rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_graph_lists_the_exact_nearest_rows_and_follows_adds_replacements_and_removals():
    rng = np.random.default_rng(0)
    vectors = unit(rng, 300)
    graph = ann.AnnGraph(16, capacity=100, ef_construction=200)   # grows past its first capacity
    graph.add(np.arange(300), vectors)
    query = vectors[7]
    exact = np.argsort(-(vectors @ query))[:20]
    assert graph.nearest(query, 20).tolist() == exact.tolist()
    graph.remove(int(exact[1]))
    assert int(exact[1]) not in graph.nearest(query, 20).tolist() and len(graph) == 299
    graph.add(np.array([int(exact[1])]), -query)             # back, but now the farthest vector of all
    assert graph.nearest(query, 300)[-1] == exact[1] and len(graph) == 300
    assert graph.nearest(query, 10_000).size == 300          # never more than there are


def test_ranking_among_rows_is_the_exact_ranking_of_those_rows(community):
    config = MatchConfig()
    query, embedding = community.members[11], community.embeddings[11]
    whole = rank(query, embedding, community, config, 10)
    every_row = rank(query, embedding, community, config, 10, rows=np.arange(community.size))
    assert [s.member_id for s in every_row.suggestions] == [s.member_id for s in whole.suggestions]
    assert every_row.filtered_out == whole.filtered_out and every_row.candidates == whole.candidates

    rows = np.random.default_rng(1).choice(community.size, size=600, replace=False)
    blocked, declined = set(community.ids[rows[:40]].tolist()), set(community.ids[rows[40:70]].tolist())
    some = rank(query, embedding, community, config, 10, blocked, declined, rows=rows)
    whole_masks, overlaps, keep = filter_masks(query, community, config, blocked, declined)
    assert some.filtered_out == {name: int(mask[rows].sum()) for name, mask in whole_masks.items()}
    assert some.filtered_out["blocked"] > 0 and some.filtered_out["declined"] > 0
    brute = sorted((score_pair(query, community.members[r], float(community.embeddings[r] @ embedding),
                               int(overlaps[r]), community, config) for r in rows if keep[r]),
                   key=lambda s: -s.score)[:10]
    assert [s.member_id for s in some.suggestions] == [s.member_id for s in brute]
    assert sum(some.filtered_out.values()) + some.candidates == 600


def test_index_changes_reach_the_graph(community):
    config = MatchConfig()
    query, embedding = community.members[20], community.embeddings[20]
    first = ann.rank_nearest(query, embedding, community, config, 5, candidates=2000)
    gone = first.suggestions[0].member_id
    member, vector = community.get(gone), community.embedding(gone).copy()
    community.remove(gone)
    try:
        again = ann.rank_nearest(query, embedding, community, config, 5, candidates=2000)
        assert gone not in {s.member_id for s in again.suggestions}
        assert again.extra == {"search": "ann", "examined": 2001}
    finally:
        community.upsert(member, vector)
    assert ann.rank_nearest(query, embedding, community, config, 5, candidates=2000).suggestions[0].member_id == gone


def test_calibration_reports_the_recall_it_reaches(community):
    config = MatchConfig()
    result = ann.calibrate(community, config, k=10, sample=24, start=64, seed=5)
    assert result.candidates is not None and result.recall_at_k >= ann.TARGET_RECALL
    assert 64 <= result.candidates < community.size       # it did not just list everyone

    # the same members, checked independently: the recall it claims is the recall it gets
    rows = np.random.default_rng(5).choice(np.flatnonzero(community.live[:community.size]
                                                          & community.active[:community.size]), 24, replace=False)
    hits = wanted = 0
    for r in rows:
        member, embedding = community.members[r], community.embeddings[r]
        exact = {s.member_id for s in rank(member, embedding, community, config, 10).suggestions}
        approx = ann.rank_nearest(member, embedding, community, config, 10, result.candidates)
        hits, wanted = hits + len(exact & {s.member_id for s in approx.suggestions}), wanted + len(exact)
    assert hits / wanted == pytest.approx(result.recall_at_k)


def test_calibration_gives_up_rather_than_promise_a_recall_it_cannot_reach(community):
    result = ann.calibrate(community, MatchConfig(), sample=12, start=16, most=32, seed=2)
    assert result.candidates is None and result.recall_at_k < ann.TARGET_RECALL
    assert "searching exactly" in result.describe()
