"""Programme settings (how pairs, and later each group programme, ask for consent) and due invitations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.states import Consent, PairingStatus
from matcher.store.models import Pairing, ProgrammeSetting


def programme_setting(session: Session, programme: str) -> ProgrammeSetting:
    """The programme's settings row; a programme nobody configured yet asks for mutual consent."""
    row = session.scalar(select(ProgrammeSetting).where(ProgrammeSetting.programme == programme))
    if row is None:
        row = ProgrammeSetting(programme=programme, consent=Consent.MUTUAL, invitation_days=7)
        session.add(row)
        session.flush()
    return row


def due_invitation_ids(session: Session, now: datetime, member_ids: list[int] | None = None) -> list[int]:
    """Invited pairings whose answer time ran out by `now` (optionally only of these members), by id."""
    stmt = select(Pairing.id).where(Pairing.status == PairingStatus.INVITED, Pairing.expires_at <= now)
    if member_ids is not None:
        stmt = stmt.where(Pairing.seeker_id.in_(member_ids) | Pairing.supporter_id.in_(member_ids))
    return list(session.scalars(stmt.order_by(Pairing.id)))


def pairings_by_id(session: Session, pairing_ids: list[int]) -> list[Pairing]:
    """These pairings, read fresh (after the members' locks were taken), by id."""
    stmt = select(Pairing).where(Pairing.id.in_(pairing_ids or [-1])).order_by(Pairing.id)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))
