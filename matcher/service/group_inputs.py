"""From stored rows to the formation core's plain data: a programme's rules, members as candidates, exclusions.

Facilitating a group takes one of the facilitator's places, like a pairing: free capacity counts pairings
and facilitated groups together (`store.pairings.active_pairing_counts`, which every capacity check uses).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from matcher.groups import GroupCandidate, GroupRules, WeeklySlot, make_candidate
from matcher.index import MemberIndex
from matcher.states import CAPACITY_STATUSES, RESERVING_STATUSES
from matcher.store import Session
from matcher.store.groups import exclusions_among
from matcher.store.members import rows_with_vectors, to_profile
from matcher.store.models import GroupProgramme, MemberRow, SupportGroup
from matcher.store.pairings import active_pairing_counts


def rules_of(programme: GroupProgramme) -> GroupRules:
    """The programme's constraints; the DST horizon starts at its start date, or today if that has passed."""
    today = datetime.now(UTC).date()
    start = max(programme.start_date or today, today)
    return GroupRules(languages=frozenset(programme.languages), start_date=start, min_size=programme.min_size,
                      max_size=programme.max_size, meeting_minutes=programme.meeting_minutes,
                      needs_facilitator=programme.needs_facilitator, topics=frozenset(programme.topics or ()))


def slot_of(group: SupportGroup) -> WeeklySlot:
    return WeeklySlot.from_dict(group.slot)


def places_taken(session: Session, member_ids: list[int], holding: bool,
                 exclude_group: int | None = None) -> dict[int, int]:
    """Member id -> places in use: pairings and facilitated groups that are approved or invited (and, when
    `holding`, those still proposed, which hold their places until a decision), other than `exclude_group`."""
    return active_pairing_counts(session, member_ids, statuses=RESERVING_STATUSES if holding else CAPACITY_STATUSES,
                                 exclude_group=exclude_group)


def candidate_of(row, vector: np.ndarray, taken: int) -> GroupCandidate:
    """One member as the core sees them, with `taken` of their places in use."""
    sizes = frozenset(row.group_sizes) if row.group_sizes else None
    return make_candidate(to_profile(row, taken), vector, sizes)


def candidates_from_index(session: Session, index: MemberIndex, rows: Iterable[MemberRow]) -> list[GroupCandidate]:
    """Candidates for formation: vectors from the in-process index, proposed places counted as taken."""
    rows = [row for row in rows if row.id in index]
    taken = places_taken(session, [row.id for row in rows], holding=True)
    return [candidate_of(row, index.embeddings[index.row_of[row.id]], taken.get(row.id, 0)) for row in rows]


def candidates_now(session: Session, member_ids: list[int], exclude_group: int | None = None,
                   holding: bool = False) -> dict[int, GroupCandidate]:
    """Live members with a vector among `member_ids`, as they are now (inside the caller's lock), by id."""
    found = rows_with_vectors(session, member_ids)
    taken = places_taken(session, [row.id for row, _ in found], holding, exclude_group)
    return {row.id: candidate_of(row, vector, taken.get(row.id, 0)) for row, vector in found}


def exclusion_pairs_among(session: Session, member_ids: list[int]) -> set[frozenset[int]]:
    """Pairs of these members who blocked or declined each other, either way."""
    blocked, declined = exclusions_among(session, member_ids)
    return blocked | declined
