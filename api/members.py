"""Members: create, read, update, delete; blocks, declines, repeat requests and safety holds."""
from __future__ import annotations

from flask import g, request, url_for
from flask.views import MethodView

from api import services
from api.auth import caller, requires
from api.blueprint import Blueprint
from api.errors import ApiError
from api.rate_limits import WRITES, rate_limited
from api.schemas import (
    BlockOutSchema,
    DeclineOutSchema,
    MemberInSchema,
    MemberListSchema,
    MemberOutSchema,
    MemberPatchSchema,
    PageArgsSchema,
    PeerRefSchema,
    ReleaseHoldSchema,
    RepeatRequestOutSchema,
    RepeatRequestSchema,
)
from matcher.service import onboarding, review
from matcher.states import ApiRole, ExclusionKind

blp = Blueprint("members", __name__, url_prefix="/api/v1/members",
                description="Members of peer-support groups: who they are and when they are free.")

ONBOARDING, COORDINATOR = ApiRole.ONBOARDING, ApiRole.COORDINATOR
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "The ETag of the member as you read it: the change is refused (412) if it changed since."}
ETAG_HEADER = {"ETag": {"description": "The member's current version, for If-Match.", "schema": {"type": "string"}}}


def etag_of(row) -> str:
    """A member's entity tag: its id and version (a strong validator)."""
    return f'"{row.id}-{row.version}"'


def check_if_match(row) -> None:
    """Refuse a change made against an older version of the member than the stored one (RFC 9110 If-Match)."""
    if request.if_match and not request.if_match.contains(etag_of(row).strip('"')):
        raise ApiError(412, "precondition_failed", f"Member {row.id} changed since you read it (now {etag_of(row)}); "
                       "GET it again, then retry with its new ETag.", "If-Match")


def with_etag(row, status: int = 200, headers: dict | None = None):
    return row, status, {**(headers or {}), "ETag": etag_of(row)}


@blp.route("")
class Members(MethodView):
    @requires(COORDINATOR)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MemberListSchema)
    def get(self, args):
        """List members, newest last (coordinators)."""
        return onboarding.list_members(g.db, args["page"], args["per_page"]).as_dict("members")

    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.arguments(MemberInSchema)
    @blp.response(201, MemberOutSchema)
    def post(self, data):
        """Create a member; their narrative is embedded before anything is stored."""
        row = onboarding.create_member(g.db, services().embedder, services().safety, data, caller())
        g.db.commit()
        return with_etag(row, 201, {"Location": url_for("members.Member", member_id=row.id)})


@blp.route("/<int:member_id>")
class Member(MethodView):
    @requires(ONBOARDING, COORDINATOR)
    @blp.response(200, MemberOutSchema, headers=ETAG_HEADER)
    def get(self, member_id):
        """One member, as they described themselves."""
        return with_etag(onboarding.member_for(g.db, member_id, caller()))

    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.arguments(MemberPatchSchema)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(200, MemberOutSchema, headers=ETAG_HEADER)
    def patch(self, data, member_id):
        """Change some fields; a changed narrative is embedded again. Send If-Match to change only what you read."""
        row = onboarding.member_for(g.db, member_id, caller())
        check_if_match(row)
        onboarding.update_member(g.db, services().embedder, services().safety, row, data, caller())
        g.db.commit()
        return with_etag(row)

    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(204)
    def delete(self, member_id):
        """Erase the member's narrative, embedding and name; pairings and audit keep only an id."""
        row = onboarding.member_for(g.db, member_id, caller())
        check_if_match(row)
        onboarding.erase(g.db, row, caller())
        g.db.commit()
        return "", 204


def _exclude(member_id: int, other_id: int, kind: ExclusionKind):
    """Store a block or decline; 201 when new, 200 when it was already there."""
    row = onboarding.member_for(g.db, member_id, caller())
    exclusion, created = onboarding.exclude_peer(g.db, row, other_id, kind, caller())
    g.db.commit()
    return exclusion, 201 if created else 200


@blp.route("/<int:member_id>/blocks")
class Blocks(MethodView):
    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.arguments(PeerRefSchema)
    @blp.response(201, BlockOutSchema)
    def post(self, data, member_id):
        """Block a member: neither will be suggested to the other again."""
        return _exclude(member_id, data["member_id"], ExclusionKind.BLOCK)


@blp.route("/<int:member_id>/declines")
class Declines(MethodView):
    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.arguments(PeerRefSchema)
    @blp.response(201, DeclineOutSchema)
    def post(self, data, member_id):
        """Decline a suggested peer: they are not suggested to this member again."""
        return _exclude(member_id, data["member_id"], ExclusionKind.DECLINE)


@blp.route("/<int:member_id>/repeat-request")
class RepeatRequest(MethodView):
    @rate_limited(blp, WRITES)
    @requires(ONBOARDING, COORDINATOR)
    @blp.arguments(RepeatRequestSchema)
    @blp.response(201, RepeatRequestOutSchema)
    def post(self, data, member_id):
        """Ask to be paired again with a previous peer; the next rounds honour it when feasible."""
        row = onboarding.member_for(g.db, member_id, caller())
        request = review.request_repeat(g.db, row, data["peer_id"], caller().actor)
        g.db.commit()
        return request


@blp.route("/<int:member_id>/release-hold")
class ReleaseHold(MethodView):
    @rate_limited(blp, WRITES)
    @requires(COORDINATOR)
    @blp.arguments(ReleaseHoldSchema)
    @blp.response(200, MemberOutSchema)
    def post(self, data, member_id):
        """A coordinator has talked with a held member; rounds may include them again."""
        row = onboarding.member_for(g.db, member_id, caller())
        review.release_hold(g.db, row, caller().actor, data["reason"].strip())
        g.db.commit()
        return row
