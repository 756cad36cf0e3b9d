"""Pair features on a hand-checked pair, and the cached table's ranking against `rank` itself."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher.analysis.pair_features import FEATURES, PairTable, candidate_pairs, pair_features
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member, Window
from matcher.ranking import rank, score_pair

WEEK = date(2026, 1, 5)  # a Monday in January: London is on UTC, no DST change in the week


def member(id: int, role: str, languages: tuple[str, ...], tz: str, start: str, end: str, **extra) -> Member:
    window = Window.parse({"day": "mon", "start": start, "end": end})
    return Member(id, role, f"narrative {id}", languages, tz, (window,), **extra)


@pytest.fixture
def small_index() -> MemberIndex:
    """A seeker, a matching supporter, a supporter with no shared language, another seeker."""
    index = MemberIndex(dimension=2, week_start=WEEK)
    index.upsert(member(1, "seeker", ("en", "es"), "UTC", "10:00", "14:00", topics=("grief", "sleep"),
                        preferred_topics=("grief", "money")), np.array([1.0, 0.0]))
    index.upsert(member(2, "supporter", ("en",), "Europe/London", "12:00", "16:00", capacity=2,
                        topics=("grief", "work"), preferred_languages=("es",)), np.array([0.6, 0.8]))
    index.upsert(member(3, "supporter", ("fr",), "UTC", "10:00", "14:00"), np.array([1.0, 0.0]))
    index.upsert(member(4, "seeker", ("en",), "UTC", "10:00", "14:00"), np.array([0.0, 1.0]))
    return index


def test_pair_features_by_hand(small_index):
    query, peer = small_index.get(1), small_index.get(2)
    features = pair_features(query, peer, 0.6, 120, small_index, recent=2)
    assert features == pytest.approx({
        "similarity": 0.6,
        "availability": 0.5,            # 120 of the 240 target minutes
        "topics": 1 / 3,                # {grief} of {grief, sleep, work}
        "preferences": 2 / 3,           # harmonic mean of 1/2 (one of two wanted topics) and 1 (speaks es)
        "exposure": -0.5,               # 2 recent / 2 free places = 1 -> 1 / (1 + 1)
        "shared_languages": 1.0,
        "overlap_hours": 2.0,
    }, abs=1e-4)
    assert list(features) == list(FEATURES)


def test_weights_times_features_is_the_score(small_index):
    query, peer = small_index.get(1), small_index.get(2)
    features = pair_features(query, peer, 0.6, 120, small_index, recent=2)
    table = PairTable(np.array([1]), np.array([2]), np.array([[features[n] for n in FEATURES]]))
    for config in (MatchConfig(), MatchConfig(w_similarity=0.2, w_topics=0.7, w_exposure=0.0)):
        expected = score_pair(query, peer, 0.6, 120, small_index, config, recent=2).score
        assert table.scores(config)[0] == pytest.approx(expected, abs=1e-4)
    assert table.scores(MatchConfig())[0] == pytest.approx(0.65 * 0.6 + 0.15 * 0.5 + 0.1 / 3 + 0.1 * 2 / 3 - 0.05,
                                                           abs=1e-4)


def test_candidate_pairs_keep_only_feasible_peers(small_index):
    table = candidate_pairs(small_index, exposure={2: 2})
    pairs = set(zip(table.query_ids.tolist(), table.peer_ids.tolist()))
    # 3 shares no language with 1 or 4 and no role with 2; seekers 1 and 4 cannot support each other.
    assert pairs == {(1, 2), (2, 1), (2, 4), (4, 2)}
    row = table.query_ids.tolist().index(1)
    assert table.features[row] == pytest.approx([0.6, 0.5, 1 / 3, 2 / 3, -0.5, 1.0, 2.0], abs=1e-4)
    assert table.column("exposure")[table.peer_ids == 1] == pytest.approx([0.0])


def test_ranked_breaks_ties_by_row_order():
    features = np.zeros((4, len(FEATURES)))
    features[:, 0] = [0.2, 0.5, 0.5, 0.9]
    table = PairTable(np.array([7, 7, 7, 3]), np.array([10, 11, 12, 13]), features)
    ranked = table.ranked(table.scores(MatchConfig()))
    assert {q: table.peer_ids[rows].tolist() for q, rows in ranked.items()} == {7: [11, 12, 10], 3: [13]}


def test_table_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="feature matrix"):
        PairTable(np.array([1, 2]), np.array([3, 4]), np.zeros((2, 3)))


def test_table_ranking_matches_rank_on_the_fixtures(study):
    """The cached fast path against `rank` itself, with preferences and exposure in play."""
    index, pairs = study.index, candidate_pairs(study.index, exposure=study.exposure)
    configs = [MatchConfig(), MatchConfig(w_similarity=0.2, w_availability=0.4, w_topics=0.3, w_preferences=0.3,
                                          w_exposure=0.5)]
    for config in configs:
        differing = 0
        for query_id, rows in pairs.ranked(pairs.scores(config)).items():
            expected = rank(index.get(query_id), index.embedding(query_id), index, config, 5, exposure=study.exposure)
            fast = pairs.scores(config)[rows[:5]]
            assert fast == pytest.approx([s.score for s in expected.suggestions], abs=5e-4)
            differing += pairs.peer_ids[rows[:5]].tolist() != [s.member_id for s in expected.suggestions]
        # Components are rounded to 4 decimals, so only near-ties may swap.
        assert differing <= 3
