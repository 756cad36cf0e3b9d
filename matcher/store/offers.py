"""Members' offers to support others, waiting for a coordinator's answer."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from matcher.states import OfferStatus
from matcher.store.models import SupportOffer


def offers_query(status: str | None = None) -> Select:
    stmt = select(SupportOffer)
    if status:
        stmt = stmt.where(SupportOffer.status == status)
    return stmt


def pending_offer_of(session: Session, member_id: int) -> SupportOffer | None:
    return session.scalar(select(SupportOffer).where(SupportOffer.member_id == member_id,
                                                     SupportOffer.status == OfferStatus.PENDING))


def offers_in(session: Session, status: str) -> list[SupportOffer]:
    return list(session.scalars(offers_query(status).order_by(SupportOffer.id)))
