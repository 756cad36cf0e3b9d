"""Support groups: programmes, formation runs, groups, memberships and group feedback."""
from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, cast, exists, false, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from matcher.states import (
    OPEN_GROUP_STATUSES,
    ExclusionKind,
    GroupRole,
    GroupStatus,
    InvitationStatus,
    MemberFormat,
    MemberStatus,
)
from matcher.store.models import (
    AuditEvent,
    Exclusion,
    GroupFeedback,
    GroupFormation,
    GroupMembership,
    GroupProgramme,
    MemberRow,
    SupportGroup,
    utcnow,
)


def programmes_query() -> Select:
    return select(GroupProgramme)


def groups_query(programme_id: int | None = None, status: str | None = None) -> Select:
    """Groups, optionally of one programme or status (for paging)."""
    stmt = select(SupportGroup)
    if programme_id is not None:
        stmt = stmt.where(SupportGroup.programme_id == programme_id)
    if status:
        stmt = stmt.where(SupportGroup.status == status)
    return stmt


def groups_of(session: Session, programme_id: int, statuses: tuple[str, ...] | None = None) -> list[SupportGroup]:
    stmt = groups_query(programme_id).order_by(SupportGroup.score.desc(), SupportGroup.id)
    if statuses is not None:
        stmt = stmt.where(SupportGroup.status.in_(statuses))
    return list(session.scalars(stmt))


def current_memberships(session: Session, group_ids: list[int]) -> dict[int, list[GroupMembership]]:
    """Group id -> the memberships not closed yet (facilitator first, then by joining order)."""
    out: dict[int, list[GroupMembership]] = {gid: [] for gid in group_ids}
    rows = session.scalars(select(GroupMembership).where(GroupMembership.group_id.in_(group_ids or [-1]),
                                                         GroupMembership.left_at.is_(None))
                           .order_by(GroupMembership.id))
    for row in rows:
        out[row.group_id].append(row)
    for members in out.values():
        members.sort(key=lambda m: m.role != GroupRole.FACILITATOR)
    return out


def membership(session: Session, group_id: int, member_id: int) -> GroupMembership | None:
    """The member's open place in the group, if they have one."""
    return session.scalar(select(GroupMembership).where(GroupMembership.group_id == group_id,
                                                        GroupMembership.member_id == member_id,
                                                        GroupMembership.left_at.is_(None)))


def placed_in_programme(session: Session, programme_id: int) -> dict[int, int]:
    """Member id -> the open (proposed or approved) group of this programme they have a place in."""
    rows = session.execute(select(GroupMembership.member_id, SupportGroup.id)
                           .join(SupportGroup, SupportGroup.id == GroupMembership.group_id)
                           .where(SupportGroup.programme_id == programme_id, GroupMembership.left_at.is_(None),
                                  SupportGroup.status.in_(OPEN_GROUP_STATUSES)))
    return dict(rows.all())


def rejected_groups(session: Session, programme_id: int) -> list[frozenset[int]]:
    """Member ids of each rejected group of the programme, as it was when a coordinator rejected it."""
    rows = session.execute(select(GroupMembership.group_id, GroupMembership.member_id)
                           .join(SupportGroup, SupportGroup.id == GroupMembership.group_id)
                           .where(SupportGroup.programme_id == programme_id, GroupMembership.left_at.is_(None),
                                  SupportGroup.status == GroupStatus.REJECTED))
    groups: dict[int, set[int]] = {}
    for group_id, member_id in rows:
        groups.setdefault(group_id, set()).add(member_id)
    return [frozenset(members) for _, members in sorted(groups.items())]


def group_seekers(session: Session, languages: Collection[str]) -> list[MemberRow]:
    """Live, active members with a vector who want groups and speak one of `languages`, by id.

    The JSON lists are filtered in the database, so formation reads only these rows.
    """
    dialect = session.get_bind().dialect.name
    stmt = (select(MemberRow).where(MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None),
                                    MemberRow.status == MemberStatus.ACTIVE,
                                    json_list_has_any(MemberRow.formats, [MemberFormat.GROUP], dialect),
                                    json_list_has_any(MemberRow.languages, sorted(languages), dialect))
            .order_by(MemberRow.id))
    return list(session.scalars(stmt))


