"""Weekly slots on an anchor zone's clock, checked in every member's own zone in every week (DST included)."""
from __future__ import annotations

from datetime import date

from matcher.groups import WeeklySlot, slot_fits, slot_table
from matcher.groups.slots import programme_weeks, regime_weeks, weeks_not_fitting
from matcher.profiles import Member, Window

from .conftest import rules

LONDON_EVENING = (Window("mon", 18 * 60, 19 * 60 + 30),)     # 18:00-19:30 London = 18:00-19:30 UTC in winter
NEW_YORK_LUNCH = (Window("mon", 13 * 60, 14 * 60 + 30),)     # 13:00-14:30 New York = 18:00-19:30 UTC in winter
SLOT = WeeklySlot("Europe/London", "mon", 18 * 60, 90)


def member(i: int, tz: str, windows) -> Member:
    return Member(i, "seeker", "", ("en",), tz, tuple(windows))


def test_a_slot_renders_on_each_members_clock_and_follows_the_anchor_across_its_dst_change():
    assert SLOT.render("America/New_York", date(2027, 1, 4))["start"] == "13:00"
    assert SLOT.render("America/New_York", date(2027, 3, 15))["start"] == "14:00"   # US in DST, UK not yet
    assert SLOT.render("America/New_York", date(2027, 4, 5))["start"] == "13:00"    # both in DST
    assert SLOT.render("Europe/London", date(2027, 7, 5)) == {"day": "mon", "start": "18:00", "end": "19:30",
                                                              "minutes": 90, "timezone": "Europe/London"}
    assert SLOT.render("Asia/Tokyo", date(2027, 1, 4))["day"] == "tue"
    assert WeeklySlot.from_dict(SLOT.to_dict()) == SLOT


def test_london_and_new_york_fit_in_winter_but_not_in_the_march_weeks_when_only_new_york_has_changed():
    new_york = member(2, "America/New_York", NEW_YORK_LUNCH)
    winter = programme_weeks(rules(start_date=date(2027, 1, 4), horizon_weeks=8))
    assert slot_fits(new_york, SLOT, winter)
    spring = programme_weeks(rules(start_date=date(2027, 3, 1), horizon_weeks=6))
    assert weeks_not_fitting(new_york, SLOT, spring) == [date(2027, 3, 15), date(2027, 3, 22)]
    assert slot_fits(member(1, "Europe/London", LONDON_EVENING), SLOT, spring)


def test_the_november_weeks_between_the_uk_and_us_changes_are_refused_too():
    new_york = member(2, "America/New_York", NEW_YORK_LUNCH)
    autumn = programme_weeks(rules(start_date=date(2027, 10, 4), horizon_weeks=8))
    assert weeks_not_fitting(new_york, SLOT, autumn) == [date(2027, 11, 1)]


def test_slot_table_agrees_with_slot_fits_for_every_slot_and_member():
    members = [member(1, "Europe/London", LONDON_EVENING), member(2, "America/New_York", NEW_YORK_LUNCH),
               member(3, "America/New_York", (Window("sun", 22 * 60, 2 * 60),)),   # crosses midnight
               member(4, "Australia/Sydney", (Window("sat", 8 * 60, 12 * 60),))]
    programme = rules(start_date=date(2027, 2, 1), horizon_weeks=12)
    table = slot_table(members, programme)
    weeks = programme_weeks(programme)
    assert table.fits.shape == (4, len(table.slots)) and table.fits.any(axis=1).all()
    for s, slot in enumerate(table.slots[::7]):
        for i, m in enumerate(members):
            assert table.fits[i, s * 7] == slot_fits(m, slot, weeks), (m.timezone, slot)


def test_weeks_alike_in_every_zone_are_checked_once():
    weeks = tuple(programme_weeks(rules(start_date=date(2027, 1, 4), horizon_weeks=52)))
    assert len(regime_weeks(("Asia/Tokyo",), weeks)) == 1
    kept = regime_weeks(("Europe/London", "America/New_York"), weeks)
    assert 4 < len(kept) < 12 and kept[0] == weeks[0]
