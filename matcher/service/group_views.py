"""Groups as their readers may see them: coordinators (ids, names, roles, score parts), and members (names,
intros and the slot in their own time zone, never another member's narrative)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from matcher.groups import WeeklySlot
from matcher.states import GroupRole, InvitationStatus
from matcher.store import Session
from matcher.store.groups import current_memberships, places_of_groups, programmes_by_id
from matcher.store.members import display_names, live_rows_by_id
from matcher.store.models import MemberRow, SupportGroup

CLOSED_INVITATIONS = (InvitationStatus.DECLINED, InvitationStatus.EXPIRED)


@dataclass
class GroupView:
    """A group and its current members, for coordinators."""

    id: int
    programme_id: int
    formation_id: int | None
    status: str
    language: str
    slot: dict
    score: float
    score_parts: dict
    reason: str | None
    members: list[dict]
    facilitator_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_invitations: list[dict] = field(default_factory=list)   # declined or expired: who, when, why


@dataclass
class MemberGroupView:
    """A group as one of its members sees it."""

    id: int
    programme: str
    status: str
    language: str
    slot: dict
    members: list[dict] = field(default_factory=list)
    invitation: str | None = None       # the member's own: invited or accepted (None: placed without one)
    expires_at: datetime | None = None


def slot_in(slot: dict, tz: str) -> dict:
    """The stored slot as it falls in zone `tz` this week: {"day", "start", "end", "minutes", "timezone"}."""
    return WeeklySlot.from_dict(slot).render(tz, datetime.now(UTC).date())


def describe_groups(session: Session, groups: list[SupportGroup]) -> list[GroupView]:
    """Coordinators' view of `groups`: current members (facilitator first) with names and roles."""
    places = current_memberships(session, [g.id for g in groups])
    closed = {gid: [p for p in ps if p.invitation in CLOSED_INVITATIONS]
              for gid, ps in places_of_groups(session, [g.id for g in groups]).items()}
    names = display_names(session, {p.member_id for members in (*places.values(), *closed.values())
                                    for p in members})
    out = []
    for group in groups:
        members = [{"member_id": p.member_id, "display_name": names.get(p.member_id, ""), "role": p.role,
                    "joined_at": p.joined_at, "invitation": p.invitation, "answered_at": p.answered_at,
                    "expires_at": p.expires_at if p.invitation == InvitationStatus.INVITED else None}
                   for p in places[group.id]]
        facilitator = next((p.member_id for p in places[group.id] if p.role == GroupRole.FACILITATOR), None)
        slot = dict(group.slot, **{"utc": slot_in(group.slot, "UTC")})
        answers = [{"member_id": p.member_id, "display_name": names.get(p.member_id, ""), "role": p.role,
                    "invitation": p.invitation, "answered_at": p.answered_at or p.left_at, "reason": p.reason}
                   for p in closed.get(group.id, [])]
        out.append(GroupView(group.id, group.programme_id, group.formation_id, group.status, group.language, slot,
                             group.score, group.score_parts, group.reason, members, facilitator,
                             group.created_at, group.updated_at, answers))
    return out


def describe_group(session: Session, group: SupportGroup) -> GroupView:
    return describe_groups(session, [group])[0]


def member_groups(session: Session, member: MemberRow, groups: list[SupportGroup]) -> list[MemberGroupView]:
    """`member`'s groups as they see them: the others' names and intros and the slot in the member's zone."""
    places = current_memberships(session, [g.id for g in groups])
    programmes = programmes_by_id(session, {g.programme_id for g in groups})
    rows = live_rows_by_id(session, [p.member_id for ps in places.values() for p in ps])
    out = []
    for group in groups:
        members = []
        for place in places[group.id]:
            other = rows[place.member_id]
            members.append({"display_name": other.display_name or "", "intro": other.intro or "",
                            "role": place.role, "you": other.id == member.id})
        own = next(p for p in places[group.id] if p.member_id == member.id)
        out.append(MemberGroupView(group.id, programmes[group.programme_id].name, group.status, group.language,
                                   slot_in(group.slot, member.timezone), members, own.invitation,
                                   own.expires_at if own.invitation == InvitationStatus.INVITED else None))
    return out
