"""Support groups: programmes, formation runs, groups and their review, late joiners, members' view, feedback."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageArgsSchema, PageSchema, StrictSchema
from api.schemas.fields import (
    MAX_GROUP_SIZE,
    MIN_GROUP_SIZE,
    Id,
    LanguageCodes,
    StrictBoolean,
    StrictInteger,
    Text,
    TopicTags,
    UtcDateTime,
)
from api.schemas.pairings import AuditEventSchema
from matcher.service.consent import MAX_INVITATION_DAYS
from matcher.states import Consent, GroupStatus, InvitationStatus

GROUP_STATUSES = tuple(GroupStatus)


class ProgrammeInSchema(StrictSchema):
    name = Text(required=True, not_blank=True, validate=validate.Length(1, 120))
    languages = LanguageCodes(required=True, metadata={"description": "Languages groups of this programme meet in."})
    min_size = StrictInteger(load_default=4, validate=validate.Range(MIN_GROUP_SIZE, MAX_GROUP_SIZE),
                             metadata={"description": "Fewest people in a group (facilitator included); above "
                                                      "max_size is refused with 409."})
    max_size = StrictInteger(load_default=8, validate=validate.Range(MIN_GROUP_SIZE, MAX_GROUP_SIZE))
    meeting_minutes = StrictInteger(load_default=90, validate=validate.Range(30, 240),
                                    metadata={"description": "Length of the weekly meeting."})
    needs_facilitator = StrictBoolean(load_default=False, metadata={
        "description": "Each group needs a supporter, or a peer with free capacity, who facilitates it."})
    topics = TopicTags(load_default=list, metadata={"description": "Optional: members share at least one."})
    start_date = fields.Date(load_default=None, allow_none=True)
    consent = fields.String(load_default=None, validate=validate.OneOf(tuple(Consent)), metadata={
        "description": "coordinator: approval starts a group; mutual: each member accepts or declines, and the "
                       "group starts once enough accepted. Default: the installation's default for new "
                       "programmes (GET /api/v1/consent)."})
    invitation_days = StrictInteger(load_default=None, validate=validate.Range(1, MAX_INVITATION_DAYS), metadata={
        "description": "Days a member has to answer a group invitation (mutual consent). Default: as consent."})


class ProgrammePatchSchema(ProgrammeInSchema):
    """Any subset of the programme's fields."""

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class ProgrammeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    languages = fields.List(fields.String())
    min_size = fields.Integer()
    max_size = fields.Integer()
    meeting_minutes = fields.Integer()
    needs_facilitator = fields.Boolean()
    topics = fields.List(fields.String())
    start_date = fields.Date(allow_none=True)
    consent = fields.String(metadata={"description": "coordinator or mutual"})
    invitation_days = fields.Integer()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ProgrammeListSchema(PageSchema):
    programmes = fields.List(fields.Nested(ProgrammeSchema))


class SlotSchema(Schema):
    """A weekly meeting time on one zone's clock."""

    timezone = fields.String()
    day = fields.String()
    start = fields.String(metadata={"example": "18:30"})
    end = fields.String(metadata={"example": "20:00"})
    minutes = fields.Integer()


class StoredSlotSchema(SlotSchema):
    """The group's slot in its anchor zone (the zone most of its members live in), and where it falls in UTC."""

    utc = fields.Nested(SlotSchema)


class GroupMemberSchema(Schema):
    member_id = fields.Integer()
    display_name = fields.String()
    role = fields.String(metadata={"description": "member or facilitator"})
    joined_at = UtcDateTime()
    invitation = fields.String(allow_none=True, metadata={
        "description": "Mutual consent: invited or accepted (null: placed without an invitation)."})
    expires_at = UtcDateTime(allow_none=True)
    answered_at = UtcDateTime(allow_none=True)


class GroupAcceptSchema(StrictSchema):
    member_id = Id(required=True, metadata={"description": "The member answering: invited to the group, signed up "
                                                           "through the calling onboarding client."})


class GroupDeclineSchema(GroupAcceptSchema):
    reason = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(0, 1000),
                  metadata={"description": "Optional; shown to coordinators, never sent to anyone else."})


class InvitationAnswerSchema(Schema):
    """A place's invitation, as the member's own client sees it: states and times, never others' answers."""

    group_id = fields.Integer()
    member_id = fields.Integer()
    role = fields.String()
    invitation = fields.String(metadata={"description": ", ".join(InvitationStatus)})
    invited_at = UtcDateTime(allow_none=True)
    expires_at = UtcDateTime(allow_none=True)
    answered_at = UtcDateTime(allow_none=True)
    group_status = fields.String(metadata={"description": "invited until enough accepted, then approved."})


