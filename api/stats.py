"""The figures of the coordinators' dashboard as JSON."""
from __future__ import annotations

from flask import g

from api.auth import requires
from api.blueprint import Blueprint
from api.schemas.stats import StatsSchema
from matcher.service.stats import community_stats
from matcher.states import ApiRole

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats",
                description="How the community is doing: who waits, what awaits review, load and ratings.")


@blp.route("")
@requires(ApiRole.COORDINATOR)
@blp.response(200, StatsSchema)
def stats():
    """The dashboard's figures: members waiting, proposals and their age, load, time to a first pairing, ratings."""
    return community_stats(g.db).as_dict()
