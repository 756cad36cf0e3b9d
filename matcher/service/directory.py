"""The member directory coordinators search, and one member's record: pairings over time, feedback, history."""
from __future__ import annotations

from dataclasses import dataclass

from matcher.profiles import Role
from matcher.service.errors import NotFoundError
from matcher.service.listing import Page, paginate
from matcher.states import MemberStatus
from matcher.store import Session
from matcher.store.audit import hold_reasons
from matcher.store.directory import (
    directory_query,
    events_of,
    feedback_about,
    group_feedback_about,
    group_places_of,
    pairings_of,
)
from matcher.store.members import display_names, live_member
from matcher.store.models import AuditEvent, Feedback, GroupFeedback, GroupMembership, MemberRow, Pairing, SupportGroup


@dataclass(frozen=True)
class MemberSearch:
    name: str | None = None
    role: Role | None = None
    status: MemberStatus | None = None
    held: bool | None = None
    language: str | None = None
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class MemberRecord:
    member: MemberRow
    hold_reasons: list[str]
    pairings: list[Pairing]
    group_places: list[tuple[GroupMembership, SupportGroup]]
    feedback: list[Feedback]
    group_feedback: list[GroupFeedback]
    events: list[AuditEvent]
    names: dict[int, str]

    def partner_of(self, pairing: Pairing) -> int:
        return pairing.supporter_id if pairing.seeker_id == self.member.id else pairing.seeker_id


def search_members(session: Session, search: MemberSearch) -> Page:
    """One page of the members that match, by id."""
    query = directory_query(search.name, search.role, search.status, search.held, search.language)
    return paginate(session, query, MemberRow.id, search.page, search.per_page)


def member_record(session: Session, member_id: int) -> MemberRecord:
    """What coordinators know of a member: why held, every pairing and group, the feedback, the audit history."""
    row = live_member(session, member_id)
    if row is None:
        raise NotFoundError(f"No member with id {member_id}.", "member_id")
    pairings, places = pairings_of(session, member_id), group_places_of(session, member_id)
    ids, group_ids = [p.id for p in pairings], [group.id for _, group in places]
    group_feedback = group_feedback_about(session, group_ids)
    names = display_names(session, {i for p in pairings for i in p.member_ids} | {f.member_id for f in group_feedback})
    return MemberRecord(row, hold_reasons(session, [member_id]).get(member_id, []), pairings, places,
                        feedback_about(session, ids), group_feedback,
                        events_of(session, member_id, ids, group_ids), names)
