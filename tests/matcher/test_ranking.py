"""Ranking on hand-made vectors: every hard filter, the score, reciprocity, exposure, explanations."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member, Window
from matcher.ranking import FILTERS, rank, reciprocal_fit, score_pair
from tests.matcher.factories import WEEK, add, make_member, unit


def member(i: int, role: str = "supporter", **changes) -> Member:
    """Ranking's members have two places unless a test says otherwise."""
    return make_member(i, role, **{"capacity": 2, **changes})


@pytest.fixture
def index():
    return MemberIndex(3, week_start=WEEK)


def test_each_hard_filter_removes_its_candidate_and_is_counted(index):
    query = add(index, member(1, "seeker", topics=()))
    add(index, member(2))                                              # the one good peer
    add(index, member(3, status="paused"))                             # inactive
    add(index, member(4, needs_review=True))                           # held: inactive
    add(index, member(5, "seeker"))                                    # role
    add(index, member(6, languages=("de",)))                           # language
    add(index, member(7))                                              # blocked
    add(index, member(8))                                              # declined
    add(index, member(9, capacity=1, active_pairings=1))               # capacity
    add(index, member(10, availability=(Window("tue", 600, 660),)))    # availability
    add(index, member(11, availability=(Window("mon", 20 * 60, 20 * 60 + 30),)))  # 30 min < 60
    ranking = rank(query, index.embedding(1), index, MatchConfig(), k=10, blocked={7}, declined={8})
    assert [s.member_id for s in ranking.suggestions] == [2]
    assert ranking.filtered_out == {"self": 1, "inactive": 2, "role": 1, "language": 1, "blocked": 1,
                                    "declined": 1, "capacity": 1, "availability": 2}
    assert tuple(ranking.filtered_out) == FILTERS


def test_filtered_peer_is_never_ranked_even_when_most_similar(index):
    query = add(index, member(1, "seeker"), (1, 0, 0))
    add(index, member(2, languages=("fr",)), (1, 0, 0))
    add(index, member(3), (0, 1, 0))
    ranking = rank(query, index.embedding(1), index, MatchConfig(), k=5)
    assert [s.member_id for s in ranking.suggestions] == [3]


def test_min_overlap_is_configurable(index):
    query = add(index, member(1, "seeker"))
    add(index, member(2, availability=(Window("mon", 20 * 60, 20 * 60 + 30),)))
    assert rank(query, index.embedding(1), index, MatchConfig(min_overlap_minutes=60)).suggestions == []
    assert len(rank(query, index.embedding(1), index, MatchConfig(min_overlap_minutes=30)).suggestions) == 1


def test_similarity_orders_otherwise_equal_peers(index):
    query = add(index, member(1, "seeker"), (1, 0, 0))
    add(index, member(2), (0.2, 1, 0))
    add(index, member(3), (1, 0.2, 0))
    add(index, member(4), (0, 0, 1))
    ranking = rank(query, index.embedding(1), index, MatchConfig(), k=3)
    assert [s.member_id for s in ranking.suggestions] == [3, 2, 4]
    scores = [s.score for s in ranking.suggestions]
    assert scores == sorted(scores, reverse=True)


def test_weights_change_the_order(index):
    query = add(index, member(1, "seeker", topics=("grief", "sleep")), (1, 0, 0))
    add(index, member(2, topics=("cancer",)), (1, 0.1, 0))
    add(index, member(3, topics=("grief", "sleep")), (0.6, 1, 0))
    by_text = rank(query, index.embedding(1), index, MatchConfig(w_topics=0.0), k=2)
    by_topics = rank(query, index.embedding(1), index, MatchConfig(w_similarity=0.1, w_topics=1.0), k=2)
    assert [s.member_id for s in by_text.suggestions] == [2, 3]
    assert [s.member_id for s in by_topics.suggestions] == [3, 2]


def test_reciprocal_preferences_count_in_both_directions():
    a = member(1, "seeker", languages=("en", "es"), preferred_languages=("es",))
    speaks_es = member(2, languages=("en", "es"))
    picky = member(3, languages=("en",), preferred_topics=("cancer",))
    assert reciprocal_fit(a, speaks_es) == (1.0, 1.0, 1.0)
    ab, ba, both = reciprocal_fit(a, picky)
    assert (ab, ba, both) == (0.0, 0.0, 0.0)
    ab, ba, both = reciprocal_fit(member(4, "seeker"), picky)  # the seeker has no wishes, the peer's fail
    assert ab == 1.0 and ba == 0.0 and both == 0.0


def test_a_peer_whose_wishes_the_seeker_misses_ranks_lower(index):
    query = add(index, member(1, "seeker", topics=("grief",)))
    add(index, member(2, preferred_topics=("cancer",)))
    add(index, member(3, preferred_topics=("grief",)))
    ranking = rank(query, index.embedding(1), index, MatchConfig(), k=2)
    assert [s.member_id for s in ranking.suggestions] == [3, 2]
    assert ranking.suggestions[1].explanation["preference_fit"] == {"requester": 1.0, "peer": 0.0, "reciprocal": 0.0}


