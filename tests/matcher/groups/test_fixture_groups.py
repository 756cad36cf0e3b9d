"""The fixture members who want a group, with the real model: 8+ valid groups in 3 languages, above the baselines."""
from __future__ import annotations

from collections import Counter

import pytest

from matcher.analysis.group_evaluation import default_rules, fixture_group_candidates, label_purity, label_sets
from matcher.groups import form_groups

from .conftest import assert_valid


@pytest.fixture(scope="module")
def fixture_groups(embedder):
    candidates, themes = fixture_group_candidates(embedder)
    rules = default_rules()
    runs = {m: form_groups(candidates, rules, seed=0, method=m) for m in ("flow", "greedy", "random")}
    return candidates, dict(zip((c.id for c in candidates), label_sets(themes), strict=True)), rules, runs


def test_fixtures_form_at_least_eight_valid_groups_across_three_languages(fixture_groups):
    candidates, _, rules, runs = fixture_groups
    flow = runs["flow"]
    assert_valid(flow, candidates, rules)
    assert len(flow.groups) >= 8
    assert set(Counter(g.language for g in flow.groups)) == {"en", "es", "fr"}
    assert any(c.wants_sizes for c in candidates)


def test_on_real_narratives_flow_beats_random_feasible_and_matches_greedy(fixture_groups):
    _, themes, _, runs = fixture_groups
    assert runs["flow"].objective >= 1.2 * runs["random"].objective
    assert runs["flow"].objective >= runs["greedy"].objective
    assert label_purity(runs["flow"], themes) > 1.3 * label_purity(runs["random"], themes)
