"""Group programmes: open, list, read and change them; run a formation that proposes groups."""
from __future__ import annotations

from flask import g, url_for
from flask.views import MethodView

from api import services
from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas import EmptySchema, PageArgsSchema
from api.schemas.groups import (
    FormationOutSchema,
    GroupListArgsSchema,
    GroupListSchema,
    ProgrammeInSchema,
    ProgrammeListSchema,
    ProgrammePatchSchema,
    ProgrammeSchema,
)
from matcher.service import formation, group_review, programmes
from matcher.states import ApiRole

blp = Blueprint("programmes", __name__, url_prefix="/api/v1/programmes",
                description="Group programmes: who may join, how groups meet, and the groups formed for them.")

COORDINATOR = ApiRole.COORDINATOR


@blp.route("")
class Programmes(MethodView):
    @requires(COORDINATOR)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ProgrammeListSchema)
    def get(self, args):
        """List group programmes, oldest first."""
        return programmes.list_programmes(g.db, args["page"], args["per_page"]).as_dict("programmes")

    @rate_limited(blp, WRITES)
    @requires(COORDINATOR)
    @blp.arguments(ProgrammeInSchema)
    @blp.response(201, ProgrammeSchema)
    def post(self, data):
        """Open a group programme (sizes 4-8 and 90-minute weekly meetings unless given)."""
        programme = programmes.create_programme(g.db, data, caller().actor)
        g.db.commit()
        return programme, 201, {"Location": url_for("programmes.Programme", programme_id=programme.id)}


@blp.route("/<int:programme_id>")
class Programme(MethodView):
    @requires(COORDINATOR)
    @blp.response(200, ProgrammeSchema)
    def get(self, programme_id):
        """One group programme."""
        return programmes.get_programme(g.db, programme_id)

    @rate_limited(blp, WRITES)
    @requires(COORDINATOR)
    @blp.arguments(ProgrammePatchSchema)
    @blp.response(200, ProgrammeSchema)
    def patch(self, data, programme_id):
        """Change some fields of a programme; groups already formed are re-checked when next reviewed."""
        programme = programmes.update_programme(g.db, programmes.get_programme(g.db, programme_id), data,
                                                caller().actor)
        g.db.commit()
        return programme


@blp.route("/<int:programme_id>/formations", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(COORDINATOR)
@blp.arguments(EmptySchema)
@blp.response(201, FormationOutSchema)
def form(_data, programme_id):
    """Propose groups for everyone waiting for this programme; nothing is approved yet."""
    run = formation.run_formation(g.db, services(), programme_id, caller().actor)
    g.db.commit()
    return run


@blp.route("/<int:programme_id>/groups")
@requires(COORDINATOR)
@blp.arguments(GroupListArgsSchema, location="query")
@blp.response(200, GroupListSchema)
def groups(args, programme_id):
    """The programme's groups, optionally of one status, oldest first."""
    programmes.get_programme(g.db, programme_id)
    found = group_review.list_groups(g.db, programme_id, args["status"], args["page"], args["per_page"])
    g.db.commit()   # invitations that expired on the way
    return found
