"""Support groups: read them, the coordinators' decisions and edits, their history, and members' feedback."""
from __future__ import annotations

from flask import g

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas import EmptySchema, ReasonSchema
from api.schemas.groups import (
    AddMemberSchema,
    GroupAcceptSchema,
    GroupChangeSchema,
    GroupDeclineSchema,
    GroupFeedbackInSchema,
    GroupFeedbackOutSchema,
    GroupHistorySchema,
    GroupSchema,
    InvitationAnswerSchema,
    MoveMemberSchema,
)
from matcher.service import group_consent, group_feedback, group_review, onboarding
from matcher.states import Answer, ApiRole, GroupRole

blp = Blueprint("groups", __name__, url_prefix="/api/v1/groups",
                description="Support groups: proposed, approved, rejected and ended, and every change to them.")

COORDINATOR = ApiRole.COORDINATOR


@blp.route("/<int:group_id>")
@requires(COORDINATOR)
@blp.response(200, GroupSchema)
def get_group(group_id):
    """One group: its members (and their invitations), slot, language, score parts, declines and expiries."""
    group = group_review.show_group(g.db, group_id)
    g.db.commit()   # invitations that expired on the way
    return group


def _decide(group_id: int, action: str, reason: str | None = None):
    group = group_review.decide(g.db, group_id, action, caller().actor, reason)
    g.db.commit()
    return group


@blp.route("/<int:group_id>/approve", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(EmptySchema)
@blp.response(200, GroupSchema)
def approve(_data, group_id):
    """Approve a proposed group; every rule is checked again first, against its members as they are now."""
    return _decide(group_id, "approve")


@blp.route("/<int:group_id>/reject", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, GroupSchema)
def reject(data, group_id):
    """Reject a proposed group, saying why; its members wait for the next formation."""
    return _decide(group_id, "reject", data["reason"].strip())


@blp.route("/<int:group_id>/end", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, GroupSchema)
def end(data, group_id):
    """End an approved group, saying why; its facilitator's place is free again."""
    return _decide(group_id, "end", data["reason"].strip())


@blp.route("/<int:group_id>/withdraw", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, GroupSchema)
def withdraw(data, group_id):
    """Withdraw an invited group's invitations before it starts, saying why; every place is free again."""
    return _decide(group_id, "withdraw", data["reason"].strip())


def _answer(group_id: int, member_id: int, choice: Answer, reason: str | None = None) -> dict:
    onboarding.member_for(g.db, member_id, caller())   # a client answers only for its own members
    place = group_consent.answer(g.db, group_id, member_id, choice, caller().actor, reason)
    answered = {"group_id": group_id, "member_id": member_id, "role": place.role, "invitation": place.invitation,
                "invited_at": place.invited_at, "expires_at": place.expires_at, "answered_at": place.answered_at,
                "group_status": group_review.get_group(g.db, group_id).status}
    g.db.commit()
    return answered


@blp.route("/<int:group_id>/accept", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING)
@blp.arguments(GroupAcceptSchema)
@blp.response(200, InvitationAnswerSchema)
def accept(data, group_id):
    """A member accepts their place in an invited group; it starts once enough have accepted. Idempotent."""
    return _answer(group_id, data["member_id"], Answer.ACCEPT)


@blp.route("/<int:group_id>/decline", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING)
@blp.arguments(GroupDeclineSchema)
@blp.response(200, InvitationAnswerSchema)
def decline(data, group_id):
    """A member declines their place: it is freed, and they are never grouped with these members again."""
    reason = data["reason"].strip() if data["reason"] else None
    return _answer(group_id, data["member_id"], Answer.DECLINE, reason or None)


@blp.route("/<int:group_id>/members", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(AddMemberSchema)
@blp.response(200, GroupSchema)
def add_member(data, group_id):
    """Place a late joiner in an open group, if every rule holds with them in it."""
    group = group_review.add_member(g.db, group_id, data["member_id"], caller().actor, GroupRole(data["role"]))
    g.db.commit()
    return group


@blp.route("/<int:group_id>/members/<int:member_id>/move", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(MoveMemberSchema)
@blp.response(200, GroupChangeSchema)
def move_member(data, group_id, member_id):
    """Move a member to another proposed group of the programme (checked there), or out (`to_group_id` null)."""
    reason = data["reason"].strip() if data["reason"] else None
    change = group_review.move_member(g.db, group_id, member_id, data["to_group_id"], caller().actor, reason)
    g.db.commit()
    return change


@blp.route("/<int:group_id>/members/<int:member_id>/remove", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(ReasonSchema)
@blp.response(200, GroupChangeSchema)
def remove_member(data, group_id, member_id):
    """Take a member out of an open group, saying why; the answer lists what the group now lacks."""
    change = group_review.remove_member(g.db, group_id, member_id, caller().actor, data["reason"].strip())
    g.db.commit()
    return change


@blp.route("/<int:group_id>/history")
@requires(COORDINATOR)
@blp.response(200, GroupHistorySchema)
def history(group_id):
    """Every change to the group: who, when, what and why, oldest first."""
    events = group_review.history(g.db, group_id)
    g.db.commit()
    return {"group_id": group_id, "events": events}


@blp.route("/<int:group_id>/feedback", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ApiRole.ONBOARDING, COORDINATOR)
@blp.arguments(GroupFeedbackInSchema)
@blp.response(201, GroupFeedbackOutSchema)
def feedback(data, group_id):
    """A member of the group rates it (1-5) and says whether they would continue."""
    onboarding.member_for(g.db, data["member_id"], caller())   # onboarding keys speak only for their own members
    given = group_feedback.give_group_feedback(g.db, group_id, data["member_id"], data["rating"],
                                               data["would_continue"], data["comment"], caller().actor)
    g.db.commit()
    return given
