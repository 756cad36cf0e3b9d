"""Rounds and pairings: propose, list, approve, reject, end, history and feedback."""
from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from api import review
from api.auth import actor, requires
from api.members import get_member_or_404
from api.pagination import page_of
from api.schemas import (
    EmptySchema, FeedbackInSchema, FeedbackOutSchema, HistorySchema, PairingListArgsSchema,
    PairingListSchema, PairingSchema, ReasonSchema, RoundInSchema, RoundOutSchema,
)
from matcher.storage import Pairing, pairing_history

rounds_blp = Blueprint("rounds", __name__, url_prefix="/api/v1/rounds",
                       description="Pairing rounds: the best set of pairs for everyone waiting.")
blp = Blueprint("pairings", __name__, url_prefix="/api/v1/pairings",
                description="Proposed and approved pairings, and the coordinators' decisions on them.")


@rounds_blp.route("", methods=["POST"])
@requires("coordinator")
@rounds_blp.arguments(RoundInSchema)
@rounds_blp.response(201, RoundOutSchema)
def run_round(data):
    """Run a pairing round and store its proposals for review (nothing is approved yet)."""
    round_row, pairings = review.run_round(actor(), data["seeker_ids"], data["solver"])
    state = current_app.extensions["matching"]
    return {"round_id": round_row.id, "solver": round_row.solver,
            "config": {"name": state.config.name, "digest": round_row.config_digest},
            "total_score": round(sum(p.score for p in pairings), 6),
            "proposals": pairings, "unmatched": round_row.unmatched}


@blp.route("")
class Pairings(MethodView):
    @requires("coordinator")
    @blp.arguments(PairingListArgsSchema, location="query")
    @blp.response(200, PairingListSchema)
    def get(self, args):
        """List pairings, optionally by status or round, oldest first."""
        stmt = select(Pairing)
        if args["status"]:
            stmt = stmt.where(Pairing.status == args["status"])
        if args["round_id"]:
            stmt = stmt.where(Pairing.round_id == args["round_id"])
        return page_of("pairings", stmt, Pairing.id, args)


@blp.route("/<int:pairing_id>")
@requires("coordinator")
@blp.response(200, PairingSchema)
def get_pairing(pairing_id):
    """One pairing with its score and explanation."""
    return review.get_pairing(pairing_id)


@blp.route("/<int:pairing_id>/approve", methods=["POST"])
@requires("coordinator")
@blp.arguments(EmptySchema)
@blp.response(200, PairingSchema)
def approve(_data, pairing_id):
    """Approve a proposed pairing; capacity, blocks and availability are checked again first."""
    return review.decide(pairing_id, "approve", actor())


@blp.route("/<int:pairing_id>/reject", methods=["POST"])
@requires("coordinator")
@blp.arguments(ReasonSchema)
@blp.response(200, PairingSchema)
def reject(data, pairing_id):
    """Reject a proposed pairing, saying why; the two are not proposed to each other again."""
    return review.decide(pairing_id, "reject", actor(), data["reason"].strip())


@blp.route("/<int:pairing_id>/end", methods=["POST"])
@requires("coordinator")
@blp.arguments(ReasonSchema)
@blp.response(200, PairingSchema)
def end(data, pairing_id):
    """End an approved pairing, saying why; it frees a place for each member."""
    return review.decide(pairing_id, "end", actor(), data["reason"].strip())


@blp.route("/<int:pairing_id>/history")
@requires("coordinator")
@blp.response(200, HistorySchema)
def history(pairing_id):
    """Every change to the pairing: who, when, what and why, oldest first."""
    review.get_pairing(pairing_id)
    return {"pairing_id": pairing_id, "events": pairing_history(g.db, pairing_id)}


@blp.route("/<int:pairing_id>/feedback", methods=["POST"])
@requires("onboarding", "coordinator")
@blp.arguments(FeedbackInSchema)
@blp.response(201, FeedbackOutSchema)
def feedback(data, pairing_id):
    """A member of the pairing rates it (1-5) and says whether they would continue."""
    get_member_or_404(data["member_id"])          # onboarding keys may speak only for their own members
    return review.give_feedback(pairing_id, data["member_id"], data["rating"], data["would_continue"],
                                data["comment"], actor())