def json_list_has_any(column, values: Collection[str], dialect: str) -> ColumnElement[bool]:
    """`column` (a JSON list of strings) holds one of `values`: jsonb containment on PostgreSQL, json_each on
    SQLite."""
    if not values:
        return false()
    if dialect == "postgresql":
        return or_(*(cast(column, JSONB).contains([str(v)]) for v in values))
    each = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value.in_([str(v) for v in values])))


def facilitated_counts(session: Session, member_ids: list[int] | None = None,
                       statuses: tuple[str, ...] = (GroupStatus.APPROVED,),
                       exclude_group: int | None = None) -> dict[int, int]:
    """Member id -> groups in `statuses` they facilitate (each takes a place of their capacity)."""
    stmt = (select(GroupMembership.member_id, func.count())
            .join(SupportGroup, SupportGroup.id == GroupMembership.group_id)
            .where(GroupMembership.role == GroupRole.FACILITATOR, GroupMembership.left_at.is_(None),
                   SupportGroup.status.in_(statuses)).group_by(GroupMembership.member_id))
    if member_ids is not None:
        stmt = stmt.where(GroupMembership.member_id.in_(member_ids or [-1]))
    if exclude_group is not None:
        stmt = stmt.where(SupportGroup.id != exclude_group)
    return dict(session.execute(stmt).all())


def exclusions_among(session: Session, member_ids: list[int]) -> tuple[set[frozenset[int]], set[frozenset[int]]]:
    """(blocked pairs, declined pairs) among these members, either direction; a declined group invitation
    counts as a decline here (this is what formation reads)."""
    ids = member_ids or [-1]
    rows = session.execute(select(Exclusion.member_id, Exclusion.other_id, Exclusion.kind)
                           .where(Exclusion.member_id.in_(ids), Exclusion.other_id.in_(ids)))
    blocked: set[frozenset[int]] = set()
    declined: set[frozenset[int]] = set()
    for a, b, kind in rows:
        (blocked if kind == ExclusionKind.BLOCK else declined).add(frozenset((a, b)))
    return blocked, declined


def group_history(session: Session, group_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.group_id == group_id).order_by(AuditEvent.id)))


def groups_of_member(session: Session, member_id: int) -> list[SupportGroup]:
    """Open groups the member has a place in, oldest first."""
    return list(session.scalars(select(SupportGroup).join(GroupMembership, GroupMembership.group_id == SupportGroup.id)
                                .where(GroupMembership.member_id == member_id, GroupMembership.left_at.is_(None),
                                       SupportGroup.status.in_(OPEN_GROUP_STATUSES)).order_by(SupportGroup.id)))


def ever_in_group(session: Session, group_id: int, member_id: int) -> bool:
    """Whether the member had a place in the group: placed directly, or by accepting its invitation."""
    return session.scalar(select(GroupMembership.id).where(
        GroupMembership.group_id == group_id, GroupMembership.member_id == member_id,
        GroupMembership.invitation.is_(None) | (GroupMembership.invitation == InvitationStatus.ACCEPTED))
        .limit(1)) is not None


def has_group_feedback(session: Session, group_id: int, member_id: int) -> bool:
    return session.scalar(select(GroupFeedback.id).where(GroupFeedback.group_id == group_id,
                                                         GroupFeedback.member_id == member_id)) is not None


def open_groups_with_room(session: Session) -> list[SupportGroup]:
    """Proposed or approved groups, of every programme (late joiners' candidates), by id."""
    return list(session.scalars(select(SupportGroup).where(SupportGroup.status.in_(OPEN_GROUP_STATUSES))
                                .order_by(SupportGroup.id)))


def programmes_by_id(session: Session, ids: set[int]) -> dict[int, GroupProgramme]:
    rows = session.scalars(select(GroupProgramme).where(GroupProgramme.id.in_(ids or {-1})))
    return {row.id: row for row in rows}


def lock_groups(session: Session, group_ids: list[int]) -> dict[int, SupportGroup]:
    """The groups, fresh, locked until commit on PostgreSQL (in id order); call after `lock_members`, whose
    BEGIN IMMEDIATE already holds SQLite's one write lock."""
    stmt = select(SupportGroup).where(SupportGroup.id.in_(sorted(set(group_ids)))).order_by(SupportGroup.id)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return {row.id: row for row in session.scalars(stmt.execution_options(populate_existing=True))}


