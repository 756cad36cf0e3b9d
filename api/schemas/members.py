"""Members: what an onboarding form sends and what it gets back; blocks, declines, repeat requests, holds."""
from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from api.schemas.common import PageSchema, ReasonSchema, StrictSchema
from api.schemas.fields import (
    ClockTime,
    GroupSizes,
    Id,
    LanguageCodes,
    MeetingFormats,
    StrictInteger,
    Text,
    TimeZone,
    TopicTags,
    UtcDateTime,
)
from matcher.profiles import DAYS, MAX_NARRATIVE_CHARS, ROLES, STATUSES, validate_narrative


class WindowSchema(StrictSchema):
    """A weekly window in the member's local time. An end at or before the start crosses midnight (an end
    equal to the start: the whole 24 hours)."""

    day = fields.String(required=True, validate=validate.OneOf(DAYS), metadata={"example": "mon"})
    start = ClockTime(required=True)
    end = ClockTime(required=True)


class MemberInSchema(StrictSchema):
    display_name = Text(required=True, not_blank=True, validate=validate.Length(1, 80))
    intro = Text(load_default="", validate=validate.Length(0, 280),
                 metadata={"description": "A short line the member chose to show to peers."})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    narrative = Text(required=True, multiline=True, not_blank=True, validate=validate.Length(1, MAX_NARRATIVE_CHARS),
                     metadata={"description": "Private: never shown to peers."})
    languages = LanguageCodes(required=True, metadata={"description": "ISO 639-1 codes, e.g. [\"en\", \"es\"]."})
    preferred_languages = LanguageCodes(at_least_one=False, load_default=list)
    preferred_topics = TopicTags(load_default=list)
    timezone = TimeZone(required=True, metadata={"example": "Europe/Berlin"})
    availability = fields.List(fields.Nested(WindowSchema), required=True, validate=validate.Length(1, 28))
    capacity = StrictInteger(load_default=1, validate=validate.Range(0, 20),
                             metadata={"description": "How many active pairings this member takes."})
    topics = TopicTags(load_default=list)
    status = fields.String(load_default="active", validate=validate.OneOf(STATUSES))
    formats = MeetingFormats(load_default=lambda: ["pair"],
                             metadata={"description": "How the member wants to meet peers: \"pair\", \"group\" "
                                                      "or both. Default [\"pair\"]."})
    group_sizes = GroupSizes(load_default=None, allow_none=True,
                             metadata={"description": "Group sizes the member is comfortable with (null: any size "
                                                      "the programme allows)."})

    @post_load
    def _trim(self, data: dict, **_) -> dict:
        """Store the narrative without the whitespace around it."""
        if "narrative" in data:
            data["narrative"] = validate_narrative(data["narrative"])
        return data


class MemberPatchSchema(MemberInSchema):
    """Any subset of the member's fields."""

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class MemberOutSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    intro = fields.String()
    role = fields.String()
    narrative = fields.String()
    languages = fields.List(fields.String())
    preferred_languages = fields.List(fields.String())
    preferred_topics = fields.List(fields.String())
    timezone = fields.String()
    availability = fields.List(fields.Nested(WindowSchema))
    capacity = fields.Integer()
    topics = fields.List(fields.String())
    status = fields.String()
    formats = fields.List(fields.String())
    group_sizes = fields.List(fields.Integer(), allow_none=True)
    needs_review = fields.Boolean()
    embedding_model = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class MemberListSchema(PageSchema):
    members = fields.List(fields.Nested(MemberOutSchema))


class PeerRefSchema(StrictSchema):
    member_id = Id(required=True)


class BlockOutSchema(Schema):
    member_id = fields.Integer()
    blocked_id = fields.Integer(attribute="other_id")
    created_at = UtcDateTime()


class DeclineOutSchema(Schema):
    member_id = fields.Integer()
    declined_id = fields.Integer(attribute="other_id")
    created_at = UtcDateTime()


class RepeatRequestSchema(StrictSchema):
    peer_id = Id(required=True, metadata={"description": "A previous peer (an ended pairing) to be paired with again."})


class RepeatRequestOutSchema(Schema):
    member_id = fields.Integer()
    peer_id = fields.Integer()
    created_at = UtcDateTime()


class ReleaseHoldSchema(ReasonSchema):
    """Why a coordinator releases a safety hold."""
