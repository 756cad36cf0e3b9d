"""Pairings, rounds, feedback and repeat requests, and the locks that keep decisions from racing."""
from __future__ import annotations

from sqlalchemy import Select, case, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from matcher.states import CLOSED_STATUSES, RESERVING_STATUSES, PairingStatus
from matcher.store.exclusions import exclusion_pairs
from matcher.store.groups import facilitated_counts
from matcher.store.models import AuditEvent, Feedback, MemberRow, Pairing, PairingRound, RepeatRequest, SuggestionEvent

ROUND_LOCK = 72616   # a PostgreSQL advisory lock key (the schema migration uses 72617)


def active_pairing_counts(session: Session, member_ids: list[int] | None = None,
                          statuses: tuple[str, ...] = RESERVING_STATUSES,
                          exclude_pairing: int | None = None, exclude_group: int | None = None) -> dict[int, int]:
    """Places in use per member: pairings in `statuses` (by default approved or awaiting review), both sides,
    and the groups in the same statuses they facilitate (a facilitated group takes a place like a pairing)."""
    counts = facilitated_counts(session, member_ids, tuple(statuses), exclude_group)
    for column in (Pairing.seeker_id, Pairing.supporter_id):
        stmt = select(column, func.count()).where(Pairing.status.in_(statuses)).group_by(column)
        if exclude_pairing is not None:
            stmt = stmt.where(Pairing.id != exclude_pairing)
        if member_ids is not None:
            stmt = stmt.where(column.in_(member_ids))
        for member_id, n in session.execute(stmt):
            counts[member_id] = counts.get(member_id, 0) + n
    return counts


def closed_partners(session: Session, member_id: int) -> set[int]:
    """Members a coordinator rejected or ended a pairing of `member_id` with."""
    rows = session.execute(select(Pairing.seeker_id, Pairing.supporter_id).where(
        Pairing.status.in_(CLOSED_STATUSES), or_(Pairing.seeker_id == member_id, Pairing.supporter_id == member_id)))
    return {b if a == member_id else a for a, b in rows}


def round_constraints(session: Session) -> tuple[set[frozenset[int]], dict[int, set[int]], dict[int, int]]:
    """What a pairing round must respect: excluded pairs, blocks/declines, and repeat requests.

    Rejected and ended pairs are excluded, except an ended pair one of its members asked to repeat.
    """
    repeats = {m: p for m, p in session.execute(select(RepeatRequest.member_id, RepeatRequest.peer_id))}
    wanted = {frozenset(pair) for pair in repeats.items()}
    excluded: set[frozenset[int]] = set()
    for a, b, status in session.execute(select(Pairing.seeker_id, Pairing.supporter_id, Pairing.status)
                                        .where(Pairing.status.in_(CLOSED_STATUSES))):
        pair = frozenset((a, b))
        if status != PairingStatus.ENDED or pair not in wanted:
            excluded.add(pair)
    blocked: dict[int, set[int]] = {}
    for a, b in exclusion_pairs(session):
        blocked.setdefault(a, set()).add(b)
    return excluded, blocked, repeats


def lock_members(session: Session, member_ids: list[int]) -> dict[int, MemberRow]:
    """Start a write transaction that holds these members until commit, and return them fresh.

    Capacity checks run after this, so two coordinators approving pairs of one supporter at
    once are serialised by the database: PostgreSQL locks the member rows (SELECT ... FOR
    UPDATE, in id order so two lockers never deadlock); SQLite takes its single write lock at
    the start of the transaction (BEGIN IMMEDIATE), which also makes every read after it fresh.
    """
    stmt = select(MemberRow).where(MemberRow.id.in_(sorted(set(member_ids)))).order_by(MemberRow.id)
    if not begin_write(session):
        stmt = stmt.with_for_update()
    rows = session.scalars(stmt.execution_options(populate_existing=True)).all()
    return {row.id: row for row in rows}


def lock_rounds(session: Session) -> None:
    """Let one pairing round at a time write proposals (a transaction-scoped lock)."""
    if not begin_write(session):
        session.execute(text(f"SELECT pg_advisory_xact_lock({ROUND_LOCK})"))


def begin_write(session: Session) -> bool:
    """End the session's transaction and start a fresh one; on SQLite take the write lock now (True).

    SQLite has one writer at a time: BEGIN IMMEDIATE waits for it up front, so every read after it
    is fresh. Other databases return False and lock what they need themselves.
    """
    session.rollback()
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.execute(text("BEGIN IMMEDIATE"))
    return True


def pairing_of(a: int, b: int) -> ColumnElement[bool]:
    """The condition for a pairing of these two members, whichever side each is on."""
    return (((Pairing.seeker_id == a) & (Pairing.supporter_id == b))
            | ((Pairing.seeker_id == b) & (Pairing.supporter_id == a)))