class ClosedInvitationSchema(Schema):
    """An invitation that closed without a place: who declined (and why) or let it expire (coordinators)."""

    member_id = fields.Integer()
    display_name = fields.String()
    role = fields.String()
    invitation = fields.String(metadata={"description": "declined or expired"})
    answered_at = UtcDateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "The member's reason for declining, if given."})


class GroupSchema(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    formation_id = fields.Integer(allow_none=True)
    status = fields.String()
    language = fields.String()
    slot = fields.Nested(StoredSlotSchema)
    score = fields.Float(metadata={"description": "Mean similarity of the members' narratives, pair by pair."})
    score_parts = fields.Dict()
    reason = fields.String(allow_none=True)
    facilitator_id = fields.Integer(allow_none=True)
    members = fields.List(fields.Nested(GroupMemberSchema))
    closed_invitations = fields.List(fields.Nested(ClosedInvitationSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ViolationSchema(Schema):
    rule = fields.String()
    member_ids = fields.List(fields.Integer())
    message = fields.String()


class GroupChangeSchema(Schema):
    group = fields.Nested(GroupSchema)
    warnings = fields.List(fields.Nested(ViolationSchema),
                           metadata={"description": "What the group now lacks (it cannot be approved until fixed)."})


class GroupListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(GROUP_STATUSES))


class GroupListSchema(PageSchema):
    groups = fields.List(fields.Nested(GroupSchema))


class LeftOutSchema(Schema):
    member_id = fields.Integer()
    reason = fields.String()


class FormationOutSchema(Schema):
    formation_id = fields.Integer()
    programme_id = fields.Integer()
    objective = fields.Float(metadata={"description": "Total within-group pairwise similarity."})
    seconds = fields.Float()
    groups = fields.List(fields.Nested(GroupSchema))
    left_out = fields.List(fields.Nested(LeftOutSchema))


class AddMemberSchema(StrictSchema):
    member_id = Id(required=True)
    role = fields.String(load_default="member", validate=validate.OneOf(("member", "facilitator")))


class MoveMemberSchema(StrictSchema):
    to_group_id = Id(required=True, allow_none=True,
                     metadata={"description": "A proposed group of the same programme, or null to take them out."})
    reason = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(1, 1000))


class GroupFeedbackInSchema(StrictSchema):
    member_id = Id(required=True, metadata={"description": "The member giving feedback: one of the group."})
    rating = StrictInteger(required=True, validate=validate.Range(1, 5))
    would_continue = StrictBoolean(required=True)
    comment = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(0, 2000))


class GroupFeedbackOutSchema(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    rating = fields.Integer()
    would_continue = fields.Boolean()
    created_at = UtcDateTime()


class GroupHistorySchema(Schema):
    group_id = fields.Integer()
    events = fields.List(fields.Nested(AuditEventSchema))


class GroupSuggestionArgsSchema(StrictSchema):
    k = fields.Integer(load_default=10, validate=validate.Range(1, 50))


class GroupSuggestionSchema(Schema):
    group_id = fields.Integer()
    programme_id = fields.Integer()
    programme = fields.String()
    score = fields.Float()
    explanation = fields.Dict(metadata={"description": "similarity, language, the slot in the member's own zone, "
                                                       "size after joining, shared topics."})


class GroupSuggestionsSchema(Schema):
    member_id = fields.Integer()
    suggestions = fields.List(fields.Nested(GroupSuggestionSchema))


class FellowMemberSchema(Schema):
    """Another member of the group as a member sees them: name and intro only, never their narrative."""

    display_name = fields.String()
    intro = fields.String()
    role = fields.String()
    you = fields.Boolean()


class MemberGroupSchema(Schema):
    id = fields.Integer()
    programme = fields.String()
    status = fields.String()
    language = fields.String()
    slot = fields.Nested(SlotSchema, metadata={"description": "In the member's own time zone."})
    members = fields.List(fields.Nested(FellowMemberSchema))
    invitation = fields.String(allow_none=True, metadata={
        "description": "The member's own invitation: invited (answer before expires_at) or accepted; null: placed "
                       "without one."})
    expires_at = UtcDateTime(allow_none=True)


class MemberGroupsSchema(Schema):
    member_id = fields.Integer()
    groups = fields.List(fields.Nested(MemberGroupSchema))
