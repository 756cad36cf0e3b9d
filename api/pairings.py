"""Rounds and pairings: propose, list, approve, reject, end, history, feedback, and members' answers."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from api import services
from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas import (
    AcceptSchema,
    DeclineSchema,
    EmptySchema,
    FeedbackInSchema,
    FeedbackOutSchema,
    HistorySchema,
    InvitationSchema,
    PairingListArgsSchema,
    PairingListSchema,
    PairingSchema,
    ReasonSchema,
    RoundInSchema,
    RoundOutSchema,
)
from matcher.service import consent, onboarding, review
from matcher.service.rounds import run_round as propose
from matcher.states import Answer, ApiRole, Decision

rounds_blp = Blueprint("rounds", __name__, url_prefix="/api/v1/rounds",
                       description="Pairing rounds: the best set of pairs for everyone waiting.")
blp = Blueprint("pairings", __name__, url_prefix="/api/v1/pairings",
                description="Proposed and approved pairings, and the coordinators' decisions on them.")

COORDINATOR = ApiRole.COORDINATOR


@rounds_blp.route("", methods=["POST"])
@rate_limited(rounds_blp, WRITES)
@requires(COORDINATOR)
@rounds_blp.arguments(RoundInSchema)
@rounds_blp.response(201, RoundOutSchema)
def run_round(data):
    """Run a pairing round and store its proposals for review (nothing is approved yet)."""
    round_row, pairings = propose(g.db, services(), caller().actor, data["seeker_ids"], data["solver"])
    g.db.commit()
    return {"round_id": round_row.id, "solver": round_row.solver,
            "config": {"name": services().config.name, "digest": round_row.config_digest},
            "total_score": round(sum(p.score for p in pairings), 6),
            "proposals": pairings, "unmatched": round_row.unmatched}


@blp.route("")
class Pairings(MethodView):
    @requires(COORDINATOR)
    @blp.arguments(PairingListArgsSchema, location="query")
    @blp.response(200, PairingListSchema)
    def get(self, args):
        """List pairings, optionally by status or round, oldest first."""
        page = review.list_pairings(g.db, args["status"], args["round_id"], args["page"], args["per_page"])
        g.db.commit()   # invitations that expired on the way
        return page.as_dict("pairings")


@blp.route("/<int:pairing_id>")
@requires(COORDINATOR)
@blp.response(200, PairingSchema)
def get_pairing(pairing_id):
    """One pairing with its score and explanation."""
    pairing = review.current_pairing(g.db, pairing_id)
    g.db.commit()
    return pairing


def _decide(pairing_id: int, decision: Decision, reason: str | None = None):
    pairing = review.decide(g.db, services().config, pairing_id, decision, caller().actor, reason)
    g.db.commit()
    return pairing


@blp.route("/<int:pairing_id>/approve", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(EmptySchema)
@blp.response(200, PairingSchema)
def approve(_data, pairing_id):
    """Approve a proposed pairing; capacity, blocks and availability are checked again first."""
    return _decide(pairing_id, Decision.APPROVE)


@blp.route("/<int:pairing_id>/reject", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, PairingSchema)
def reject(data, pairing_id):
    """Reject a proposed pairing, saying why; the two are not proposed to each other again."""
    return _decide(pairing_id, Decision.REJECT, data["reason"].strip())


@blp.route("/<int:pairing_id>/end", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, PairingSchema)
def end(data, pairing_id):
    """End an approved pairing, saying why; it frees a place for each member."""
    return _decide(pairing_id, Decision.END, data["reason"].strip())


@blp.route("/<int:pairing_id>/withdraw", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, PairingSchema)
def withdraw(data, pairing_id):
    """Withdraw an open invitation, saying why; both places are freed and the two are not proposed again."""
    return _decide(pairing_id, Decision.WITHDRAW, data["reason"].strip())


def _answer(pairing_id: int, member_id: int, choice: Answer, reason: str | None = None):
    onboarding.member_for(g.db, member_id, caller())   # a client answers only for its own members
    pairing = consent.answer(g.db, pairing_id, member_id, choice, caller().actor, reason)
    g.db.commit()
    return pairing


@blp.route("/<int:pairing_id>/accept", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING)
@blp.arguments(AcceptSchema)
@blp.response(200, InvitationSchema)
def accept(data, pairing_id):
    """A member accepts their invitation (mutual consent); the pair is active once both accepted. Idempotent."""
    return _answer(pairing_id, data["member_id"], Answer.ACCEPT)


@blp.route("/<int:pairing_id>/decline", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING)
@blp.arguments(DeclineSchema)
@blp.response(200, InvitationSchema)
def decline(data, pairing_id):
    """A member declines their invitation: both places are freed and the two are never proposed again."""
    reason = data["reason"].strip() if data["reason"] else None
    return _answer(pairing_id, data["member_id"], Answer.DECLINE, reason or None)


@blp.route("/<int:pairing_id>/history")
@requires(COORDINATOR)
@blp.response(200, HistorySchema)
def history(pairing_id):
    """Every change to the pairing: who, when, what and why, oldest first."""
    events = review.history(g.db, pairing_id)
    g.db.commit()
    return {"pairing_id": pairing_id, "events": events}


@blp.route("/<int:pairing_id>/feedback", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING, COORDINATOR)
@blp.arguments(FeedbackInSchema)
@blp.response(201, FeedbackOutSchema)
def feedback(data, pairing_id):
    """A member of the pairing rates it (1-5) and says whether they would continue."""
    onboarding.member_for(g.db, data["member_id"], caller())   # onboarding keys speak only for their own members
    given = review.give_feedback(g.db, pairing_id, data["member_id"], data["rating"], data["would_continue"],
                                 data["comment"], caller().actor)
    g.db.commit()
    return given