def closed_between(session: Session, a: int, b: int) -> bool:
    """Whether a round must not pair the two again: a rejected or withdrawn pairing of theirs, or an ended
    one that neither asked to repeat (as `round_constraints` has it)."""
    statuses = set(session.scalars(select(Pairing.status).where(pairing_of(a, b), Pairing.status.in_(CLOSED_STATUSES))))
    if statuses & {PairingStatus.REJECTED, PairingStatus.WITHDRAWN}:
        return True
    repeat = session.scalar(select(RepeatRequest.id).where(
        ((RepeatRequest.member_id == a) & (RepeatRequest.peer_id == b))
        | ((RepeatRequest.member_id == b) & (RepeatRequest.peer_id == a))).limit(1))
    return PairingStatus.ENDED in statuses and repeat is None


def has_met(session: Session, member_id: int, other_id: int) -> bool:
    """Whether `other_id` was ever suggested to `member_id`, or the two were in a pairing."""
    shown = session.scalar(select(SuggestionEvent.id).where(SuggestionEvent.requester_id == member_id,
                                                            SuggestionEvent.suggested_id == other_id).limit(1))
    paired = session.scalar(select(Pairing.id).where(pairing_of(member_id, other_id)).limit(1))
    return shown is not None or paired is not None


def ended_pairing_between(session: Session, a: int, b: int) -> int | None:
    """The id of an ended pairing of the two members, if there is one."""
    return session.scalar(select(Pairing.id).where(Pairing.status == PairingStatus.ENDED, pairing_of(a, b)).limit(1))


def repeat_request_of(session: Session, member_id: int) -> RepeatRequest | None:
    return session.scalar(select(RepeatRequest).where(RepeatRequest.member_id == member_id))


def has_feedback(session: Session, pairing_id: int, member_id: int) -> bool:
    return session.scalar(select(Feedback.id).where(Feedback.pairing_id == pairing_id,
                                                    Feedback.member_id == member_id)) is not None


def pairing_history(session: Session, pairing_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.pairing_id == pairing_id)
                                .order_by(AuditEvent.id)))


def pairings_query(status: str | None = None, round_id: int | None = None) -> Select:
    """Pairings, optionally of one status or round (for paging)."""
    stmt = select(Pairing)
    if status:
        stmt = stmt.where(Pairing.status == status)
    if round_id:
        stmt = stmt.where(Pairing.round_id == round_id)
    return stmt


def pairings_in(session: Session, status: str) -> list[Pairing]:
    return list(session.scalars(select(Pairing).where(Pairing.status == status).order_by(Pairing.id)))


def last_round(session: Session) -> PairingRound | None:
    return session.scalar(select(PairingRound).order_by(PairingRound.id.desc()).limit(1))


def members_of(session: Session, pairings: list[Pairing]) -> list[MemberRow]:
    """The member rows of these pairings (both sides)."""
    ids = {p.seeker_id for p in pairings} | {p.supporter_id for p in pairings}
    return list(session.scalars(select(MemberRow).where(MemberRow.id.in_(ids))))


def rated_pairings(session: Session) -> list[tuple[int, dict, int, bool]]:
    """(pairing id, explanation, rating, would continue) of every feedback row, oldest first."""
    rows = session.execute(select(Pairing.id, Pairing.explanation, Feedback.rating, Feedback.would_continue)
                           .join(Feedback, Feedback.pairing_id == Pairing.id).order_by(Feedback.id))
    return [tuple(row) for row in rows]


def pairings_with_ratings(session: Session, status: str | None, round_id: int | None) -> list[tuple]:
    """(pairing, feedback count, mean rating, lowest rating, would-continue count) per pairing, by id."""
    ratings = (select(Feedback.pairing_id, func.count().label("n"), func.avg(Feedback.rating).label("mean"),
                      func.min(Feedback.rating).label("low"),
                      func.sum(case((Feedback.would_continue, 1), else_=0)).label("yes"))
               .group_by(Feedback.pairing_id).subquery())
    stmt = (select(Pairing, ratings.c.n, ratings.c.mean, ratings.c.low, ratings.c.yes)
            .outerjoin(ratings, ratings.c.pairing_id == Pairing.id).order_by(Pairing.id))
    if status:
        stmt = stmt.where(Pairing.status == status)
    if round_id:
        stmt = stmt.where(Pairing.round_id == round_id)
    return [tuple(row) for row in session.execute(stmt)]


def repeat_requesters(session: Session, member_ids: set[int]) -> set[int]:
    """Which of these members asked to be paired again with a previous peer."""
    return set(session.scalars(select(RepeatRequest.member_id).where(RepeatRequest.member_id.in_(member_ids))))


def scoring_at_least(session: Session, pairing_ids: list[int], min_score: float) -> list[int]:
    """Those of `pairing_ids` whose score is at least `min_score`, in the given order."""
    keep = set(session.scalars(select(Pairing.id).where(Pairing.id.in_(pairing_ids), Pairing.score >= min_score)))
    return [i for i in pairing_ids if i in keep]
