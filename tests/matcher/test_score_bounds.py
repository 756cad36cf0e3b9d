"""score_bounds: never below the exact topic and preference parts, equal to them below 65 topics."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import matcher.ranking as ranking
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.ranking import exposure_penalty, rank, reciprocal_fit, topic_overlap
from matcher.score_bounds import exposure_penalties, reciprocal_bound, tags_bound, topic_bound
from tests.matcher.factories import WEEK, make_member, unit

LANGUAGES = ("en", "es", "de", "fr", "it")


def community(n: int, n_topics: int, seed: int) -> MemberIndex:
    """Members with random topics, topic and language preferences (some with none) from `n_topics` tags."""
    rng = np.random.default_rng(seed)
    tags = [f"topic-{t}" for t in range(n_topics)]

    def some(pool, most: int) -> tuple[str, ...]:
        return tuple(str(t) for t in rng.choice(pool, size=int(rng.integers(0, most + 1)), replace=False))

    index = MemberIndex(8, week_start=WEEK)
    for i in range(1, n + 1):
        languages = some(LANGUAGES, 2) or ("en",)
        index.upsert(make_member(i, role=str(rng.choice(["seeker", "supporter", "peer"])), languages=languages,
                                 topics=some(tags, 6), preferred_topics=some(tags, 3),
                                 preferred_languages=some(LANGUAGES, 2) if rng.random() < 0.3 else ()),
                     unit(*rng.normal(size=8)))
    return index


@pytest.mark.parametrize("n_topics, exact", [(12, True), (64, True), (300, False)])
def test_bounds_are_never_below_the_exact_parts_and_exact_up_to_64_topics(n_topics, exact):
    index = community(400, n_topics, seed=n_topics)
    rows = np.arange(index.size)
    config = MatchConfig()
    looser = 0
    for query in index.members[:40]:
        topics, reciprocal = topic_bound(query, index, rows), reciprocal_bound(query, index, rows)
        want_topics = np.array([topic_overlap(query, peer) for peer in index.members])
        want_reciprocal = np.array([reciprocal_fit(query, peer)[2] for peer in index.members])
        assert (topics >= want_topics - 1e-12).all() and (reciprocal >= want_reciprocal - 1e-12).all()
        both = tags_bound(query, index, rows, config)
        want = config.w_topics * want_topics + config.w_preferences * want_reciprocal
        assert (both >= want - 1e-12).all()
        looser += int((both > want + 1e-9).sum())
        if exact:
            np.testing.assert_allclose(both, want, atol=1e-12)
    assert exact or looser > 0        # 300 tags on 64 bits collide: some bounds are loose, none too low


def test_ranking_scores_little_more_than_the_k_it_returns_and_equals_brute_force(monkeypatch):
    index = community(3000, 20, seed=5)
    config = MatchConfig(min_overlap_minutes=30)
    scored = []
    exact_score = ranking.score_components
    monkeypatch.setattr(ranking, "score_components", lambda *a, **kw: scored.append(1) or exact_score(*a, **kw))
    rng = np.random.default_rng(6)
    exposure = {int(i): int(rng.integers(1, 6)) for i in rng.integers(1, 3001, size=1500)}   # half were shown lately
    for qid in (1, 2, 3, 10, 99):
        query, k = index.get(qid), 5
        scored.clear()
        got = rank(query, index.embedding(qid), index, config, k=k, exposure=exposure)
        # k to choose, k to explain (the old bound scored hundreds)
        assert len(got.suggestions) == k and len(scored) <= 2 * k + 2
        pairs = sorted(((ranking.score_pair(query, index.members[r], float(index.embeddings[r] @ index.embedding(qid)),
                                            60 * 3, index, config, exposure.get(index.members[r].id, 0)).score, -r)
                        for r in range(index.size) if r != index.row_of[qid] and _compatible(query, index.members[r])),
                       reverse=True)[:k]
        assert [s.score for s in got.suggestions] == [score for score, _ in pairs]
        asked = []
        lookup = rank(query, index.embedding(qid), index, config, k=k,   # exposure asked for, not handed over
                      exposure=lambda ids, asked=asked: asked.extend(ids)
                      or {i: exposure[i] for i in ids if i in exposure})
        assert [(s.member_id, s.score) for s in lookup.suggestions] == [(s.member_id, s.score) for s in got.suggestions]
        assert k <= len(asked) <= 256 and len(set(asked)) == len(asked)   # candidates near the top, once each


def test_exposure_penalties_equal_the_one_by_one_penalty():
    index = community(200, 12, seed=2)
    index.refresh_state(replace(index.get(5), active_pairings=index.get(5).capacity))   # no room left
    exposure = {5: 3, 6: 1, 7: 0, 10: 12, 999: 4}                     # 999 is not in the index
    rows = np.arange(index.size)[::-1].copy()
    got = exposure_penalties(exposure, index, rows, MatchConfig())
    want = [exposure_penalty(exposure.get(index.members[r].id, 0), index.members[r].free_capacity, MatchConfig())
            for r in rows]
    np.testing.assert_allclose(got, want, atol=1e-15)
    assert np.count_nonzero(got) == 3
    assert not exposure_penalties(exposure, index, rows, MatchConfig(exposure_enabled=False)).any()


def _compatible(query, peer) -> bool:
    """Role and language rules (every member here shares the same Monday evening)."""
    seeks = {"seeker": {"supporter", "peer"}, "supporter": {"seeker", "peer"}, "peer": {"seeker", "supporter", "peer"}}
    return peer.role in seeks[query.role] and bool(set(query.languages) & set(peer.languages))
