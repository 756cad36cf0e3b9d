"""Suggestions: the best compatible peers for one member, each explained."""
from __future__ import annotations

from flask import current_app, g
from flask_smorest import Blueprint

from api.auth import can_see_everyone, requires
from api.errors import ApiError
from api.members import get_member_or_404
from api.schemas import SuggestArgsSchema, SuggestionsSchema

blp = Blueprint("suggestions", __name__, url_prefix="/api/v1/members",
                description="Peer suggestions for a member, best first.")


@blp.route("/<int:member_id>/suggestions")
@requires("onboarding", "coordinator")
@blp.arguments(SuggestArgsSchema, location="query")
@blp.response(200, SuggestionsSchema)
def suggestions(args, member_id):
    """Peers for this member; never another member's narrative (the coordinator view adds sentences)."""
    get_member_or_404(member_id)
    coordinator_view = args["view"] == "coordinator"
    if coordinator_view and not can_see_everyone():
        raise ApiError(403, "forbidden", "Only coordinators may see the coordinator view.", "view")
    state = current_app.extensions["matching"]
    ranking = state.suggest(g.db, member_id, args["k"])
    g.db.commit()
    items = []
    for suggestion in ranking.suggestions:
        peer = state.index.get(suggestion.member_id)
        explanation = dict(suggestion.explanation)
        if coordinator_view:
            explanation["matched_sentences"] = state.matched_sentences(member_id, suggestion.member_id)
        items.append({"member_id": suggestion.member_id, "display_name": peer.display_name,
                      "intro": peer.intro, "score": suggestion.score, "explanation": explanation})
    return {"member_id": member_id, "suggestions": items, "filtered_out": ranking.filtered_out,
            "candidates": ranking.candidates,
            "config": {"name": state.config.name, "digest": ranking.config_digest},
            "search": search_of(ranking)}


def search_of(ranking) -> dict:  # noqa: ANN001
    """The `search` part of the answer from what the ranking recorded about how it was found."""
    extra = ranking.extra
    keep = {"ann": ("examined", "recall_at_10"), "pgvector": ("certain", "scored")}.get(extra.get("search"), ())
    return {"method": extra.get("search", "exact"), **{key: extra[key] for key in keep if key in extra}}
