"""What a group programme asks of its groups, and what the matcher knows about each member who waits for one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from matcher.profiles import Role
from matcher.states import MemberStatus

if TYPE_CHECKING:
    from matcher.profiles import Member


class GroupFormat(StrEnum):
    """The formats a member may ask for (default: pairs only, so existing clients behave as before)."""

    PAIR = "pair"
    GROUP = "group"


DEFAULT_FORMATS = frozenset({GroupFormat.PAIR})


@dataclass(frozen=True)
class GroupRules:
    """The constraints of one group programme.

    Parameters
    ----------
    languages : the languages groups may meet in (ISO 639-1 codes).
    start_date : the first day the programme's groups may meet.
    min_size, max_size : group size bounds, members included (facilitators count as members).
    meeting_minutes : length of the weekly meeting.
    needs_facilitator : every group must hold a member who can facilitate (a supporter, or a peer
        with free capacity); the facilitator uses one of their places.
    topics : the programme's topics; when there are any, only members who share at least one of them
        (a member's own `topics`) may be in its groups.
    horizon_weeks : how many weeks from `start_date` a group's weekly slot must stay inside every
        member's availability; 52 makes every slot survive both yearly DST changes of every zone.
    slot_step : minutes between candidate meeting starts on the anchor zone's clock.
    """

    languages: frozenset[str]
    start_date: date
    min_size: int = 4
    max_size: int = 8
    meeting_minutes: int = 90
    needs_facilitator: bool = False
    topics: frozenset[str] = field(default_factory=frozenset)
    horizon_weeks: int = 52
    slot_step: int = 30

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("A group programme needs at least one language.")
        if not 2 <= self.min_size <= self.max_size:
            raise ValueError(f"Group sizes must satisfy 2 <= min_size <= max_size; got {self.min_size} and "
                             f"{self.max_size}.")
        if not 15 <= self.meeting_minutes <= 24 * 60:
            raise ValueError(f"A meeting lasts between 15 minutes and a day; got {self.meeting_minutes}.")
        if not 1 <= self.horizon_weeks <= 104:
            raise ValueError(f"horizon_weeks must be between 1 and 104; got {self.horizon_weeks}.")
        if self.slot_step not in (15, 30, 60):
            raise ValueError(f"slot_step must be 15, 30 or 60 minutes; got {self.slot_step}.")


@dataclass(frozen=True, eq=False)
class GroupCandidate:
    """A member waiting for a group of one programme.

    Parameters
    ----------
    member : the member (languages, time zone, availability, role, capacity, hold).
    vector : the member's stored vector (the adapter-transformed, L2-normalised embedding the
        suggestions rank with); similarity is the dot product of two such vectors.
    wants_sizes : the group sizes the member accepts; None accepts every size the programme allows.
    can_facilitate : may facilitate a group (see `facilitator_eligible`).
    """

    member: Member
    vector: np.ndarray
    wants_sizes: frozenset[int] | None = None
    can_facilitate: bool = False

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def held(self) -> bool:
        return bool(self.member.needs_review)

    def accepts_size(self, size: int) -> bool:
        return self.wants_sizes is None or size in self.wants_sizes


def shares_topic(candidate: GroupCandidate, rules: GroupRules) -> bool:
    """The member shares one of the programme's topics, or the programme has none (then everyone may join)."""
    return not rules.topics or not rules.topics.isdisjoint(candidate.member.topics)


def facilitator_eligible(member: Member) -> bool:
    """A supporter or a peer with a free place (facilitating a group uses that place), active and not held."""
    return (member.role in (Role.SUPPORTER, Role.PEER) and member.free_capacity > 0
            and member.status == MemberStatus.ACTIVE and not member.needs_review)


def make_candidate(member: Member, vector: np.ndarray, wants_sizes: frozenset[int] | None = None) -> GroupCandidate:
    """A `GroupCandidate` whose facilitation follows the member's role and free capacity."""
    return GroupCandidate(member, np.asarray(vector, dtype=np.float32), wants_sizes, facilitator_eligible(member))
