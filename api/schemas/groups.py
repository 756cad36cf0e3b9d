"""Support groups: programmes, formation runs, groups and their review, late joiners, members' view, feedback."""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from api.schemas.common import PageArgsSchema, PageSchema, StrictSchema
from api.schemas.fields import (
    MAX_GROUP_SIZE,
    MIN_GROUP_SIZE,
    MAX_ID,
    Id,
    LanguageCodes,
    StrictBoolean,
    StrictInteger,
    Text,
    TopicTags,
    UtcDateTime,
)
from matcher.states import GroupStatus

GROUP_STATUSES = tuple(GroupStatus)


class ProgrammeInSchema(StrictSchema):
    name = Text(required=True, not_blank=True, validate=validate.Length(1, 120))
    languages = LanguageCodes(required=True, metadata={"description": "Languages groups of this programme meet in."})
    min_size = StrictInteger(load_default=4, validate=validate.Range(MIN_GROUP_SIZE, MAX_GROUP_SIZE),
                             metadata={"description": "Fewest people in a group (facilitator included)."})
    max_size = StrictInteger(load_default=8, validate=validate.Range(MIN_GROUP_SIZE, MAX_GROUP_SIZE))
    meeting_minutes = StrictInteger(load_default=90, validate=validate.Range(30, 240),
                                    metadata={"description": "Length of the weekly meeting."})
    needs_facilitator = StrictBoolean(load_default=False, metadata={
        "description": "Each group needs a supporter, or a peer with free capacity, who facilitates it."})
    topics = TopicTags(load_default=list, metadata={"description": "Optional: members share at least one."})
    start_date = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _sizes(self, data: dict, **_) -> None:
        if "min_size" in data and "max_size" in data and data["min_size"] > data["max_size"]:
            raise ValidationError("The smallest group size is above the largest.", "min_size")


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
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ProgrammeListSchema(PageSchema):
    programmes = fields.List(fields.Nested(ProgrammeSchema))
