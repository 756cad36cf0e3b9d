"""Finding members for coordinators, and everything recorded about one of them."""
from __future__ import annotations

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from matcher.store.models import AuditEvent, Feedback, GroupFeedback, GroupMembership, MemberRow, Pairing, SupportGroup


def directory_query(name: str | None = None, role: str | None = None, status: str | None = None,
                    held: bool | None = None, language: str | None = None) -> Select:
    """Members not erased, narrowed by a part of the name, role, status, hold and a language they speak."""
    stmt = select(MemberRow).where(MemberRow.deleted_at.is_(None))
    if name:
        stmt = stmt.where(func.lower(MemberRow.display_name).contains(name.lower(), autoescape=True))
    if role:
        stmt = stmt.where(MemberRow.role == role)
    if status:
        stmt = stmt.where(MemberRow.status == status)
    if held is not None:
        stmt = stmt.where(MemberRow.needs_review.is_(held))
    if language:
        # languages are stored as a JSON list of validated two-letter codes: '"en"' matches exactly one code
        stmt = stmt.where(cast(MemberRow.languages, String).contains(f'"{language}"', autoescape=True))
    return stmt


def pairings_of(session: Session, member_id: int) -> list[Pairing]:
    """Every pairing the member was ever in, oldest first."""
    return list(session.scalars(select(Pairing).where(or_(Pairing.seeker_id == member_id,
                                                          Pairing.supporter_id == member_id)).order_by(Pairing.id)))


def feedback_about(session: Session, pairing_ids: list[int]) -> list[Feedback]:
    """Feedback on these pairings (by either member), oldest first."""
    return list(session.scalars(select(Feedback).where(Feedback.pairing_id.in_(pairing_ids)).order_by(Feedback.id)))


def group_feedback_about(session: Session, group_ids: list[int]) -> list[GroupFeedback]:
    """Feedback on these groups (by any of their members), oldest first."""
    return list(session.scalars(select(GroupFeedback).where(GroupFeedback.group_id.in_(group_ids))
                                .order_by(GroupFeedback.id)))


def group_places_of(session: Session, member_id: int) -> list[tuple[GroupMembership, SupportGroup]]:
    """Every place the member had in a support group (with the group), oldest first."""
    return [(place, group) for place, group in session.execute(
        select(GroupMembership, SupportGroup).join(SupportGroup, SupportGroup.id == GroupMembership.group_id)
        .where(GroupMembership.member_id == member_id).order_by(GroupMembership.id))]


def events_of(session: Session, member_id: int, pairing_ids: list[int], group_ids: list[int]) -> list[AuditEvent]:
    """The audit events about the member, one of their pairings or one of their groups, oldest first."""
    about = or_(AuditEvent.member_id == member_id, AuditEvent.pairing_id.in_(pairing_ids),
                AuditEvent.group_id.in_(group_ids))
    return list(session.scalars(select(AuditEvent).where(about).order_by(AuditEvent.id)))
