"""How the community is doing, for the coordinators' dashboard and `GET /api/v1/stats`."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import median

from matcher.states import ACTIVE_STATUSES, GroupStatus, PairingStatus
from matcher.store import Session
from matcher.store.models import utcnow
from matcher.store.stats import (
    count_groups,
    count_pairings,
    first_approvals,
    proposal_times,
    ratings,
    supporter_loads,
    waiting_members,
)

LOAD_BANDS = ("no one yet", "under half", "half or more", "full")


@dataclass(frozen=True)
class WeekRating:
    week: str          # the Monday the ISO week starts on, YYYY-MM-DD
    mean: float
    count: int


@dataclass(frozen=True)
class CommunityStats:
    waiting_by_role: dict[str, int]
    waiting_by_language: dict[str, int]
    proposals_waiting: int
    proposal_age_hours: dict[str, float | None]     # median and oldest
    active_pairings: int
    pairings_awaiting_consent: int                  # approved, waiting for the members to accept
    active_groups: int
    groups_awaiting_review: int
    groups_awaiting_consent: int
    supporter_places: dict[str, int]                # in use and in all
    supporter_load: dict[str, int]                  # supporters per LOAD_BANDS band
    days_to_first_pairing: dict[str, float | int | None]   # members, median, 90th percentile
    ratings_by_week: list[WeekRating]

    def as_dict(self) -> dict:
        return asdict(self)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _band(used: int, capacity: int) -> str:
    if used == 0:
        return LOAD_BANDS[0]
    if used >= capacity:
        return LOAD_BANDS[3]
    return LOAD_BANDS[2] if 2 * used >= capacity else LOAD_BANDS[1]


def _weekly(rows: list[tuple[datetime, int]]) -> list[WeekRating]:
    weeks: dict[str, list[int]] = {}
    for at, rating in rows:
        monday = (at - timedelta(days=at.weekday())).date().isoformat()
        weeks.setdefault(monday, []).append(rating)
    return [WeekRating(week, round(sum(r) / len(r), 2), len(r)) for week, r in sorted(weeks.items())]


def community_stats(session: Session, now: datetime | None = None) -> CommunityStats:
    """Who is waiting, what awaits review and for how long, supporters' load, time to a first pairing, ratings."""
    now = now or utcnow()
    waiting = waiting_members(session)
    ages = [(now - at).total_seconds() / 3600 for at in proposal_times(session)]
    loads = supporter_loads(session)
    waits = [(approved - joined).total_seconds() / 86400 for joined, approved in first_approvals(session)]
    bands = Counter(_band(u, c) for u, c in loads)
    return CommunityStats(
        waiting_by_role=dict(sorted(Counter(role for role, _ in waiting).items())),
        waiting_by_language=dict(sorted(Counter(code for _, codes in waiting for code in codes).items())),
        proposals_waiting=len(ages),
        proposal_age_hours={"median": round(median(ages), 1) if ages else None,
                            "oldest": round(max(ages), 1) if ages else None},
        active_pairings=count_pairings(session, ACTIVE_STATUSES),
        pairings_awaiting_consent=count_pairings(session, (PairingStatus.INVITED,)),
        active_groups=count_groups(session, (GroupStatus.APPROVED,)),
        groups_awaiting_review=count_groups(session, (GroupStatus.PROPOSED,)),
        groups_awaiting_consent=count_groups(session, (GroupStatus.INVITED,)),
        supporter_places={"in_use": sum(min(u, c) for u, c in loads), "total": sum(c for _, c in loads)},
        supporter_load={band: bands.get(band, 0) for band in LOAD_BANDS},
        days_to_first_pairing={"members": len(waits),
                               "median": round(median(waits), 1) if waits else None,
                               "p90": round(_percentile(waits, 0.9) or 0, 1) if waits else None},
        ratings_by_week=_weekly(ratings(session)),
    )
