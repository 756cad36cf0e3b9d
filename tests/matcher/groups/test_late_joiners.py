"""`group_suggestions`: open groups with room that fit a late joiner, most similar first."""
from __future__ import annotations

import pytest

from matcher.groups import OpenGroup, WeeklySlot, group_suggestions
from matcher.profiles import Window

from .conftest import person, rules

SLOT = WeeklySlot("Europe/London", "mon", 18 * 60 + 30, 90)


def group(gid: int, theme: int, ids, language="en", slot=SLOT) -> OpenGroup:
    return OpenGroup(gid, tuple(person(i, theme, languages=("en", "es")) for i in ids), language, slot)


def test_open_groups_are_listed_most_similar_first_with_an_explanation():
    joiner = person(100, theme=1, tz="America/New_York", windows=(Window("mon", 13 * 60, 16 * 60),))
    fits = group_suggestions(joiner, [group(1, 0, range(1, 5)), group(2, 1, range(5, 9))], rules())
    assert [f.group_id for f in fits] == [2, 1]
    assert fits[0].score > 0.6 > 0.2 > fits[1].score
    explanation = fits[0].explanation
    assert explanation["slot"]["start"] == "13:30" and explanation["slot"]["timezone"] == "America/New_York"
    assert explanation["size_after"] == 5 and explanation["language"] == "en"


@pytest.mark.parametrize("why", ["full", "language", "slot", "blocked", "size", "member"])
def test_a_group_the_joiner_cannot_join_is_not_listed(why):
    joiner = person(100, theme=0, languages=("fr",) if why == "language" else ("en",),
                    windows=(Window("tue", 9 * 60, 12 * 60),) if why == "slot" else (Window("mon", 18 * 60, 21 * 60),),
                    sizes={4} if why == "size" else None)
    ids = list(range(1, 9)) if why == "full" else [1, 2, 3, 4]
    if why == "member":
        ids = [1, 2, 3, 100]
    exclusions = [frozenset({100, 3})] if why == "blocked" else []
    assert group_suggestions(joiner, [group(1, 0, ids)], rules(), exclusions) == []
    assert group_suggestions(person(100), [group(1, 0, [1, 2, 3, 4])], rules()) != []


def test_a_held_member_gets_no_group_and_k_limits_the_list():
    groups = [group(g, 0, range(4 * g, 4 * g + 4)) for g in range(1, 4)]
    assert group_suggestions(person(100, held=True), groups, rules()) == []
    assert len(group_suggestions(person(100), groups, rules(), k=2)) == 2
    with pytest.raises(ValueError, match="k must be"):
        group_suggestions(person(100), groups, rules(), k=0)
