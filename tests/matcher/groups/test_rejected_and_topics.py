"""Rejected groups are never proposed again (nor nearly), and a programme's topics decide who may join it."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.groups import GroupRule, LeftOutReason, OpenGroup, WeeklySlot, check_group, form_groups, group_suggestions
from matcher.groups.local_search import improve
from matcher.groups.pool import Pool
from matcher.groups.rejected import core_size

from .conftest import assert_valid, person, rules

SLOT = WeeklySlot("Europe/London", "mon", 18 * 60 + 30, 90)


def held_of(formation, rejected: frozenset[int]) -> int:
    """The most members of `rejected` that one proposed group holds."""
    return max((len(rejected & set(g.member_ids)) for g in formation.groups), default=0)


def test_the_core_of_a_rejected_group_is_a_strict_majority_and_at_least_three():
    assert [core_size(n) for n in (2, 3, 4, 5, 6, 7, 8, 12)] == [2, 3, 3, 3, 4, 4, 5, 7]


@pytest.mark.parametrize("method", ["flow", "greedy", "random"])
def test_a_later_formation_never_proposes_the_core_of_a_rejected_group_again(community, method):
    first = form_groups(community, rules(), method=method)
    rejected = [frozenset(g.member_ids) for g in first.groups[:3]]
    again = form_groups(community, rules(), method=method)
    assert {frozenset(g.member_ids) for g in again.groups} >= set(rejected)   # same members, same groups
    formed = form_groups(community, rules(), method=method, rejected_groups=rejected)
    for group in rejected:
        assert held_of(formed, group) < core_size(len(group))
    by_id = {c.id: c for c in community}
    for group in formed.groups:
        members = [by_id[m] for m in group.member_ids]
        assert check_group(members, rules(), group.slot, group.language, rejected_groups=rejected) == []
    assert_valid(formed, community, rules())
    assert formed.coverage(len(community)) >= 0.8


def test_members_who_could_only_meet_as_the_rejected_group_are_left_out_with_that_reason():
    alone = [person(i) for i in range(1, 6)]
    assert [g.member_ids for g in form_groups(alone, rules()).groups] == [(1, 2, 3, 4, 5)]
    formation = form_groups(alone, rules(), rejected_groups=[{1, 2, 3, 4, 5}])
    assert formation.groups == []
    assert {x.reason for x in formation.left_out} == {LeftOutReason.REJECTED_GROUP}


def test_two_members_of_a_rejected_group_of_four_may_meet_again_but_not_three():
    members = [person(i) for i in range(1, 5)]
    assert held_of(form_groups(members + [person(i) for i in range(5, 7)], rules(min_size=3, max_size=3),
                               rejected_groups=[{1, 2, 3, 4}]), frozenset({1, 2, 3, 4})) == 2
    two = check_group([*members[:2], person(7), person(8)], rules(), SLOT, "en", rejected_groups=[{1, 2, 3, 4}])
    assert two == []
    three = check_group([*members[:3], person(8)], rules(), SLOT, "en", rejected_groups=[frozenset({1, 2, 3, 4})])
    assert [(v.rule, v.member_ids) for v in three] == [(GroupRule.REJECTED_GROUP, (1, 2, 3))]
    assert "at most 2" in three[0].message


def test_a_late_joiner_who_would_recreate_a_rejected_group_is_not_suggested_it():
    open_group = OpenGroup(1, (person(1), person(2), person(8), person(9)), "en", SLOT)
    assert [f.group_id for f in group_suggestions(person(3), [open_group], rules())] == [1]
    assert group_suggestions(person(3), [open_group], rules(), rejected_groups=[frozenset({1, 2, 3, 4})]) == []
    assert group_suggestions(person(10), [open_group], rules(), rejected_groups=[frozenset({1, 2, 3, 4})]) != []


def test_a_programme_with_topics_groups_only_members_who_share_one():
    grief = [person(i, topics=("grief", "loneliness")) for i in range(1, 5)]
    others = [person(5, topics=("cancer",)), person(6)]
    programme = rules(topics=frozenset({"grief", "bereavement"}))
    formation = form_groups(grief + others, programme)
    assert [g.member_ids for g in formation.groups] == [(1, 2, 3, 4)]
    assert {x.member_id: x.reason for x in formation.left_out} == dict.fromkeys((5, 6), LeftOutReason.NO_SHARED_TOPIC)
    open_to_all = form_groups(grief + others, rules())
    assert sorted(open_to_all.placed_ids) == [1, 2, 3, 4, 5, 6]
    broken = check_group([*grief[:3], others[0]], programme, SLOT, "en")
    assert [(v.rule, v.member_ids) for v in broken] == [(GroupRule.TOPIC, (5,))]
    group = OpenGroup(1, tuple(grief), "en", SLOT)
    assert group_suggestions(others[0], [group], programme) == []
    assert group_suggestions(person(7, topics=("bereavement",)), [group], programme) != []


def test_local_search_never_swaps_members_back_into_a_rejected_group():
    candidates = [person(i, theme=0 if i < 5 else 1) for i in range(1, 9)]
    mixed = [[0, 1, 4, 5], [2, 3, 6, 7]]                     # rows; the first four rows share a theme
    programme = rules(min_size=4, max_size=4)
    free = improve(Pool.build(candidates, programme, ()), list(range(8)), [list(g) for g in mixed],
                   np.random.default_rng(0))[0]
    assert sorted(sorted(g) for g in free) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    pool = Pool.build(candidates, programme, (), rejected_groups=[{1, 2, 3, 4}])
    kept = improve(pool, list(range(8)), [list(g) for g in mixed], np.random.default_rng(0))[0]
    assert all(not pool.recreated(g) and pool.valid(g) for g in kept)
