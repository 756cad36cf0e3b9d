"""Weekly meeting slots: a wall-clock time in an anchor time zone that fits every member, every week, across DST.

A group meets every week at the same local time in its *anchor* zone (the zone most of its members
live in). Each member's own windows are placed in UTC week by week with `matcher.availability`
(their own zone's DST rules), and a slot fits a member only if, in every week of the programme's
horizon, the meeting's UTC minutes lie inside the member's free minutes. Weeks whose zone offsets
are all alike are checked once (a *regime*).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from matcher.availability import WEEK_MINUTES, utc_intervals
from matcher.profiles import DAYS, Window, format_hhmm

if TYPE_CHECKING:
    from matcher.groups.rules import GroupRules
    from matcher.profiles import Member


def monday_of(day: date) -> date:
    """The Monday on or before `day`."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, order=True)
class WeeklySlot:
    """A weekly meeting: `day` and `start` (minutes after midnight) on the clock of `timezone`, for `minutes`."""

    timezone: str
    day: str
    start: int
    minutes: int

    def starts_at(self, week_start: date) -> datetime:
        """The meeting's start in the week of Monday `week_start`, as an aware datetime in the anchor zone."""
        local_day = week_start + timedelta(days=DAYS.index(self.day))
        return datetime.combine(local_day, time(self.start // 60, self.start % 60), tzinfo=ZoneInfo(self.timezone))

    def utc_start(self, week_start: date) -> int:
        """UTC minutes from `week_start` (a Monday, 00:00 UTC) to the meeting's start that week (may fall
        outside [0, 10080) when the anchor's Monday is not UTC's; callers take it modulo the week)."""
        origin = datetime.combine(week_start, time(0), tzinfo=UTC)
        return int((self.starts_at(week_start).astimezone(UTC) - origin).total_seconds() // 60)

    def render(self, tz: str, on: date) -> dict:
        """The meeting in zone `tz` in the week containing `on`: {"day", "start", "end", "minutes", "timezone"}."""
        start = self.starts_at(monday_of(on)).astimezone(ZoneInfo(tz))
        end = start + timedelta(minutes=self.minutes)
        return {"day": DAYS[start.weekday()], "start": format_hhmm(start.hour * 60 + start.minute),
                "end": format_hhmm(end.hour * 60 + end.minute), "minutes": self.minutes, "timezone": tz}

    def to_dict(self) -> dict:
        return {"timezone": self.timezone, "day": self.day, "start": format_hhmm(self.start), "minutes": self.minutes}

    @classmethod
    def from_dict(cls, raw: dict) -> WeeklySlot:
        hh, mm = raw["start"].split(":")
        return cls(raw["timezone"], raw["day"], int(hh) * 60 + int(mm), int(raw["minutes"]))


# ---- which slots fit which members ------------------------------------------------------------

def programme_weeks(rules: GroupRules) -> list[date]:
    """The Mondays of the weeks a group's slot must fit: `horizon_weeks` of them from the start date's week."""
    first = monday_of(rules.start_date)
    return [first + timedelta(weeks=w) for w in range(rules.horizon_weeks)]


def _week_signature(zones: tuple[str, ...], week: date) -> tuple:
    """Each zone's UTC offset at noon UTC on the days around `week`: weeks alike here place windows alike."""
    noons = [datetime.combine(week + timedelta(days=d), time(12), tzinfo=UTC) for d in range(-1, 9)]
    return tuple(noon.astimezone(ZoneInfo(z)).utcoffset() for z in zones for noon in noons)


@functools.cache
def regime_weeks(zones: tuple[str, ...], weeks: tuple[date, ...]) -> tuple[date, ...]:
    """One representative Monday per distinct set of offsets of `zones` among `weeks` (first occurrence)."""
    seen: dict[tuple, date] = {}
    for week in weeks:
        seen.setdefault(_week_signature(zones, week), week)
    return tuple(seen.values())


def _startable(free: np.ndarray, minutes: int) -> np.ndarray:
    """For each UTC minute of the week: is the member free for `minutes` from then on (wrapping the week)?"""
    circular = np.concatenate([free, free[:minutes]])
    runs = np.concatenate([[0], np.cumsum(circular, dtype=np.int32)])
    return (runs[minutes:minutes + WEEK_MINUTES] - runs[:WEEK_MINUTES]) == minutes


def free_minutes(member: Member, week: date) -> np.ndarray:
    """A boolean array of the week's UTC minutes the member is free (their own zone, that week's offsets)."""
    free = np.zeros(WEEK_MINUTES, dtype=bool)
    for lo, hi in utc_intervals(member.availability, member.timezone, week):
        free[lo:hi] = True
    return free


def slot_fits(member: Member, slot: WeeklySlot, weeks: Sequence[date]) -> bool:
    """True when the meeting lies inside the member's availability in every one of `weeks`."""
    return not weeks_not_fitting(member, slot, weeks)


def weeks_not_fitting(member: Member, slot: WeeklySlot, weeks: Sequence[date]) -> list[date]:
    """The first Monday of each run of alike weeks among `weeks` in which the meeting does not lie inside
    the member's availability (weeks where both zones keep the offsets of a checked week are not repeated)."""
    checked = regime_weeks(tuple(sorted({member.timezone, slot.timezone})), tuple(weeks))
    return [w for w in checked
            if not _startable(free_minutes(member, w), slot.minutes)[slot.utc_start(w) % WEEK_MINUTES]]


@dataclass
class SlotTable:
    """Candidate slots of a programme and which members each fits.

    Members with the same zone and windows share a *profile*: `profile_of[i]` is member i's, and
    `profile_fits[p, s]` is True when slot `s` lies inside profile `p`'s availability in every week
    of the horizon (members in the order given to `slot_table`).
    """

    slots: list[WeeklySlot]
    profile_of: np.ndarray
    profile_fits: np.ndarray
    weeks: tuple[date, ...]

    @property
    def fits(self) -> np.ndarray:
        """(members, slots) bool: which slots fit which member."""
        return self.profile_fits[self.profile_of]


def candidate_slots(anchors: Sequence[str], rules: GroupRules) -> list[WeeklySlot]:
    """Every start on a `slot_step` grid of each anchor zone's week, `meeting_minutes` long."""
    starts = range(0, 24 * 60, rules.slot_step)
    return [WeeklySlot(tz, day, start, rules.meeting_minutes) for tz in anchors for day in DAYS for start in starts]


@functools.lru_cache(maxsize=4096)
def _window_minutes(window: Window, tz: str, week: date) -> np.ndarray:
    free = np.zeros(WEEK_MINUTES, dtype=bool)
    for lo, hi in utc_intervals((window,), tz, week):
        free[lo:hi] = True
    free.flags.writeable = False
    return free


def _startable_rows(free: np.ndarray, minutes: int) -> np.ndarray:
    """`_startable` for each row of `free` (shape (P, WEEK_MINUTES)), by doubling runs of free minutes."""
    circular = np.concatenate([free, free[:, :minutes]], axis=1)
    out = np.ones((free.shape[0], WEEK_MINUTES), dtype=bool)
    run, length, covered = circular, 1, 0     # run[:, u]: free for `length` minutes from u
    while covered < minutes:
        if minutes - covered >= length and (minutes - covered) & length:
            out &= run[:, covered:covered + WEEK_MINUTES]
            covered += length
        if covered < minutes:
            run = run[:, :-length] & run[:, length:]
            length *= 2
    return out


def slot_table(members: Sequence[Member], rules: GroupRules, anchors: Sequence[str] | None = None) -> SlotTable:
    """Which candidate slots fit which members, in every week of the programme's horizon.

    Members with the same zone and windows are computed once; weeks whose offsets (of every zone
    involved) are alike are checked once.

    Parameters
    ----------
    members : the members (their zones and windows).
    rules : meeting length, slot grid, start date and horizon.
    anchors : zones whose clocks slots follow; the members' own zones by default.
    """
    zones = tuple(sorted({m.timezone for m in members} | set(anchors or ())))
    anchors = sorted({m.timezone for m in members}) if anchors is None else list(anchors)
    slots = candidate_slots(anchors, rules)
    weeks = regime_weeks(zones, tuple(programme_weeks(rules)))
    starts = np.array([[s.utc_start(w) % WEEK_MINUTES for w in weeks] for s in slots],
                      dtype=np.int64).reshape(-1, len(weeks))
    profiles: dict[tuple, int] = {}
    keys = [(m.timezone, _canonical(m.availability)) for m in members]
    profile_of = np.array([profiles.setdefault(key, len(profiles)) for key in keys], dtype=np.int64)
    profile_fits = np.ones((len(profiles), len(slots)), dtype=bool)
    for r, week in enumerate(weeks):
        for lo in range(0, len(profiles), 2048):
            chunk = list(profiles)[lo:lo + 2048]
            free = np.zeros((len(chunk), WEEK_MINUTES), dtype=bool)
            for p, (tz, windows) in enumerate(chunk):
                for window in windows:
                    free[p] |= _window_minutes(window, tz, week)
            profile_fits[lo:lo + len(chunk)] &= _startable_rows(free, rules.meeting_minutes)[:, starts[:, r]]
    return SlotTable(slots, profile_of, profile_fits, weeks)


def _canonical(windows: Sequence[Window]) -> tuple[Window, ...]:
    """The same windows in one order, so members who gave them in another order share a profile."""
    return tuple(sorted(set(windows), key=lambda w: (DAYS.index(w.day), w.start, w.end)))
