"""The raw figures behind the coordinators' dashboard: a few grouped queries, no narratives."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.states import ACTIVE_STATUSES, Decision, MemberStatus, PairingStatus
from matcher.store.models import AuditEvent, Feedback, MemberRow, Pairing, SupportGroup


def _in_active_pairing():
    return select(Pairing.seeker_id.label("id")).where(Pairing.status.in_(ACTIVE_STATUSES)).union(
        select(Pairing.supporter_id).where(Pairing.status.in_(ACTIVE_STATUSES)))


def waiting_members(session: Session) -> list[tuple[str, list]]:
    """(role, languages) of every member who could be paired but is in no active pairing."""
    busy = _in_active_pairing().subquery()
    rows = session.execute(select(MemberRow.role, MemberRow.languages).where(
        MemberRow.deleted_at.is_(None), MemberRow.status == MemberStatus.ACTIVE, MemberRow.needs_review.is_(False),
        MemberRow.id.not_in(select(busy.c.id))))
    return [(role, list(languages or [])) for role, languages in rows]


def proposal_times(session: Session) -> list[datetime]:
    """When each proposal still awaiting a decision was made."""
    return list(session.scalars(select(Pairing.created_at).where(Pairing.status == PairingStatus.PROPOSED)))


def count_pairings(session: Session, statuses) -> int:
    return session.scalar(select(func.count()).select_from(Pairing).where(Pairing.status.in_(statuses))) or 0


def count_groups(session: Session, statuses) -> int:
    return session.scalar(select(func.count()).select_from(SupportGroup).where(SupportGroup.status.in_(statuses))) or 0


def supporter_loads(session: Session) -> list[tuple[int, int]]:
    """(places in use, capacity) of every live supporter and peer who is not paused."""
    seeker_side = (select(Pairing.seeker_id.label("id")).where(Pairing.status.in_(ACTIVE_STATUSES)))
    supporter_side = (select(Pairing.supporter_id.label("id")).where(Pairing.status.in_(ACTIVE_STATUSES)))
    places = seeker_side.union_all(supporter_side).subquery()
    used = select(places.c.id, func.count().label("used")).group_by(places.c.id).subquery()
    rows = session.execute(select(func.coalesce(used.c.used, 0), MemberRow.capacity)
                           .outerjoin(used, used.c.id == MemberRow.id)
                           .where(MemberRow.deleted_at.is_(None), MemberRow.role.in_(("supporter", "peer")),
                                  MemberRow.status == MemberStatus.ACTIVE))
    return [(int(u), int(c)) for u, c in rows]


def first_approvals(session: Session) -> list[tuple[datetime, datetime]]:
    """(joined, first approved into a pairing) of every live member ever approved into one."""
    approvals = (select(Pairing.seeker_id, Pairing.supporter_id, AuditEvent.created_at)
                 .join(AuditEvent, AuditEvent.pairing_id == Pairing.id)
                 .where(AuditEvent.action == Decision.APPROVE))
    first: dict[int, datetime] = {}
    for seeker, supporter, at in session.execute(approvals):
        for member_id in (seeker, supporter):
            if member_id not in first or at < first[member_id]:
                first[member_id] = at
    joined = {member_id: at for member_id, at in session.execute(
        select(MemberRow.id, MemberRow.created_at).where(MemberRow.id.in_(first), MemberRow.deleted_at.is_(None)))}
    return [(joined[i], first[i]) for i in joined]


def ratings(session: Session) -> list[tuple[datetime, int]]:
    """(when, rating) of every feedback row, oldest first."""
    return [(at, rating) for at, rating in session.execute(select(Feedback.created_at, Feedback.rating)
                                                           .order_by(Feedback.id))]
