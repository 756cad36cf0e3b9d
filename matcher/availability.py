"""Weekly windows in local time -> UTC minutes of the coming week, and overlaps between members.

A week is the 10,080 minutes from Monday 00:00 UTC. Each member's local windows are placed on
the calendar dates of that week in their own time zone (``zoneinfo``), so a DST change inside
the week shifts exactly the windows after it, and a window that starts before Monday 00:00 UTC
or ends after Sunday 24:00 UTC wraps around to the other end of the week.
"""
from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np

from matcher.profiles import DAYS, ProfileError, Window, format_hhmm

WEEK_MINUTES = 7 * 24 * 60
BITMAP_WORDS = WEEK_MINUTES // 64 + 1  # 158 uint64 words hold one bit per minute of the week
SUMMARY_WORDS = 3                      # one bit per word of that bitmap: is any of its 64 minutes free?

Interval = tuple[int, int]


NOT_A_PLACE = frozenset({"localtime", "Factory"})   # zoneinfo names that are no one's time zone


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA time zone name a member may give."""
    return frozenset(available_timezones()) - NOT_A_PLACE


def validate_timezone(name: str, field: str = "timezone") -> str:
    """The name itself, if it is an IANA time zone such as "Europe/Berlin"."""
    if not isinstance(name, str) or name not in known_zones():
        raise ProfileError(field, f"{name!r} is not an IANA time zone name such as \"Europe/Berlin\".")
    return name


def coming_week_start(today: date | None = None) -> date:
    """The Monday that starts the coming week (the next Monday after `today`, UTC)."""
    today = today or datetime.now(UTC).date()
    return today + timedelta(days=7 - today.weekday())


def _utc_minute(local: datetime, week_start: date) -> int:
    origin = datetime.combine(week_start, time(0), tzinfo=UTC)
    return int((local.astimezone(UTC) - origin).total_seconds() // 60)


def utc_intervals(windows: tuple[Window, ...] | list[Window], tz: str, week_start: date) -> list[Interval]:
    """Merged, sorted [start, end) UTC minutes of the week covered by `windows`.

    Parameters
    ----------
    windows : the member's weekly windows in local wall-clock time.
    tz : IANA zone name of the member.
    week_start : the Monday (a calendar date) of the week to place the windows in.
    """
    zone = ZoneInfo(tz)
    pieces: list[Interval] = []
    for w in windows:
        day = week_start + timedelta(days=DAYS.index(w.day))
        start = datetime.combine(day, time(w.start // 60, w.start % 60), tzinfo=zone)
        end_day = day + timedelta(days=1) if w.end <= w.start else day
        end = datetime.combine(end_day, time(w.end // 60, w.end % 60), tzinfo=zone)
        a, b = _utc_minute(start, week_start), _utc_minute(end, week_start)
        if b <= a:  # a window swallowed by a DST gap
            continue
        pieces.extend(_wrap(a, b))
    return merge_intervals(pieces)


def _wrap(a: int, b: int) -> list[Interval]:
    """Split [a, b) into pieces inside [0, WEEK_MINUTES), wrapping around the week."""
    a_mod = a % WEEK_MINUTES
    length = min(b - a, WEEK_MINUTES)
    if a_mod + length <= WEEK_MINUTES:
        return [(a_mod, a_mod + length)]
    return [(a_mod, WEEK_MINUTES), (0, a_mod + length - WEEK_MINUTES)]


def merge_intervals(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def overlap_intervals(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The UTC minutes both members are free, as merged intervals."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def overlap_minutes(a: list[Interval], b: list[Interval]) -> int:
    """Minutes per week that two members are both free."""
    return sum(hi - lo for lo, hi in overlap_intervals(a, b))


def to_bitmap(intervals: list[Interval]) -> np.ndarray:
    """One bit per UTC minute of the week, packed into uint64 words (for vectorised overlaps)."""
    bits = np.zeros(BITMAP_WORDS * 64, dtype=bool)
    for lo, hi in intervals:
        bits[lo:hi] = True
    return np.packbits(bits, bitorder="little").view(np.uint64)


def bitmap_overlap_minutes(query: np.ndarray, bitmaps: np.ndarray) -> np.ndarray:
    """Overlap in minutes between one bitmap and each row of `bitmaps` (shape (n, BITMAP_WORDS))."""
    return np.bitwise_count(bitmaps & query).sum(axis=1, dtype=np.int64)


def word_summary(bitmaps: np.ndarray) -> np.ndarray:
    """One bit per non-empty word of each minute bitmap (shape (..., SUMMARY_WORDS)).

    Two members whose summaries share no bit have no free minute in common: 3 words answer that
    for most pairs without reading the 158 of the full bitmaps.
    """
    bits = np.zeros((*bitmaps.shape[:-1], SUMMARY_WORDS * 64), dtype=bool)
    bits[..., :BITMAP_WORDS] = bitmaps != 0
    return np.packbits(bits, axis=-1, bitorder="little").view(np.uint64)


def summary_hits(query_summary: np.ndarray, summary_columns: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Which rows (all, or `rows`) share a non-empty 64-minute word with the query (its `word_summary`).

    `summary_columns` holds the summaries word-major (shape (SUMMARY_WORDS, n)). A row with no hit
    has no free minute in common with the query; a hit still needs the exact count.
    """
    n = summary_columns.shape[1] if rows is None else rows.size
    hits = np.zeros(n, dtype=bool)
    scratch = np.empty(n, dtype=np.uint64)
    for word in np.flatnonzero(query_summary):
        column = summary_columns[word] if rows is None else summary_columns[word].take(rows)
        np.bitwise_and(column, query_summary[word], out=scratch)
        hits |= scratch != 0
    return hits


