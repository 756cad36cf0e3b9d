"""Giving back: a member who was helped offers to help others; a coordinator accepts or declines the offer.

An accepted offer makes the member a `peer` or `supporter` with the capacity they offered (audited,
under the member's lock, like approval). Members held for review cannot offer: a person talks with
them first. The note is for coordinators only; events carry ids.
"""
from __future__ import annotations

from matcher.service.errors import ConflictError, HeldForReviewError, NotFoundError
from matcher.service.listing import Page, paginate
from matcher.service.outbox import emit
from matcher.states import CAPACITY_STATUSES, EventType, MemberStatus, OfferStatus
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.members import touch
from matcher.store.models import MemberRow, SupportOffer, utcnow
from matcher.store.offers import offers_query, pending_offer_of
from matcher.store.pairings import active_pairing_counts, lock_members

GIVING_ROLES = ("peer", "supporter")


def offer_support(session: Session, member: MemberRow, capacity: int, note: str | None, actor: str) -> SupportOffer:
    """Put a member's offer in the coordinators' queue.

    Raises
    ------
    HeldForReviewError: the member is held for review.
    ConflictError: the member is paused, or has an offer waiting already.
    """
    if member.needs_review:
        raise HeldForReviewError(f"Member {member.id} is held for a coordinator's review; they cannot offer "
                                 "support until a coordinator has talked with them.", "member_id")
    if member.status != MemberStatus.ACTIVE:
        raise ConflictError(f"Member {member.id} is {member.status}; only an active member can offer support.",
                            "member_id")
    if pending_offer_of(session, member.id) is not None:
        raise ConflictError(f"Member {member.id} has an offer waiting for a coordinator already.", "member_id")
    offer = SupportOffer(member_id=member.id, capacity=capacity, note=note or None, status=OfferStatus.PENDING)
    session.add(offer)
    session.flush()
    audit(session, actor, "offered_support", member_id=member.id, detail={"offer_id": offer.id, "capacity": capacity})
    emit(session, EventType.MEMBER_OFFERED_SUPPORT, [member.id], member_id=member.id, offer_id=offer.id)
    return offer


def list_offers(session: Session, status: str | None, page: int, per_page: int) -> Page:
    """Offers, oldest first (the queue is `status=pending`)."""
    return paginate(session, offers_query(status), SupportOffer.id, page, per_page)


def get_offer(session: Session, offer_id: int) -> SupportOffer:
    offer = session.get(SupportOffer, offer_id)
    if offer is None:
        raise NotFoundError(f"No support offer with id {offer_id}.", "offer_id")
    return offer


def _locked_pending(session: Session, offer_id: int) -> tuple[SupportOffer, MemberRow]:
    offer = get_offer(session, offer_id)
    member = lock_members(session, [offer.member_id]).get(offer.member_id)
    session.refresh(offer)
    if offer.status != OfferStatus.PENDING:
        raise ConflictError(f"This offer is {offer.status} already.", "status")
    if member is None or member.deleted_at is not None:
        raise ConflictError(f"Member {offer.member_id} has left.", "member_id")
    return offer, member


def accept_offer(session: Session, offer_id: int, role: str, actor: str) -> SupportOffer:
    """The member becomes a peer or supporter with the offered capacity.

    Raises
    ------
    ConflictError: the offer was decided, the member left or is held, or is in more pairings than offered.
    """
    if role not in GIVING_ROLES:
        raise ValueError(f"role must be one of {', '.join(GIVING_ROLES)}.")
    offer, member = _locked_pending(session, offer_id)
    if member.needs_review:
        raise HeldForReviewError(f"Member {member.id} is held for review; release the hold first.", "member_id")
    taken = active_pairing_counts(session, [member.id], statuses=CAPACITY_STATUSES).get(member.id, 0)
    if offer.capacity < taken:
        raise ConflictError(f"Member {member.id} is in {taken} active or invited pairings, more than the "
                            f"{offer.capacity} offered.", "capacity")
    before = {"role": member.role, "capacity": member.capacity}
    member.role, member.capacity = role, offer.capacity
    offer.status, offer.role, offer.decided_by, offer.decided_at = OfferStatus.ACCEPTED, role, actor, utcnow()
    audit(session, actor, "became_supporter", member_id=member.id,
          detail={"offer_id": offer.id, "from": before, "to": {"role": role, "capacity": offer.capacity}})
    emit(session, EventType.MEMBER_BECAME_SUPPORTER, [member.id], member_id=member.id, offer_id=offer.id, role=role)
    touch(session, member)
    return offer


def decline_offer(session: Session, offer_id: int, reason: str, actor: str) -> SupportOffer:
    """Decline an offer, saying why (kept for coordinators; the client hears nothing of it)."""
    offer, _member = _locked_pending(session, offer_id)
    offer.status, offer.decision_reason, offer.decided_by, offer.decided_at = (OfferStatus.DECLINED, reason, actor,
                                                                               utcnow())
    audit(session, actor, "support_offer_declined", member_id=offer.member_id, reason=reason,
          detail={"offer_id": offer.id})
    return offer
