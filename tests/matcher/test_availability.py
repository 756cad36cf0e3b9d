"""Weekly windows across time zones, DST weeks, midnight and the week's wrap-around."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher.availability import (
    WEEK_MINUTES,
    bitmap_overlap_minutes,
    coming_week_start,
    overlap_intervals,
    overlap_minutes,
    to_bitmap,
    to_local_windows,
    utc_intervals,
    validate_timezone,
)
from matcher.profiles import DAYS, ProfileError, Window

PLAIN_WEEK = date(2026, 6, 8)       # a Monday with no DST change anywhere relevant
EU_DST_WEEK = date(2026, 3, 23)     # Europe springs forward on Sunday 2026-03-29
US_FALL_WEEK = date(2026, 10, 26)   # the US falls back on Sunday 2026-11-01


def w(day: str, start: str, end: str) -> Window:
    return Window.parse({"day": day, "start": start, "end": end})


def test_coming_week_starts_on_the_next_monday():
    assert coming_week_start(date(2026, 11, 25)) == date(2026, 11, 30)
    assert coming_week_start(date(2026, 11, 30)) == date(2026, 12, 7)


def test_local_window_converts_to_utc_minutes():
    # Berlin in June is UTC+2: Monday 18:00-20:00 local = Monday 16:00-18:00 UTC.
    assert utc_intervals([w("mon", "18:00", "20:00")], "Europe/Berlin", PLAIN_WEEK) == [(960, 1080)]
    # New York in June is UTC-4: Friday 21:00-23:00 local = Saturday 01:00-03:00 UTC.
    sat = 5 * 1440
    assert utc_intervals([w("fri", "21:00", "23:00")], "America/New_York", PLAIN_WEEK) == [(sat + 60, sat + 180)]


def test_window_crossing_midnight_runs_into_the_next_day():
    # Wednesday 22:00 - 01:00 in UTC is three hours ending Thursday 01:00.
    wed = 2 * 1440
    assert utc_intervals([w("wed", "22:00", "01:00")], "UTC", PLAIN_WEEK) == [(wed + 1320, wed + 1500)]


def test_sunday_night_window_wraps_to_the_start_of_the_week():
    sun = 6 * 1440
    assert utc_intervals([w("sun", "23:00", "02:00")], "UTC", PLAIN_WEEK) == [(0, 120), (sun + 1380, WEEK_MINUTES)]


def test_monday_morning_east_of_utc_wraps_to_the_end_of_the_week():
    # Sydney (UTC+10 in June) Monday 07:00-09:00 = Sunday 21:00-23:00 UTC of the same week.
    sun = 6 * 1440
    assert utc_intervals([w("mon", "07:00", "09:00")], "Australia/Sydney", PLAIN_WEEK) == [(sun + 1260, sun + 1380)]


def test_dst_change_inside_the_week_shifts_only_later_windows():
    windows = [w("mon", "18:00", "19:00"), w("sun", "18:00", "19:00")]
    got = utc_intervals(windows, "Europe/Berlin", EU_DST_WEEK)
    assert got[0] == (17 * 60, 18 * 60)                     # Monday: CET, UTC+1
    assert got[1] == (6 * 1440 + 16 * 60, 6 * 1440 + 17 * 60)  # Sunday: CEST, UTC+2


def test_window_across_the_dst_night_has_its_real_length():
    # Berlin Sunday 2026-03-29 01:00-04:00 local spans the skipped hour: two real hours.
    got = utc_intervals([w("sun", "01:00", "04:00")], "Europe/Berlin", EU_DST_WEEK)
    assert sum(b - a for a, b in got) == 120
    # New York Sunday 2026-11-01 00:00-03:00 local spans the repeated hour: four real hours.
    got = utc_intervals([w("sun", "00:00", "03:00")], "America/New_York", US_FALL_WEEK)
    assert sum(b - a for a, b in got) == 240


def test_same_windows_differ_between_a_dst_week_and_a_plain_week():
    # London and New York are 5 hours apart, except the week the US has changed and the UK not.
    ny = [w("mon", "12:00", "14:00")]
    london = [w("mon", "17:00", "19:00")]
    plain = date(2026, 1, 12)
    gap_week = date(2026, 3, 9)  # US on DST since 8 March, UK only from 29 March
    assert overlap_minutes(utc_intervals(ny, "America/New_York", plain),
                           utc_intervals(london, "Europe/London", plain)) == 120
    assert overlap_minutes(utc_intervals(ny, "America/New_York", gap_week),
                           utc_intervals(london, "Europe/London", gap_week)) == 60


def test_overlap_across_time_zones_reported_in_local_time():
    madrid = utc_intervals([w("tue", "19:00", "22:00")], "Europe/Madrid", PLAIN_WEEK)
    mexico = utc_intervals([w("tue", "10:00", "14:00")], "America/Mexico_City", PLAIN_WEEK)
    both = overlap_intervals(madrid, mexico)
    # Madrid is UTC+2 in June, Mexico City UTC-6 all year: both free 17:00-20:00 UTC.
    assert overlap_minutes(madrid, mexico) == 180
    assert to_local_windows(both, "America/Mexico_City", PLAIN_WEEK) == [
        {"day": "tue", "start": "11:00", "end": "14:00", "minutes": 180}]
    assert to_local_windows(both, "Europe/Madrid", PLAIN_WEEK) == [
        {"day": "tue", "start": "19:00", "end": "22:00", "minutes": 180}]


def test_overlapping_windows_of_one_member_are_merged():
    got = utc_intervals([w("mon", "10:00", "12:00"), w("mon", "11:00", "13:00")], "UTC", PLAIN_WEEK)
    assert got == [(600, 780)]


def test_bitmap_overlap_matches_interval_overlap():
    rng = np.random.default_rng(7)
    zones = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Australia/Sydney", "Asia/Kolkata"]

    def random_member():
        windows = []
        for _ in range(rng.integers(1, 5)):
            start = int(rng.integers(0, 1440))
            end = (start + int(rng.integers(15, 600))) % 1440 or 1
            windows.append(Window(DAYS[rng.integers(0, 7)], start, end if end != start else start + 1))
        return utc_intervals(windows, zones[rng.integers(0, len(zones))], EU_DST_WEEK)

    members = [random_member() for _ in range(40)]
    bitmaps = np.stack([to_bitmap(m) for m in members])
    for a in members[:10]:
        expected = [overlap_minutes(a, b) for b in members]
        assert bitmap_overlap_minutes(to_bitmap(a), bitmaps).tolist() == expected


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "europe/berlin ", "EST5EDT/x", None])
def test_unknown_time_zone_is_rejected(name):
    with pytest.raises(ProfileError) as err:
        validate_timezone(name)
    assert err.value.field == "timezone"


def test_known_time_zone_is_accepted():
    assert validate_timezone("America/Sao_Paulo") == "America/Sao_Paulo"


def test_weekly_grid_counts_shared_and_own_minutes_in_the_viewers_zone():
    from datetime import date

    from matcher.availability import weekly_grid
    week = date(2026, 1, 5)                                   # a Monday, no DST change in January
    a = utc_intervals([Window.parse({"day": "mon", "start": "18:00", "end": "20:00"})], "UTC", week)
    b = utc_intervals([Window.parse({"day": "mon", "start": "19:30", "end": "21:00"})], "UTC", week)
    grid = weekly_grid(a, b, "UTC", week)
    assert grid[0, 0, 19] == 30 and grid[0].sum() == 30
    assert grid[1, 0, 18] == 60 and grid[1, 0, 19] == 30 and grid[1].sum() == 90
    assert grid[2, 0, 20] == 60 and grid[2].sum() == 60
    tokyo = weekly_grid(a, b, "Asia/Tokyo", week)             # UTC+9: Monday 19:30 UTC is Tuesday 04:30
    assert tokyo[0, 1, 4] == 30 and tokyo[0].sum() == 30
    kolkata = weekly_grid(a, b, "Asia/Kolkata", week)         # UTC+5:30 splits hours in two
    assert kolkata[0, 1, 1] == 30 and kolkata[1, 0, 23] == 30 and kolkata[1, 1, 0] == 60
    sunday = utc_intervals([Window.parse({"day": "sun", "start": "23:00", "end": "01:00"})], "UTC", week)
    wrapped = weekly_grid(sunday, sunday, "UTC", week)        # wraps to Monday 00:00-01:00
    assert wrapped[0, 6, 23] == 60 and wrapped[0, 0, 0] == 60


def test_bitmap_overlap_on_chosen_rows_equals_the_full_scan_there():
    from matcher.availability import bitmap_overlap_at, bitmap_overlap_minutes, to_bitmap
    rng = np.random.default_rng(3)
    week = date(2026, 1, 5)
    members = [utc_intervals([Window.parse({"day": str(rng.choice(DAYS)), "start": f"{int(rng.integers(0, 23)):02d}:00",
                                            "end": f"{int(rng.integers(0, 23)):02d}:30"})], "UTC", week)
               for _ in range(40)]
    bitmaps = np.stack([to_bitmap(m) for m in members])
    query = to_bitmap(members[0])
    full = bitmap_overlap_minutes(query, bitmaps)
    rows = np.array([0, 3, 7, 39])
    some = bitmap_overlap_at(query, np.ascontiguousarray(bitmaps.T), rows)   # word-major, as the index keeps them
    assert some.shape == rows.shape and (some == full[rows]).all() and full[rows].sum() > 0
    assert (bitmap_overlap_at(np.zeros_like(query), bitmaps.T, rows) == 0).all()


def test_word_summaries_skip_only_rows_that_share_no_free_minute():
    from matcher.availability import bitmap_overlap_at, bitmap_overlap_minutes, summary_hits, to_bitmap, word_summary
    rng = np.random.default_rng(8)
    week = date(2026, 1, 5)
    members = [utc_intervals([Window.parse({"day": str(rng.choice(DAYS)), "start": f"{int(rng.integers(0, 24)):02d}:"
                                            f"{int(rng.choice((0, 15, 45))):02d}",
                                            "end": f"{int(rng.integers(0, 24)):02d}:10"}) for _ in range(2)],
                             str(rng.choice(["UTC", "Asia/Kolkata", "America/St_Johns"])), week)
               for _ in range(300)]
    bitmaps = np.stack([to_bitmap(m) for m in members])
    summaries = word_summary(bitmaps)
    assert summaries.shape == (300, 3)
    rows = np.arange(300)
    columns, summary_columns = np.ascontiguousarray(bitmaps.T), np.ascontiguousarray(summaries.T)
    some = np.array([4, 150, 299, 7])
    for query in bitmaps[:25]:
        full = bitmap_overlap_minutes(query, bitmaps)
        skipped = ~summary_hits(word_summary(query), summary_columns)
        assert (skipped == ~(summaries & word_summary(query)).any(axis=1)).all()
        assert (summary_hits(word_summary(query), summary_columns, some) == ~skipped[some]).all()
        assert (full[skipped] == 0).all() and skipped.any() and (~skipped).any()
        assert (bitmap_overlap_at(query, columns, rows, summary_columns) == full).all()


def test_a_window_ending_when_it_starts_is_the_whole_day_from_then():
    wed = 2 * 1440
    assert utc_intervals([w("wed", "09:00", "09:00")], "UTC", PLAIN_WEEK) == [(wed + 540, wed + 540 + 1440)]
    # the night Europe springs forward has 23 hours: Saturday 12:00 to Sunday 12:00 Berlin is 23 h of UTC
    sat = 5 * 1440
    assert utc_intervals([w("sat", "12:00", "12:00")], "Europe/Berlin", EU_DST_WEEK) == [(sat + 660, sat + 660 + 1380)]


SHIFTING_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham",
                  "Africa/Casablanca", "America/Santiago", "Antarctica/Troll", "America/St_Johns", "Asia/Tehran",
                  "Europe/London", "Pacific/Auckland", "America/Havana", "Asia/Kolkata", "UTC")


def test_the_any_week_summary_holds_every_week_s_summary_so_sql_never_drops_an_overlapping_member():
    """The SQL availability filter's superset: for each zone and every Monday of two years (DST weeks
    included), the week's own 64-minute words are all in the stored summary; short windows at the
    hours clocks change, windows across midnight and whole days included."""
    from datetime import timedelta

    from matcher.availability import any_week_summary, known_zones, word_summary

    rng = np.random.default_rng(7)
    zones = [*SHIFTING_ZONES, *rng.choice(sorted(known_zones()), size=30, replace=False)]
    windows = [w("sun", "02:00", "02:30"), w("sun", "01:30", "03:15"), w("sat", "23:50", "00:20"),
               w("mon", "00:00", "00:30"), w("wed", "18:00", "18:00"), w("fri", "03:00", "04:00"),
               w("sun", "23:00", "01:00")]
    weeks = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(104)]
    for zone in zones:
        for window in windows:
            stored = any_week_summary([window], zone)
            for week in weeks:
                summary = word_summary(to_bitmap(utc_intervals([window], zone, week)))
                assert np.array_equal(summary & stored, summary), (zone, window, week)
    exact = word_summary(to_bitmap(utc_intervals(windows, "UTC", PLAIN_WEEK)))
    assert np.array_equal(any_week_summary(windows, "UTC"), exact)   # no offset changes: nothing added


def test_the_any_week_summary_is_narrow_enough_to_filter():
    from matcher.availability import any_week_summary

    evening = any_week_summary([w("tue", "19:00", "20:00")], "Europe/Berlin")
    assert 1 <= int(np.bitwise_count(evening).sum()) <= 3   # an hour, widened by the one-hour DST shift
