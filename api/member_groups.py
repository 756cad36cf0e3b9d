"""A member's side of groups: the open groups that fit a late joiner, and the member's own groups."""
from __future__ import annotations

from flask import g

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.schemas.groups import GroupSuggestionArgsSchema, GroupSuggestionsSchema, MemberGroupsSchema
from matcher.service import group_feedback, group_joining, onboarding
from matcher.states import ApiRole

blp = Blueprint("member_groups", __name__, url_prefix="/api/v1/members",
                description="Groups from a member's side: which open groups fit them, and the groups they are in.")


@blp.route("/<int:member_id>/group-suggestions")
@requires(ApiRole.ONBOARDING, ApiRole.COORDINATOR)
@blp.arguments(GroupSuggestionArgsSchema, location="query")
@blp.response(200, GroupSuggestionsSchema)
def group_suggestions(args, member_id):
    """Open groups with room that fit the member (language, slot, blocks, sizes), best first, with why."""
    member = onboarding.member_for(g.db, member_id, caller())
    return {"member_id": member.id, "suggestions": group_joining.suggest_groups(g.db, member, args["k"])}


@blp.route("/<int:member_id>/groups")
@requires(ApiRole.ONBOARDING, ApiRole.COORDINATOR)
@blp.response(200, MemberGroupsSchema)
def member_groups(member_id):
    """The member's approved groups and open invitations: the others' names and intros, the slot in the
    member's time zone, and the member's own invitation (answer it before `expires_at`)."""
    member = onboarding.member_for(g.db, member_id, caller())
    groups = group_feedback.my_groups(g.db, member)
    g.db.commit()   # invitations that expired on the way
    return {"member_id": member_id, "groups": groups}
