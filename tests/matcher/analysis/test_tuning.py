"""Weight search on hand-checked tables and the fixtures; learning weights; normalising; exporting."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.analysis.member_data import member_themes
from matcher.analysis.pair_features import FEATURES, PairTable, candidate_pairs
from matcher.analysis.tuning import (
    config_from_weights,
    evaluate_weights,
    export_config,
    grid_search,
    learn_weights,
    random_search,
    shared_label_gains,
    weight_distance,
)
from matcher.config import MatchConfig


def hand_table() -> tuple[PairTable, np.ndarray]:
    """Query 1: A is more similar, B is free at the same time. Query 2: C is more similar, D shares topics.

    The relevant peers are B and D.
    """
    features = np.zeros((4, len(FEATURES)))
    features[:, 0] = [0.9, 0.5, 0.8, 0.7]   # similarity
    features[:, 1] = [0.0, 1.0, 0.0, 0.0]   # availability
    features[:, 2] = [0.0, 0.0, 0.0, 1.0]   # topics
    table = PairTable(np.array([1, 1, 2, 2]), np.array([10, 11, 20, 21]), features)
    return table, np.array([0.0, 1.0, 0.0, 1.0])


def test_evaluate_weights_by_hand():
    table, gains = hand_table()
    # Defaults: A 0.585 beats B 0.475 (miss, B second); D 0.555 beats C 0.52 (hit).
    assert evaluate_weights(table, gains, MatchConfig(), k=1) == {
        "precision@1": 0.5, "ndcg@1": 0.5, "mrr": 0.75, "queries": 2}
    assert evaluate_weights(table, gains, MatchConfig(w_availability=0.5), k=2)["ndcg@2"] == pytest.approx(1.0)


def test_grid_search_by_hand():
    table, gains = hand_table()
    rows = grid_search(table, gains, {"w_availability": [0.0, 0.5], "w_topics": [0.0, 0.5]}, k=1)
    # availability 0.5 puts B (0.825) above A (0.585); topics 0.5 puts D (0.955) above C (0.52).
    assert [(r["w_availability"], r["w_topics"], r["precision@1"], r["mrr"]) for r in rows] == [
        (0.5, 0.5, 1.0, 1.0), (0.0, 0.5, 0.5, 0.75), (0.5, 0.0, 0.5, 0.75), (0.0, 0.0, 0.0, 0.5)]
    assert all(r["w_similarity"] == 0.65 and r["w_exposure"] == 0.1 for r in rows)


def test_search_rejects_what_is_not_a_weight():
    table, gains = hand_table()
    with pytest.raises(ValueError, match="Only weights"):
        grid_search(table, gains, {"min_overlap_minutes": [30]})
    with pytest.raises(ValueError, match="w_topics must be a number >= 0"):
        grid_search(table, gains, {"w_topics": [-0.1]})
    with pytest.raises(ValueError, match="one gain >= 0 per pair"):
        evaluate_weights(table, gains[:3], MatchConfig())


def test_random_search_is_seeded_and_scores_each_draw():
    table, gains = hand_table()
    space = {"w_availability": [0.0, 0.5], "w_topics": [0.0, 0.5]}
    first = random_search(table, gains, space, n_iter=3, k=1, seed=4)
    assert first == random_search(table, gains, space, n_iter=3, k=1, seed=4) and len(first) == 3
    assert [r["ndcg@1"] for r in first] == sorted((r["ndcg@1"] for r in first), reverse=True)


def test_on_the_fixtures_similarity_carries_the_theme(members_index):
    """Ranking without narrative similarity must lose much of the theme match the default config finds."""
    table = candidate_pairs(members_index)
    gains = shared_label_gains(table, member_themes(members_index))
    rows = grid_search(table, gains, {"w_similarity": [0.0, 0.65], "w_availability": [0.15], "w_topics": [0.1]})
    by_similarity = {r["w_similarity"]: r for r in rows}
    assert by_similarity[0.65]["ndcg@5"] > by_similarity[0.0]["ndcg@5"] + 0.15
    default = evaluate_weights(table, gains, MatchConfig())
    assert {k: by_similarity[0.65][k] for k in default} == default


def test_config_from_weights_normalises_like_the_defaults():
    config = config_from_weights([1.3, 0.3, 0.2, 0.2, 0.4], MatchConfig(min_overlap_minutes=90), name="x")
    assert (config.w_similarity, config.w_availability, config.w_topics, config.w_preferences,
            config.w_exposure) == (0.65, 0.15, 0.1, 0.1, 0.2)
    assert config.min_overlap_minutes == 90 and config.name == "x"
    with pytest.raises(ValueError, match="positive weight"):
        config_from_weights([0, 0, 0, 0, 1.0])


def test_weight_distance():
    assert weight_distance(MatchConfig(), MatchConfig(w_similarity=1.3, w_availability=0.3, w_topics=0.2,
                                                      w_preferences=0.2, w_exposure=0.2)) == pytest.approx(0.0)
    only_similarity = MatchConfig(w_similarity=1, w_availability=0, w_topics=0, w_preferences=0, w_exposure=0)
    only_topics = MatchConfig(w_similarity=0, w_availability=0, w_topics=1, w_preferences=0, w_exposure=0)
    assert weight_distance(only_similarity, only_topics) == pytest.approx(2.0)


def test_learn_weights_finds_the_feature_that_drives_outcomes():
    rng = np.random.default_rng(1)
    X = rng.random((600, 5))
    X[:, 4] *= -1  # the exposure feature is a negative penalty
    good = 4 * X[:, 1] + rng.logistic(size=600) > 2
    learned = learn_weights(X, good, name="t")
    w = learned.config
    assert w.w_availability > 0.7 and max(w.w_similarity, w.w_topics, w.w_preferences, w.w_exposure) < 0.15
    assert w.w_similarity + w.w_availability + w.w_topics + w.w_preferences == pytest.approx(1.0, abs=1e-3)
    assert 0.7 < learned.cv_auc < 1.0 and learned.config.name == "t"


def test_learn_weights_rejects_unusable_data():
    X = np.random.default_rng(0).random((20, 5))
    with pytest.raises(ValueError, match="feature matrix"):
        learn_weights(X[:, :4], np.ones(20, bool))
    with pytest.raises(ValueError, match="good and"):
        learn_weights(X, np.r_[np.ones(18, bool), np.zeros(2, bool)])
    with pytest.raises(ValueError, match="sample weight"):
        learn_weights(X, np.arange(20) % 2 == 0, sample_weight=np.r_[np.ones(19), 0.0])


def test_sample_weights_decide_which_observations_the_weights_follow():
    rng = np.random.default_rng(2)
    X = rng.random((800, 5))
    X[:, 4] *= -1
    by_availability = 4 * X[:, 1] + rng.logistic(size=800) > 2
    by_topics = 4 * X[:, 2] + rng.logistic(size=800) > 2
    outcomes = np.r_[by_availability[:400], by_topics[400:]]
    topics_count = np.r_[np.full(400, 0.05), np.ones(400)]
    plain = learn_weights(X, outcomes).config
    weighted = learn_weights(X, outcomes, sample_weight=topics_count).config
    assert weighted.w_topics > plain.w_topics + 0.1 and weighted.w_availability < plain.w_availability - 0.1


def test_export_config_is_what_load_config_reads(tmp_path, monkeypatch):
    from matcher.config import load_config

    config = MatchConfig(w_similarity=0.4, w_topics=0.45, name="learned-2026-01-01")
    path = export_config(config, tmp_path / "configs" / "learned.json")
    monkeypatch.setenv("PEERMATCH_CONFIG", str(path))
    assert load_config() == config and load_config().digest() == config.digest()