def test_exposure_lowers_a_popular_peer_and_can_be_switched_off(index):
    query = add(index, member(1, "seeker"), (1, 0, 0))
    add(index, member(2, capacity=1), (1, 0.05, 0))   # slightly better, but shown a lot
    add(index, member(3, capacity=1), (1, 0.15, 0))
    exposure = {2: 6}
    on = rank(query, index.embedding(1), index, MatchConfig(), k=2, exposure=exposure)
    off = rank(query, index.embedding(1), index, MatchConfig(exposure_enabled=False), k=2, exposure=exposure)
    assert [s.member_id for s in on.suggestions] == [3, 2]
    assert [s.member_id for s in off.suggestions] == [2, 3]
    assert on.suggestions[1].explanation["exposure"]["penalty"] > 0
    assert off.suggestions[0].explanation["exposure"]["penalty"] == 0


def test_exposure_is_relative_to_free_capacity(index):
    query = add(index, member(1, "seeker"))
    roomy = add(index, member(2, capacity=10))
    tight = add(index, member(3, capacity=1))
    config = MatchConfig()
    a = score_pair(query, roomy, 0.5, 180, index, config, recent=3)
    b = score_pair(query, tight, 0.5, 180, index, config, recent=3)
    assert a.score > b.score


def test_explanation_has_every_field_in_the_requesters_local_time(index):
    query = add(index, member(1, "seeker", timezone="America/New_York",
                              availability=(Window("mon", 12 * 60, 15 * 60),), topics=("grief", "sleep")))
    add(index, member(2, timezone="Europe/Berlin", languages=("en", "de"), topics=("grief",)))
    explanation = rank(query, index.embedding(1), index, MatchConfig(), k=1).suggestions[0].explanation
    assert explanation["overlap_minutes"] == 180
    assert explanation["overlap_windows"] == [{"day": "mon", "start": "12:00", "end": "15:00", "minutes": 180}]
    assert explanation["shared_languages"] == ["en"]
    assert explanation["shared_topics"] == ["grief"]
    assert explanation["similarity"] == pytest.approx(1.0)
    assert set(explanation) >= {"similarity", "overlap_minutes", "overlap_windows", "shared_languages",
                                "shared_topics", "components"}


def test_k_must_be_positive(index):
    query = add(index, member(1, "seeker"))
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="k must be"):
            rank(query, index.embedding(1), index, MatchConfig(), k=bad)


def test_pruned_ranking_equals_brute_force_oracle():
    rng = np.random.default_rng(3)
    index = MemberIndex(8, week_start=WEEK)
    zones = ["Europe/London", "America/New_York", "Asia/Kolkata"]
    topics = ["grief", "sleep", "work", "cancer"]
    for i in range(1, 301):
        start = int(rng.integers(0, 20)) * 60
        m = member(i, str(rng.choice(["seeker", "supporter", "peer"])), timezone=str(rng.choice(zones)),
                   availability=(Window(str(rng.choice(["mon", "tue"])), start, start + 240),),
                   topics=tuple(rng.choice(topics, size=int(rng.integers(0, 3)), replace=False)),
                   preferred_topics=tuple(rng.choice(topics, size=int(rng.integers(0, 2)), replace=False)))
        index.upsert(m, unit(*rng.normal(size=8)))
    config = MatchConfig(min_overlap_minutes=30)
    exposure = {int(i): int(rng.integers(0, 5)) for i in rng.integers(1, 301, size=50)}
    for qid in (1, 7, 50, 123):
        query = index.get(qid)
        got = rank(query, index.embedding(qid), index, config, k=10, exposure=exposure)
        from matcher.ranking import filter_masks
        _, overlaps, keep = filter_masks(query, index, config, set(), set())
        oracle = sorted((score_pair(query, index.members[r], float(index.embeddings[r] @ index.embedding(qid)),
                                    int(overlaps[r]), index, config, exposure.get(index.members[r].id, 0))
                         for r in np.flatnonzero(keep)), key=lambda s: -s.score)[:10]
        assert [round(s.score, 5) for s in got.suggestions] == [round(s.score, 5) for s in oracle]


def test_index_updates_and_removals_are_incremental(index):
    query = add(index, member(1, "seeker"), (1, 0, 0))
    add(index, member(2), (0, 1, 0))
    add(index, member(3), (1, 0, 0))
    assert rank(query, index.embedding(1), index, MatchConfig(), k=1).suggestions[0].member_id == 3
    index.remove(3)
    assert rank(query, index.embedding(1), index, MatchConfig(), k=1).suggestions[0].member_id == 2
    index.upsert(member(2, status="paused"), unit(0, 1, 0))
    assert rank(query, index.embedding(1), index, MatchConfig(), k=1).suggestions == []
    add(index, member(4), (1, 0, 0))   # reuses the freed row
    assert len(index) == 3 and index.size == 3


def test_bound_order_is_a_stable_descending_sort():
    from matcher.ranking import _bound_order
    rng = np.random.default_rng(5)
    for size in (0, 1, 7, 200, 5000):
        bound = np.round(rng.random(size), 2)            # many ties
        for k in (1, 3):
            assert list(_bound_order(bound, k, head=4)) == list(np.argsort(-bound, kind="stable"))
