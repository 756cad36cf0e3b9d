"""What every endpoint shares: strict bodies, pages of lists, errors, reasons."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from api.schemas.fields import Text


class StrictSchema(Schema):
    """A request body or query: unknown fields are refused, never ignored."""

    class Meta:
        unknown = RAISE


class EmptySchema(StrictSchema):
    """No fields."""


class PageSchema(Schema):
    """Where a page of a list stands (`pagination.page_of`)."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class PageArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class FieldErrorSchema(Schema):
    field = fields.String(allow_none=True)
    message = fields.String()


class ErrorSchema(Schema):
    """Every error the API answers: a code, a sentence, the field at fault, and every field error."""

    error = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    field = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))


class ReasonSchema(StrictSchema):
    reason = Text(required=True, multiline=True, not_blank=True, validate=validate.Length(1, 1000),
                  metadata={"description": "Why; kept in the audit trail."})
