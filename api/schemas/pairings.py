"""Rounds and pairings: what a round proposes, the pairings and their history, members' feedback."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageArgsSchema, PageSchema, StrictSchema
from api.schemas.fields import MAX_ID, Id, StrictBoolean, StrictInteger, Text, UtcDateTime
from api.schemas.suggestions import ConfigRefSchema
from matcher.states import PairingStatus

PAIRING_STATUSES = tuple(PairingStatus)


class RoundInSchema(StrictSchema):
    seeker_ids = fields.List(Id(), load_default=None,
                             validate=validate.Length(1, 100_000),
                             metadata={"description": "Waiting members to pair; default: everyone waiting."})
    solver = fields.String(load_default="flow", validate=validate.OneOf(("flow", "greedy")))


class ProposalSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "support (seeker + supporter) or peer (two peers)."})
    seeker_id = fields.Integer()
    supporter_id = fields.Integer()
    score = fields.Float()
    explanation = fields.Dict()


class UnmatchedSchema(Schema):
    member_id = fields.Integer()
    reason = fields.String()


class RoundOutSchema(Schema):
    round_id = fields.Integer()
    solver = fields.String()
    config = fields.Nested(ConfigRefSchema)
    total_score = fields.Float()
    proposals = fields.List(fields.Nested(ProposalSchema))
    unmatched = fields.List(fields.Nested(UnmatchedSchema))


class PairingSchema(Schema):
    id = fields.Integer()
    round_id = fields.Integer(allow_none=True)
    kind = fields.String()
    seeker_id = fields.Integer()
    supporter_id = fields.Integer()
    status = fields.String()
    score = fields.Float()
    explanation = fields.Dict()
    config_digest = fields.String()
    reason = fields.String(allow_none=True, metadata={
        "description": "The coordinator's reason (reject, end), or the member's reason for declining."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    invited_at = UtcDateTime(allow_none=True, metadata={"description": "Mutual consent: when both were invited."})
    expires_at = UtcDateTime(allow_none=True, metadata={"description": "When an unanswered invitation expires."})
    seeker_accepted_at = UtcDateTime(allow_none=True)
    supporter_accepted_at = UtcDateTime(allow_none=True)
    declined_by = fields.Integer(allow_none=True, metadata={"description": "The member who declined the invitation."})


class InvitationSchema(Schema):
    """What an onboarding client sees of a pairing its member answered: states and times, no scores or reasons."""

    id = fields.Integer()
    kind = fields.String()
    seeker_id = fields.Integer()
    supporter_id = fields.Integer()
    status = fields.String()
    invited_at = UtcDateTime(allow_none=True)
    expires_at = UtcDateTime(allow_none=True)
    seeker_accepted_at = UtcDateTime(allow_none=True)
    supporter_accepted_at = UtcDateTime(allow_none=True)
    declined_by = fields.Integer(allow_none=True)


class AcceptSchema(StrictSchema):
    member_id = Id(required=True, metadata={"description": "The member answering: one of the pair, "
                                                           "signed up through the calling onboarding client."})


class DeclineSchema(AcceptSchema):
    reason = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(0, 1000),
                  metadata={"description": "Optional; shown to coordinators, never sent to anyone else."})


class PairingListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PAIRING_STATUSES))
    round_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class PairingListSchema(PageSchema):
    pairings = fields.List(fields.Nested(PairingSchema))


class AuditEventSchema(Schema):
    id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    pairing_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict()
    created_at = UtcDateTime()


class HistorySchema(Schema):
    pairing_id = fields.Integer()
    events = fields.List(fields.Nested(AuditEventSchema))


class FeedbackInSchema(StrictSchema):
    member_id = Id(required=True, metadata={"description": "The member giving feedback: one of the pair."})
    rating = StrictInteger(required=True, validate=validate.Range(1, 5))
    would_continue = StrictBoolean(required=True)
    comment = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(0, 2000))


class FeedbackOutSchema(Schema):
    id = fields.Integer()
    pairing_id = fields.Integer()
    member_id = fields.Integer()
    rating = fields.Integer()
    would_continue = fields.Boolean()
    created_at = UtcDateTime()
