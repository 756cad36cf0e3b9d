"""Request and response schemas (marshmallow); flask-smorest builds the OpenAPI document from them.

    fields       validating fields: text people write, strict numbers and flags, codes, tags, times
    common       strict bodies, pages, errors, reasons
    members      members, blocks, declines, repeat requests, holds
    suggestions  suggestions and their explanations
    pairings     rounds, pairings, history, feedback, invitations' answers
    webhooks     webhook endpoints, deliveries and attempts; support offers
    groups       group programmes, formations, groups and their changes, late joiners, members' view
    stats        the dashboard's figures
"""
from __future__ import annotations

from api.schemas.common import (
    EmptySchema,
    ErrorSchema,
    FieldErrorSchema,
    PageArgsSchema,
    PageSchema,
    ReasonSchema,
    StrictSchema,
)
from api.schemas.fields import MAX_ID, UtcDateTime
from api.schemas.members import (
    BlockOutSchema,
    DeclineOutSchema,
    MemberInSchema,
    MemberListSchema,
    MemberOutSchema,
    MemberPatchSchema,
    PeerRefSchema,
    ReleaseHoldSchema,
    RepeatRequestOutSchema,
    RepeatRequestSchema,
    WindowSchema,
)
from api.schemas.pairings import (
    PAIRING_STATUSES,
    AcceptSchema,
    AuditEventSchema,
    DeclineSchema,
    FeedbackInSchema,
    FeedbackOutSchema,
    HistorySchema,
    InvitationSchema,
    PairingListArgsSchema,
    PairingListSchema,
    PairingSchema,
    ProposalSchema,
    RoundInSchema,
    RoundOutSchema,
    UnmatchedSchema,
)
from api.schemas.suggestions import (
    ConfigRefSchema,
    ExplanationSchema,
    SearchSchema,
    SuggestArgsSchema,
    SuggestionSchema,
    SuggestionsSchema,
)
from api.schemas.webhooks import (
    DeliveryListArgsSchema,
    DeliveryListSchema,
    DeliveryRefSchema,
    OfferAcceptSchema,
    OfferInSchema,
    OfferListArgsSchema,
    OfferListSchema,
    OfferOutSchema,
    OfferSchema,
    WebhookCreatedSchema,
    WebhookInSchema,
    WebhookListArgsSchema,
    WebhookListSchema,
    WebhookSchema,
)

__all__ = [
    "MAX_ID", "UtcDateTime",
    "EmptySchema", "ErrorSchema", "FieldErrorSchema", "PageArgsSchema", "PageSchema", "ReasonSchema", "StrictSchema",
    "BlockOutSchema", "DeclineOutSchema", "MemberInSchema", "MemberListSchema", "MemberOutSchema",
    "MemberPatchSchema", "PeerRefSchema", "ReleaseHoldSchema", "RepeatRequestOutSchema", "RepeatRequestSchema",
    "WindowSchema",
    "PAIRING_STATUSES", "AuditEventSchema", "FeedbackInSchema", "FeedbackOutSchema", "HistorySchema",
    "PairingListArgsSchema", "PairingListSchema", "PairingSchema", "ProposalSchema", "RoundInSchema",
    "RoundOutSchema", "UnmatchedSchema",
    "ConfigRefSchema", "ExplanationSchema", "SearchSchema", "SuggestArgsSchema", "SuggestionSchema",
    "SuggestionsSchema",
    "AcceptSchema", "DeclineSchema", "InvitationSchema",
    "DeliveryListArgsSchema", "DeliveryListSchema", "DeliveryRefSchema", "OfferAcceptSchema", "OfferInSchema",
    "OfferListArgsSchema", "OfferListSchema", "OfferOutSchema", "OfferSchema", "WebhookCreatedSchema",
    "WebhookInSchema", "WebhookListArgsSchema", "WebhookListSchema", "WebhookSchema",
]