def leave_groups_for_erasure(session: Session, member_id: int) -> list[tuple[SupportGroup, str | None]]:
    """An erased member leaves every open group; returns each group and, if it ended for lack of members,
    the status it had.

    Their places keep only ids (a coordinator's reason is dropped) and their own feedback on groups
    loses its comment; a group with fewer than two people left ends.
    """
    now = utcnow()
    places = list(session.scalars(select(GroupMembership).where(GroupMembership.member_id == member_id)))
    for place in places:
        place.reason = None
    for feedback in session.scalars(select(GroupFeedback).where(GroupFeedback.member_id == member_id)):
        feedback.comment = None
    left = []
    for place in places:
        group = session.get(SupportGroup, place.group_id)
        if place.left_at is not None or group is None or group.status not in OPEN_GROUP_STATUSES:
            continue
        place.left_at = now
        session.flush()
        remaining = session.scalar(select(func.count()).select_from(GroupMembership).where(
            GroupMembership.group_id == group.id, GroupMembership.left_at.is_(None))) or 0
        previous = group.status if remaining < 2 else None
        if previous is not None:
            group.status = GroupStatus.ENDED
        left.append((group, previous))
    session.flush()
    return left


def last_formation(session: Session, programme_id: int) -> GroupFormation | None:
    return session.scalar(select(GroupFormation).where(GroupFormation.programme_id == programme_id)
                          .order_by(GroupFormation.id.desc()).limit(1))


def group_member_ids(session: Session, group_id: int) -> list[int]:
    """Who has an open place in the group now (facilitator included)."""
    return list(session.scalars(select(GroupMembership.member_id).where(
        GroupMembership.group_id == group_id, GroupMembership.left_at.is_(None)).order_by(GroupMembership.id)))


def latest_place(session: Session, group_id: int, member_id: int) -> GroupMembership | None:
    """The member's most recent place in the group, open or closed (an answered invitation stays readable)."""
    return session.scalar(select(GroupMembership).where(GroupMembership.group_id == group_id,
                                                        GroupMembership.member_id == member_id)
                          .order_by(GroupMembership.id.desc()).limit(1))


def due_group_invitations(session: Session, now: datetime, member_ids: Iterable[int] | None = None
                          ) -> list[GroupMembership]:
    """Open group invitations whose answer time ran out by `now` (optionally only of these members), read fresh."""
    stmt = select(GroupMembership).where(GroupMembership.invitation == InvitationStatus.INVITED,
                                         GroupMembership.left_at.is_(None), GroupMembership.expires_at <= now)
    if member_ids is not None:
        stmt = stmt.where(GroupMembership.member_id.in_(sorted(member_ids) or [-1]))
    return list(session.scalars(stmt.order_by(GroupMembership.id).execution_options(populate_existing=True)))


def places_of_groups(session: Session, group_ids: Iterable[int]) -> dict[int, list[GroupMembership]]:
    """Group id -> every place ever held in it (answered invitations included), in joining order."""
    out: dict[int, list[GroupMembership]] = {}
    for row in session.scalars(select(GroupMembership).where(GroupMembership.group_id.in_(sorted(group_ids) or [-1]))
                               .order_by(GroupMembership.id)):
        out.setdefault(row.group_id, []).append(row)
    return out


def group_ratings(session: Session) -> list[tuple[int, int, int, bool, list[int]]]:
    """(group id, rater id, rating, would continue, the others in the group when they rated it) of every group
    feedback row, oldest first."""
    ratings = session.execute(select(GroupFeedback.group_id, GroupFeedback.member_id, GroupFeedback.rating,
                                     GroupFeedback.would_continue, GroupFeedback.created_at)
                              .order_by(GroupFeedback.id)).all()
    places: dict[int, list] = {}
    for place in session.execute(select(GroupMembership.group_id, GroupMembership.member_id, GroupMembership.joined_at,
                                        GroupMembership.left_at)
                                 .where(GroupMembership.group_id.in_({r.group_id for r in ratings} or {-1}))
                                 .order_by(GroupMembership.id)):
        places.setdefault(place.group_id, []).append(place)
    out = []
    for r in ratings:
        others = sorted({p.member_id for p in places.get(r.group_id, []) if p.member_id != r.member_id
                         and p.joined_at <= r.created_at and (p.left_at is None or p.left_at > r.created_at)})
        out.append((r.group_id, r.member_id, r.rating, r.would_continue, others))
    return out
