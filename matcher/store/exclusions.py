"""Exclusions: blocks, declines and group declines, one table, checked in both directions."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matcher.states import PAIR_EXCLUSIONS, ExclusionKind
from matcher.store.models import Exclusion


def exclude(session: Session, member_id: int, other_id: int, kind: ExclusionKind) -> tuple[Exclusion, bool]:
    """Record that `member_id` blocked or declined `other_id`; returns the row and whether it is new."""
    existing = session.scalar(select(Exclusion).where(Exclusion.member_id == member_id,
                                                      Exclusion.other_id == other_id, Exclusion.kind == kind))
    if existing is not None:
        return existing, False
    row = Exclusion(member_id=member_id, other_id=other_id, kind=kind)
    session.add(row)
    session.flush()
    return row, True


def excluded_ids(session: Session, member_id: int, kind: ExclusionKind) -> set[int]:
    """Members `member_id` excluded in this way, or who excluded `member_id` so."""
    rows = session.execute(select(Exclusion.member_id, Exclusion.other_id).where(
        Exclusion.kind == kind, or_(Exclusion.member_id == member_id, Exclusion.other_id == member_id)))
    return {b if a == member_id else a for a, b in rows}


def exclusion_kinds_between(session: Session, a: int, b: int) -> set[ExclusionKind]:
    """How either of the two members excluded the other (blocked, declined), if at all."""
    kinds = session.scalars(select(Exclusion.kind).where(
        ((Exclusion.member_id == a) & (Exclusion.other_id == b))
        | ((Exclusion.member_id == b) & (Exclusion.other_id == a))))
    return {ExclusionKind(kind) for kind in kinds}


def exclusion_pairs(session: Session) -> list[tuple[int, int]]:
    """(member, other) of every block and decline that keeps two members out of a pair."""
    return [(a, b) for a, b in session.execute(select(Exclusion.member_id, Exclusion.other_id)
                                               .where(Exclusion.kind.in_(PAIR_EXCLUSIONS)))]
