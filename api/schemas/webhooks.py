"""Webhook endpoints, their deliveries and attempts; support offers (giving back)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageArgsSchema, PageSchema, StrictSchema
from api.schemas.fields import Id, StrictInteger, Text, UtcDateTime
from matcher.states import DeliveryStatus, EventType, OfferStatus

EVENT_TYPES = tuple(t.value for t in EventType)


class WebhookInSchema(StrictSchema):
    client_key_id = Id(required=True, metadata={"description": "The onboarding client's API key id: the endpoint "
                                                               "hears only of that client's members."})
    url = Text(required=True, not_blank=True, validate=validate.Length(1, 2048),
               metadata={"description": "http:// or https://; private and loopback addresses are refused unless "
                                        "PEERMATCH_WEBHOOKS_ALLOW_PRIVATE=1."})
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), load_default=None,
                              validate=validate.Length(1, len(EVENT_TYPES)),
                              metadata={"description": "Default: every event type."})


class WebhookSchema(Schema):
    id = fields.Integer()
    client_key_id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    enabled = fields.Boolean()
    created_at = UtcDateTime()
    disabled_at = UtcDateTime(allow_none=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "The signing secret (whsec_...), shown only in this answer."})


class WebhookListArgsSchema(PageArgsSchema):
    client_key_id = fields.Integer(load_default=None, validate=validate.Range(1, 2**31 - 1))


class WebhookListSchema(PageSchema):
    webhooks = fields.List(fields.Nested(WebhookSchema))


class AttemptSchema(Schema):
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    milliseconds = fields.Integer()
    created_at = UtcDateTime()


class DeliverySchema(Schema):
    id = fields.Integer(attribute="delivery.id")
    webhook_id = fields.String(attribute="delivery.webhook_id")
    event_type = fields.String(attribute="delivery.payload.type")
    payload = fields.Dict(attribute="delivery.payload")
    status = fields.String(attribute="delivery.status")
    attempts = fields.Integer(attribute="delivery.attempts")
    next_attempt_at = UtcDateTime(attribute="delivery.next_attempt_at")
    last_status_code = fields.Integer(attribute="delivery.last_status_code", allow_none=True)
    last_error = fields.String(attribute="delivery.last_error", allow_none=True)
    created_at = UtcDateTime(attribute="delivery.created_at")
    delivered_at = UtcDateTime(attribute="delivery.delivered_at", allow_none=True)
    replayed_at = UtcDateTime(attribute="delivery.replayed_at", allow_none=True,
                              metadata={"description": "The last replay; the retry window counts from it."})
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class DeliveryRefSchema(Schema):
    id = fields.Integer()
    webhook_id = fields.String()
    status = fields.String()
    next_attempt_at = UtcDateTime()


class DeliveryListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(tuple(DeliveryStatus)))


class DeliveryListSchema(PageSchema):
    deliveries = fields.List(fields.Nested(DeliverySchema))


class OfferInSchema(StrictSchema):
    capacity = StrictInteger(required=True, validate=validate.Range(1, 20),
                             metadata={"description": "How many people the member can support at once."})
    note = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(0, 1000),
                metadata={"description": "For coordinators only; never sent in an event."})


class OfferSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    capacity = fields.Integer()
    note = fields.String(allow_none=True)
    status = fields.String()
    role = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    created_at = UtcDateTime()
    decided_at = UtcDateTime(allow_none=True)


class OfferOutSchema(Schema):
    """What the onboarding client gets back: the offer without coordinators' words."""

    id = fields.Integer()
    member_id = fields.Integer()
    capacity = fields.Integer()
    status = fields.String()
    created_at = UtcDateTime()


class OfferAcceptSchema(StrictSchema):
    role = fields.String(load_default="supporter", validate=validate.OneOf(("peer", "supporter")),
                         metadata={"description": "What the member becomes."})


class OfferListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(tuple(OfferStatus)))


class OfferListSchema(PageSchema):
    offers = fields.List(fields.Nested(OfferSchema))
