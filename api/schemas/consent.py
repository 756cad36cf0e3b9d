"""Consent settings (admins): how pairs and new group programmes ask members to say yes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import StrictSchema
from api.schemas.fields import StrictInteger, UtcDateTime
from matcher.service.consent import MAX_INVITATION_DAYS
from matcher.states import Consent


class ConsentSchema(Schema):
    programme = fields.String(metadata={"description": "pairs, or groups: the default for new group programmes."})
    consent = fields.String(metadata={"description": "coordinator: approval starts it; mutual: members accept."})
    invitation_days = fields.Integer()
    updated_at = UtcDateTime()


class ConsentSettingsSchema(Schema):
    pairs = fields.Nested(ConsentSchema)
    groups = fields.Nested(ConsentSchema, metadata={
        "description": "What a new group programme starts with; each programme keeps its own (PATCH it)."})


class ConsentInSchema(StrictSchema):
    consent = fields.String(validate=validate.OneOf(tuple(Consent)))
    invitation_days = StrictInteger(validate=validate.Range(1, MAX_INVITATION_DAYS),
                                    metadata={"description": "Days members have to answer an invitation."})
