"""`check_group`: every rule of a group, each broken on purpose and named."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from matcher.groups import GroupRule, WeeklySlot, check_group, facilitator_eligible
from matcher.profiles import Member, Window

from .conftest import person, rules

SLOT = WeeklySlot("Europe/London", "mon", 18 * 60 + 30, 90)


def four(**changes):
    return [person(i, **changes) for i in range(1, 5)]


def broken(members, programme=None, slot=SLOT, language="en", exclusions=(), facilitator_id=None) -> set[GroupRule]:
    found = check_group(members, programme or rules(), slot, language, exclusions, facilitator_id)
    assert all(v.message for v in found)
    return {v.rule for v in found}


def test_a_valid_group_breaks_nothing():
    assert broken(four()) == set()


@pytest.mark.parametrize(("members", "rule"), [
    (lambda: four()[:3], GroupRule.SIZE_BELOW_MIN),
    (lambda: [person(i) for i in range(1, 10)], GroupRule.SIZE_ABOVE_MAX),
    (lambda: [*four()[:3], person(4, sizes={5, 6})], GroupRule.SIZE_NOT_ACCEPTED),
    (lambda: [*four()[:3], person(4, languages=("fr",))], GroupRule.LANGUAGE),
    (lambda: [*four()[:3], person(4, held=True)], GroupRule.HELD_FOR_REVIEW),
    (lambda: [*four()[:3], person(3)], GroupRule.DUPLICATE_MEMBER),
    (lambda: [*four()[:3], person(4, windows=(Window("tue", 18 * 60, 21 * 60),))], GroupRule.SLOT_OUTSIDE_AVAILABILITY),
])
def test_each_broken_rule_is_named(members, rule):
    assert rule in broken(members())


def test_the_programme_language_and_the_meeting_length_are_checked():
    assert broken(four(languages=("de",)), language="de") == {GroupRule.LANGUAGE}
    assert broken(four(), slot=replace(SLOT, minutes=60)) == {GroupRule.SLOT_LENGTH}


def test_two_members_who_excluded_each_other_are_refused_and_named():
    found = check_group(four(), rules(), SLOT, "en", [frozenset({2, 3}), frozenset({1, 99})])
    assert [(v.rule, v.member_ids) for v in found] == [(GroupRule.EXCLUDED_PAIR, (2, 3))]


def test_a_facilitator_is_required_present_and_eligible():
    programme = rules(needs_facilitator=True)
    group = [*four()[:3], person(4, role="supporter")]
    assert broken(group, programme, facilitator_id=4) == set()
    assert broken(group, programme) == {GroupRule.FACILITATOR_MISSING}
    assert broken(group, programme, facilitator_id=99) == {GroupRule.FACILITATOR_MISSING}
    assert broken(group, programme, facilitator_id=1) == {GroupRule.FACILITATOR_NOT_ELIGIBLE}


def test_a_slot_outside_one_members_week_after_a_dst_change_names_that_member_and_week():
    london = person(1, windows=(Window("mon", 18 * 60, 19 * 60 + 30),))
    new_york = [person(i, tz="America/New_York", windows=(Window("mon", 13 * 60, 14 * 60 + 30),)) for i in (2, 3, 4)]
    slot = WeeklySlot("Europe/London", "mon", 18 * 60, 90)
    assert broken([london, *new_york], rules(start_date=date(2027, 1, 4), horizon_weeks=8), slot) == set()
    found = check_group([london, *new_york], rules(start_date=date(2027, 1, 4), horizon_weeks=52), slot, "en")
    assert [v.member_ids for v in found] == [(2,), (3,), (4,)]
    assert {v.rule for v in found} == {GroupRule.SLOT_OUTSIDE_AVAILABILITY}
    assert "2027-03-15" in found[0].message


def test_only_supporters_and_peers_with_a_free_place_may_facilitate():
    base = Member(1, "supporter", "", ("en",), "Europe/London", (), capacity=2, active_pairings=1)
    assert facilitator_eligible(base) and facilitator_eligible(replace(base, role="peer"))
    assert not facilitator_eligible(replace(base, role="seeker"))
    assert not facilitator_eligible(replace(base, active_pairings=2))
    assert not facilitator_eligible(replace(base, needs_review=True))
    assert not facilitator_eligible(replace(base, status="paused"))