def bitmap_overlap_at(query: np.ndarray, bitmap_columns: np.ndarray, rows: np.ndarray,
                      summary_columns: np.ndarray | None = None) -> np.ndarray:
    """Overlap in minutes between one bitmap and the bitmaps of `rows`, one entry per row asked for.

    `bitmap_columns` holds the bitmaps word-major (shape (BITMAP_WORDS, n)), so each word where
    `query` has a free minute is one contiguous gather; the other words are never read. With
    `summary_columns` (the rows' `word_summary`, word-major), rows that share no word are skipped.
    """
    out = np.zeros(rows.size, dtype=np.int64)
    if summary_columns is not None:
        maybe = np.flatnonzero(summary_hits(word_summary(query), summary_columns, rows))
        out[maybe] = bitmap_overlap_at(query, bitmap_columns, rows[maybe])
        return out
    for word in np.flatnonzero(query):
        out += np.bitwise_count(bitmap_columns[word].take(rows) & query[word])
    return out


@functools.cache
def zone_offsets(tz: str, first_year: int | None = None, years: int = 4) -> tuple[int, int]:
    """The smallest and largest UTC offset (minutes) `tz` takes from `first_year` (default: last year) on.

    Sampled twice a day: no zone keeps an offset for less than a day.
    """
    zone = ZoneInfo(tz)
    first_year = first_year or datetime.now(UTC).year - 1
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    offsets = {int((start + timedelta(hours=12 * i)).astimezone(zone).utcoffset() // timedelta(minutes=1))  # type: ignore[operator]
               for i in range(years * 366 * 2)}
    return min(offsets), max(offsets)


def any_week_summary(windows: tuple[Window, ...] | list[Window], tz: str) -> np.ndarray:
    """A `word_summary` that holds every week's: the bits a member's windows may touch in any week.

    Each local window [s, e) of the week is placed at [s - largest offset, e - smallest offset) UTC,
    which contains its UTC minutes under either offset and across a DST change inside it, so a
    member sharing no bit with another's summary of one week shares no free minute that week.
    Stored in SQL (three bigints), it lets the database drop members who can never overlap.
    """
    low, high = zone_offsets(tz)
    pieces: list[Interval] = []
    for w in windows:
        start = DAYS.index(w.day) * 24 * 60 + w.start
        end = start + w.minutes
        pieces.extend(_wrap(start - high, end - low))
    return word_summary(to_bitmap(merge_intervals(pieces)))


def signed_words(summary: np.ndarray) -> list[int]:
    """A summary's uint64 words as the signed 64-bit integers SQL's bigint holds (same bits)."""
    return [int(word) for word in np.asarray(summary, dtype=np.uint64).view(np.int64)]


def to_local_windows(intervals: list[Interval], tz: str, week_start: date) -> list[dict]:
    """UTC intervals of the week as {"day", "start", "end"} windows in the zone `tz`.

    A piece that runs past local midnight is reported as one window that crosses midnight.
    """
    zone = ZoneInfo(tz)
    origin = datetime.combine(week_start, time(0), tzinfo=UTC)
    out = []
    for lo, hi in intervals:
        start = (origin + timedelta(minutes=lo)).astimezone(zone)
        end = (origin + timedelta(minutes=hi)).astimezone(zone)
        out.append({
            "day": DAYS[start.weekday()],
            "start": format_hhmm(start.hour * 60 + start.minute),
            "end": format_hhmm(end.hour * 60 + end.minute),
            "minutes": hi - lo,
        })
    return out


GRID_SLOT = 15   # minutes; every IANA offset is a multiple of 15 minutes


def weekly_grid(a: list[Interval], b: list[Interval], tz: str, week_start: date) -> np.ndarray:
    """Minutes per local (weekday, hour) in zone `tz` that both, only `a`, or only `b` are free.

    Returns an int array of shape (3, 7, 24): [both, a only, b only] x Monday..Sunday x hour,
    for drawing the week as a grid in a coordinator's time zone.
    """
    zone = ZoneInfo(tz)
    origin = datetime.combine(week_start, time(0), tzinfo=UTC)
    free = np.zeros((2, WEEK_MINUTES), dtype=bool)
    for row, intervals in enumerate((a, b)):
        for lo, hi in intervals:
            free[row, lo:hi] = True
    slots = free.reshape(2, -1, GRID_SLOT).sum(axis=2)
    both = (free[0] & free[1]).reshape(-1, GRID_SLOT).sum(axis=1)
    grid = np.zeros((3, 7, 24), dtype=np.int64)
    for k in range(WEEK_MINUTES // GRID_SLOT):
        local = (origin + timedelta(minutes=k * GRID_SLOT)).astimezone(zone)
        cell = (local.weekday(), local.hour)
        grid[(0, *cell)] += both[k]
        grid[(1, *cell)] += slots[0, k] - both[k]
        grid[(2, *cell)] += slots[1, k] - both[k]
    return grid


__all__ = [
    "WEEK_MINUTES", "ZoneInfoNotFoundError", "any_week_summary", "bitmap_overlap_at", "bitmap_overlap_minutes",
    "coming_week_start",
    "merge_intervals", "overlap_intervals", "overlap_minutes", "summary_hits", "to_bitmap", "to_local_windows",
    "known_zones", "signed_words", "utc_intervals", "validate_timezone", "weekly_grid", "word_summary",
    "zone_offsets",
]
