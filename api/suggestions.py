"""Suggestions: the best compatible peers for one member, each explained."""
from __future__ import annotations

from flask import g, request

from api import services
from api.auth import caller, requires
from api.blueprint import Blueprint
from api.errors import ApiError
from api.rate_limits import SUGGESTIONS, rate_limited
from api.schemas import SuggestArgsSchema, SuggestionsSchema
from matcher.service import onboarding
from matcher.service.suggestions import suggest
from matcher.states import ApiRole

blp = Blueprint("suggestions", __name__, url_prefix="/api/v1/members",
                description="Peer suggestions for a member, best first.")


@blp.route("/<int:member_id>/suggestions")
@rate_limited(blp, SUGGESTIONS)
@requires(ApiRole.ONBOARDING, ApiRole.COORDINATOR)
@blp.arguments(SuggestArgsSchema, location="query")
@blp.response(200, SuggestionsSchema)
def suggestions(args, member_id):
    """Peers for this member; never another member's narrative (the coordinator view adds sentences)."""
    onboarding.member_for(g.db, member_id, caller())
    coordinator_view = args["view"] == "coordinator"
    if coordinator_view and not caller().sees_everyone:
        raise ApiError(403, "forbidden", "Only coordinators may see the coordinator view.", "view")
    answer = suggest(g.db, services(), member_id, args["k"], coordinator_view=coordinator_view,
                     record=request.method != "HEAD",   # a HEAD shows no one any peer
                     counts=args.get("explain") == "counts")
    g.db.commit()
    return answer
