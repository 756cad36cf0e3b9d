"""Giving back: a member offers to support others; coordinators accept or decline the offer."""
from __future__ import annotations

from flask import g

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas import (
    OfferAcceptSchema,
    OfferInSchema,
    OfferListArgsSchema,
    OfferListSchema,
    OfferOutSchema,
    OfferSchema,
    ReasonSchema,
)
from matcher.service import giving_back, onboarding
from matcher.states import ApiRole

blp = Blueprint("giving_back", __name__, url_prefix="/api/v1",
                description="Members who were helped offer to help others; coordinators decide.")

COORDINATOR = ApiRole.COORDINATOR


@blp.route("/members/<int:member_id>/offer-support", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING, COORDINATOR)
@blp.arguments(OfferInSchema)
@blp.response(201, OfferOutSchema)
def offer_support(data, member_id):
    """The member offers to support others; the offer waits in the coordinators' queue."""
    row = onboarding.member_for(g.db, member_id, caller())
    offer = giving_back.offer_support(g.db, row, data["capacity"], (data["note"] or "").strip() or None,
                                      caller().actor)
    g.db.commit()
    return offer


@blp.route("/support-offers")
@requires(COORDINATOR)
@blp.arguments(OfferListArgsSchema, location="query")
@blp.response(200, OfferListSchema)
def list_offers(args):
    """Offers to support others, oldest first (`status=pending` is the queue)."""
    return giving_back.list_offers(g.db, args["status"], args["page"], args["per_page"]).as_dict("offers")


@blp.route("/support-offers/<int:offer_id>/accept", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(OfferAcceptSchema)
@blp.response(200, OfferSchema)
def accept_offer(data, offer_id):
    """Accept an offer: the member becomes a peer or supporter with the capacity they offered."""
    offer = giving_back.accept_offer(g.db, offer_id, data["role"], caller().actor)
    g.db.commit()
    return offer


@blp.route("/support-offers/<int:offer_id>/decline", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, OfferSchema)
def decline_offer(data, offer_id):
    """Decline an offer, saying why (kept for coordinators)."""
    offer = giving_back.decline_offer(g.db, offer_id, data["reason"].strip(), caller().actor)
    g.db.commit()
    return offer
