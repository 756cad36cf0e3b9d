"""The feedback simulator, and recovering its hidden weights from simulated feedback on the fixtures."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.analysis.feedback_sim import simulate_feedback, simulated_exposure, with_stated_preferences
from matcher.analysis.tuning import weight_distance
from matcher.config import MatchConfig


def test_feedback_is_seeded_and_follows_the_true_utility(study):
    again = simulate_feedback(study.pairs, study.true_config, seed=0)
    other = simulate_feedback(study.pairs, study.true_config, seed=1)
    assert np.array_equal(again.rating, study.feedback.rating)
    assert np.array_equal(again.would_continue, study.feedback.would_continue)
    assert not np.array_equal(other.rating, study.feedback.rating)
    fb = study.feedback
    assert set(np.unique(fb.rating)) == {1, 2, 3, 4, 5}
    assert np.allclose(fb.utility, study.pairs.scores(study.true_config))
    low, high = fb.utility < np.quantile(fb.utility, 0.25), fb.utility > np.quantile(fb.utility, 0.75)
    assert fb.rating[high].mean() > fb.rating[low].mean() + 1.5
    assert fb.would_continue[high].mean() > fb.would_continue[low].mean() + 0.4


def test_without_signal_feedback_ignores_utility(study):
    noise = simulate_feedback(study.pairs, study.true_config, signal=0.0, seed=0)
    assert abs(np.corrcoef(noise.utility, noise.rating)[0, 1]) < 0.05


def test_stated_preferences_copy_the_index_and_stay_plausible(members_index, study):
    before = [m for m in members_index.members if m is not None]
    after = [m for m in study.index.members if m is not None]
    assert all(not m.preferred_languages and not m.preferred_topics for m in before)
    for share in (np.mean([bool(m.preferred_languages) for m in after]),
                  np.mean([bool(m.preferred_topics) for m in after])):
        assert 0.4 < share < 0.6
    themes = {}
    for m in before:
        themes.setdefault(m.extra["theme"], set()).update(m.topics)
    assert all(set(m.preferred_languages) <= set(m.languages) for m in after)
    assert all(set(m.preferred_topics) <= themes[m.extra["theme"]] for m in after)
    with pytest.raises(ValueError, match="share"):
        with_stated_preferences(members_index, share=1.5)


def test_simulated_exposure_is_seeded_and_skewed(members_index):
    exposure = simulated_exposure(members_index, mean=1.0, seed=3)
    assert exposure == simulated_exposure(members_index, mean=1.0, seed=3)
    counts = np.array([exposure.get(m.id, 0) for m in members_index.members])
    assert 0.7 < counts.mean() < 1.3 and (counts == 0).mean() > 0.3 and counts.max() >= 4


def test_learned_weights_recover_the_hidden_ones(study):
    learned = study.learned.config
    assert weight_distance(learned, study.true_config) < 0.5 * weight_distance(MatchConfig(), study.true_config)
    assert 0.75 < study.learned.cv_auc < 0.95
    assert learned.name.startswith("learned-")
    assert learned.w_similarity + learned.w_availability + learned.w_topics + learned.w_preferences \
        == pytest.approx(1.0, abs=1e-3)


def test_learned_weights_rank_held_out_members_better_than_the_defaults(study):
    """On queries not used for learning, suggestions rated 4+ come first more often with the learned weights."""
    default, learned = study.held_out(MatchConfig()), study.held_out(study.learned.config)
    assert learned["ndcg@5"] > default["ndcg@5"] + 0.03
    assert learned["precision@5"] > default["precision@5"]
    assert learned["queries"] == default["queries"] > 100
