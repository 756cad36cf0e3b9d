"""Members: create, read, update, delete; blocks and declines."""
from __future__ import annotations

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from api import review
from api.auth import actor, can_see_everyone, current_key, requires
from api.errors import ApiError
from api.pagination import page_of
from api.schemas import (
    BlockOutSchema, DeclineOutSchema, MemberInSchema, MemberListSchema, MemberOutSchema,
    MemberPatchSchema, PageArgsSchema, PeerRefSchema, ReleaseHoldSchema, RepeatRequestOutSchema,
    RepeatRequestSchema,
)
from matcher.embedding import text_hash
from matcher.storage import Block, Decline, MemberRow, audit, embed_rows, erase_member, touch

blp = Blueprint("members", __name__, url_prefix="/api/v1/members",
                description="Members of peer-support groups: who they are and when they are free.")

PROFILE_FIELDS = ("display_name", "intro", "role", "narrative", "languages", "preferred_languages",
                  "preferred_topics", "timezone", "availability", "capacity", "topics", "status")


def get_member_or_404(member_id: int) -> MemberRow:
    """The member, if it exists, is not deleted, and the caller may see it."""
    row = g.db.get(MemberRow, member_id)
    if row is None or row.deleted_at is not None:
        raise ApiError(404, "not_found", f"No member with id {member_id}.", "member_id")
    if not can_see_everyone() and row.created_by_key != current_key().id:
        raise ApiError(404, "not_found", f"No member with id {member_id}.", "member_id")
    return row


def _embed_if_changed(row: MemberRow) -> bool:
    """Embed the narrative again if it (or the model) changed; True when it did."""
    state = current_app.extensions["matching"]
    if row.embedding_hash != text_hash(row.narrative) or row.embedding_model != state.embedder.model_id:
        embed_rows([row], state.embedder)
        return True
    return False


def _screen(row: MemberRow) -> None:
    """Hold the member for a coordinator when the narrative may signal acute crisis.

    A triage aid, not a clinical judgement: it only routes the member to a person. A hold is
    released by a coordinator, never by editing the narrative. The audit event names the reason
    (a configured phrase or an exemplar similarity), never the narrative.
    """
    result = current_app.extensions["matching"].safety.screen(row.narrative)
    if result.held and not row.needs_review:
        row.needs_review = True
        audit(g.db, actor(), "held_for_review", member_id=row.id, detail={"reasons": result.reasons})


def _commit_and_refresh(*rows: MemberRow) -> None:
    touch(g.db, *rows)
    g.db.commit()
    current_app.extensions["matching"].refresh(g.db)


@blp.route("")
class Members(MethodView):
    @requires("coordinator")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MemberListSchema)
    def get(self, args):
        """List members, newest last (coordinators)."""
        return page_of("members", select(MemberRow).where(MemberRow.deleted_at.is_(None)), MemberRow.id, args)

    @requires("onboarding", "coordinator")
    @blp.arguments(MemberInSchema)
    @blp.response(201, MemberOutSchema)
    def post(self, data):
        """Create a member; their narrative is embedded before anything is stored."""
        row = MemberRow(**{k: data[k] for k in PROFILE_FIELDS}, created_by_key=current_key().id)
        row.narrative_hash = text_hash(row.narrative)
        _embed_if_changed(row)
        g.db.add(row)
        g.db.flush()
        _screen(row)
        _commit_and_refresh(row)
        return row, 201, {"Location": url_for("members.Member", member_id=row.id)}


@blp.route("/<int:member_id>")
class Member(MethodView):
    @requires("onboarding", "coordinator")
    @blp.response(200, MemberOutSchema)
    def get(self, member_id):
        """One member, as they described themselves."""
        return get_member_or_404(member_id)

    @requires("onboarding", "coordinator")
    @blp.arguments(MemberPatchSchema)
    @blp.response(200, MemberOutSchema)
    def patch(self, data, member_id):
        """Change some fields; a changed narrative is embedded again."""
        row = get_member_or_404(member_id)
        for key, value in data.items():
            setattr(row, key, value)
        row.narrative_hash = text_hash(row.narrative)
        if _embed_if_changed(row):
            _screen(row)
        _commit_and_refresh(row)
        return row

    @requires("onboarding", "coordinator")
    @blp.response(204)
    def delete(self, member_id):
        """Erase the member's narrative, embedding and name; pairings and audit keep only an id."""
        row = get_member_or_404(member_id)
        erase_member(g.db, row)
        _commit_and_refresh(row)
        return "", 204


def _peer(member_id: int, other_id: int) -> MemberRow:
    if other_id == member_id:
        raise ApiError(422, "invalid_input", "A member cannot do this to themselves.", "member_id")
    other = g.db.get(MemberRow, other_id)
    if other is None or other.deleted_at is not None:
        raise ApiError(404, "not_found", f"No member with id {other_id}.", "member_id")
    return other


@blp.route("/<int:member_id>/blocks")
class Blocks(MethodView):
    @requires("onboarding", "coordinator")
    @blp.arguments(PeerRefSchema)
    @blp.response(201, BlockOutSchema)
    def post(self, data, member_id):
        """Block a member: neither will be suggested to the other again."""
        return _record_once(Block, Block.blocked_id, member_id, data["member_id"])


@blp.route("/<int:member_id>/declines")
class Declines(MethodView):
    @requires("onboarding", "coordinator")
    @blp.arguments(PeerRefSchema)
    @blp.response(201, DeclineOutSchema)
    def post(self, data, member_id):
        """Decline a suggested peer: they are not suggested to this member again."""
        return _record_once(Decline, Decline.declined_id, member_id, data["member_id"])


@blp.route("/<int:member_id>/repeat-request")
class RepeatRequest(MethodView):
    @requires("onboarding", "coordinator")
    @blp.arguments(RepeatRequestSchema)
    @blp.response(201, RepeatRequestOutSchema)
    def post(self, data, member_id):
        """Ask to be paired again with a previous peer; the next rounds honour it when feasible."""
        return review.request_repeat(get_member_or_404(member_id), data["peer_id"], actor())


@blp.route("/<int:member_id>/release-hold")
class ReleaseHold(MethodView):
    @requires("coordinator")
    @blp.arguments(ReleaseHoldSchema)
    @blp.response(200, MemberOutSchema)
    def post(self, data, member_id):
        """A coordinator has talked with a held member; rounds may include them again."""
        return review.release_hold(get_member_or_404(member_id), actor(), data["reason"].strip())


def _record_once(model, other_column, member_id: int, other_id: int):
    """Store a block or decline from `member_id` about `other_id`; 201 when new, 200 when already there."""
    row = get_member_or_404(member_id)
    other = _peer(member_id, other_id)
    existing = g.db.scalar(select(model).where(model.member_id == row.id, other_column == other.id))
    if existing is not None:
        return existing, 200
    record = model(member_id=row.id, **{other_column.key: other.id})
    g.db.add(record)
    g.db.commit()
    return record, 201
