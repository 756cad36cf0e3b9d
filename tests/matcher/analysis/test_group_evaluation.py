"""Scoring groups on labelled members: label purity, seeded random members, ratios to the baselines."""
from __future__ import annotations

from datetime import date

import pytest

from matcher.analysis.group_evaluation import evaluate_grouping, label_purity, label_sets, random_members
from matcher.groups import Formation, ProposedGroup, WeeklySlot
from tests.matcher.groups.conftest import person, rules

SLOT = WeeklySlot("Europe/London", "mon", 18 * 60, 90)


def test_label_purity_is_the_share_of_pairs_inside_groups_that_share_a_label():
    labels = dict(enumerate(label_sets(["a", "a", "b", ("b", "c"), "c", "c"])))
    groups = [ProposedGroup((0, 1, 2), "en", SLOT, None, 0.0), ProposedGroup((3, 4, 5), "en", SLOT, None, 0.0)]
    assert label_purity(Formation(groups, []), labels) == pytest.approx(4 / 6)
    assert label_purity(Formation([], []), labels) == 0.0


def test_random_members_are_seeded_and_varied():
    first, again, other = random_members(50, seed=3), random_members(50, seed=3), random_members(50, seed=4)
    assert first == again and first != other
    assert len({m.timezone for m in first}) > 3 and {lang for m in first for lang in m.languages} == {"en", "es", "fr"}


def test_every_method_is_scored_with_ratios_of_flow_to_each_baseline():
    candidates = [person(i, i % 3) for i in range(1, 25)]
    report = evaluate_grouping(candidates, [c.id % 3 for c in candidates], rules(start_date=date(2027, 1, 4)))
    assert report["members"] == 24 and {"flow", "greedy", "random", "ratios"} <= report.keys()
    assert report["flow"]["label_purity"] == 1.0 and report["flow"]["coverage"] == 1.0
    assert report["flow"]["sizes"] == {"8": 3}
    assert report["ratios"]["objective_vs_random"] > 1.2 and report["ratios"]["label_purity_vs_greedy"] >= 1.0
