"""Request and response schemas (marshmallow); flask-smorest builds the OpenAPI document from them."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from matcher.availability import validate_timezone
from matcher.profiles import (
    DAYS,
    MAX_NARRATIVE_CHARS,
    ROLES,
    STATUSES,
    ProfileError,
    parse_hhmm,
    validate_languages,
    validate_narrative,
    validate_topics,
)
from matcher.states import PairingStatus

MAX_ID = 2**31 - 1   # ids are 32-bit integers in every supported database


class UtcDateTime(fields.DateTime):
    """A stored (naive, UTC) timestamp written with its offset, as OpenAPI's date-time requires."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _check(func, value, field: str):
    try:
        return func(value, field)
    except ProfileError as exc:
        raise ValidationError(exc.message) from exc


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class WindowSchema(StrictSchema):
    day = fields.String(required=True, validate=validate.OneOf(DAYS), metadata={"example": "mon"})
    start = fields.String(required=True, metadata={"example": "18:00", "pattern": "^[0-2][0-9]:[0-5][0-9]$"})
    end = fields.String(required=True, metadata={"example": "21:00", "pattern": "^[0-2][0-9]:[0-5][0-9]$"})

    @validates("start")
    def _start(self, value: str, **_):
        _check(parse_hhmm, value, "start")

    @validates("end")
    def _end(self, value: str, **_):
        _check(parse_hhmm, value, "end")

    @validates_schema
    def _not_empty(self, data: dict, **_):
        if data.get("start") == data.get("end"):
            raise ValidationError("A window must not be empty: start and end are the same time.", "end")


class MemberInSchema(StrictSchema):
    display_name = fields.String(required=True, validate=validate.Length(1, 80))
    intro = fields.String(load_default="", validate=validate.Length(0, 280),
                          metadata={"description": "A short line the member chose to show to peers."})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    narrative = fields.String(required=True, validate=validate.Length(1, MAX_NARRATIVE_CHARS),
                              metadata={"description": "Private: never shown to peers."})
    languages = fields.List(fields.String(), required=True, validate=validate.Length(1, 10),
                            metadata={"description": "ISO 639-1 codes, e.g. [\"en\", \"es\"]."})
    preferred_languages = fields.List(fields.String(), load_default=list, validate=validate.Length(0, 10))
    preferred_topics = fields.List(fields.String(), load_default=list, validate=validate.Length(0, 20))
    timezone = fields.String(required=True, metadata={"example": "Europe/Berlin"})
    availability = fields.List(fields.Nested(WindowSchema), required=True, validate=validate.Length(1, 28))
    capacity = fields.Integer(load_default=1, validate=validate.Range(0, 20),
                              metadata={"description": "How many active pairings this member takes."})
    topics = fields.List(fields.String(), load_default=list, validate=validate.Length(0, 20))
    status = fields.String(load_default="active", validate=validate.OneOf(STATUSES))

    @validates("narrative")
    def _narrative(self, value, **_):
        _check(validate_narrative, value, "narrative")

    @validates("languages")
    def _languages(self, value, **_):
        _check(validate_languages, value, "languages")

    @validates("preferred_languages")
    def _preferred_languages(self, value, **_):
        _check(lambda v, f: validate_languages(v, f, required=False), value, "preferred_languages")

    @validates("topics")
    def _topics(self, value, **_):
        _check(validate_topics, value, "topics")

    @validates("preferred_topics")
    def _preferred_topics(self, value, **_):
        _check(validate_topics, value, "preferred_topics")

    @validates("timezone")
    def _timezone(self, value, **_):
        _check(validate_timezone, value, "timezone")

    @post_load
    def _normalise(self, data: dict, **_) -> dict:
        """Store what the validators return: lower-cased, de-duplicated codes and tags, a trimmed narrative."""
        normalisers: dict[str, Callable[[list], tuple[str, ...]]] = {
            "languages": validate_languages, "topics": validate_topics, "preferred_topics": validate_topics,
            "preferred_languages": lambda v: validate_languages(v, required=False)}
        for key, normalise in normalisers.items():
            if key in data:
                data[key] = list(normalise(data[key]))
        if "narrative" in data:
            data["narrative"] = validate_narrative(data["narrative"])
        return data


class MemberPatchSchema(MemberInSchema):
    """Any subset of the member's fields."""

    class Meta:
        unknown = RAISE

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
    needs_review = fields.Boolean()
    embedding_model = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PageSchema(Schema):
    """Where a page of a list stands (`pagination.page_of`)."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class MemberListSchema(PageSchema):
    members = fields.List(fields.Nested(MemberOutSchema))


class PageArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class PeerRefSchema(StrictSchema):
    member_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID))


class BlockOutSchema(Schema):
    member_id = fields.Integer()
    blocked_id = fields.Integer(attribute="other_id")
    created_at = UtcDateTime()


class DeclineOutSchema(Schema):
    member_id = fields.Integer()
    declined_id = fields.Integer(attribute="other_id")
    created_at = UtcDateTime()


class SuggestArgsSchema(StrictSchema):
    k = fields.Integer(load_default=5, validate=validate.Range(1, 50))
    view = fields.String(load_default="member", validate=validate.OneOf(("member", "coordinator")),
                         metadata={"description": "'coordinator' adds the best-matching sentences."})


class OverlapWindowSchema(Schema):
    day = fields.String()
    start = fields.String()
    end = fields.String()
    minutes = fields.Integer()


class ExplanationSchema(Schema):
    similarity = fields.Float()
    availability_fit = fields.Float()
    overlap_minutes = fields.Integer()
    overlap_windows = fields.List(fields.Nested(OverlapWindowSchema),
                                  metadata={"description": "In the requesting member's local time."})
    shared_languages = fields.List(fields.String())
    shared_topics = fields.List(fields.String())
    topic_overlap = fields.Float()
    preference_fit = fields.Dict(keys=fields.String(), values=fields.Float())
    exposure = fields.Dict(keys=fields.String(), values=fields.Raw(),
                           metadata={"description": "recent_suggestions, free_capacity and the penalty."})
    components = fields.Dict(keys=fields.String(), values=fields.Float())
    matched_sentences = fields.Dict(metadata={"description": "Coordinator view only."})


class SuggestionSchema(Schema):
    member_id = fields.Integer()
    display_name = fields.String()
    intro = fields.String()
    score = fields.Float()
    explanation = fields.Nested(ExplanationSchema)


class ConfigRefSchema(Schema):
    name = fields.String()
    digest = fields.String()


class SearchSchema(Schema):
    """How the peers were found. `exact`: every member was looked at. `ann`: the `examined` members most
    similar by narrative (HNSW), a number calibrated to reach `recall_at_10` >= 0.95 against the exact
    ranking. `pgvector`: PostgreSQL listed the nearest members; `certain` is false when the ranking
    stopped at its cap of scored members before it was sure. With `ann` and `pgvector`, `filtered_out`
    and `candidates` count only the members looked at."""

    method = fields.String(metadata={"enum": ["exact", "ann", "pgvector"]})
    examined = fields.Integer(metadata={"description": "ann: members looked at"})
    recall_at_10 = fields.Float(metadata={"description": "ann: calibrated recall@10 against exact search"})
    certain = fields.Boolean(metadata={"description": "pgvector: whether the top k is certain"})
    scored = fields.Integer(metadata={"description": "pgvector: members scored"})


class SuggestionsSchema(Schema):
    member_id = fields.Integer()
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    filtered_out = fields.Dict(keys=fields.String(), values=fields.Integer())
    candidates = fields.Integer()
    config = fields.Nested(ConfigRefSchema)
    search = fields.Nested(SearchSchema)


class FieldErrorSchema(Schema):
    field = fields.String(allow_none=True)
    message = fields.String()


class ErrorSchema(Schema):
    """Every error the API answers: a code, a sentence, the field at fault, and every field error."""

    error = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    field = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))


# --- rounds and pairings -------------------------------------------------------------------

PAIRING_STATUSES = tuple(PairingStatus)


class RoundInSchema(StrictSchema):
    seeker_ids = fields.List(fields.Integer(validate=validate.Range(1, MAX_ID)), load_default=None,
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
    reason = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PairingListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PAIRING_STATUSES))
    round_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class PairingListSchema(PageSchema):
    pairings = fields.List(fields.Nested(PairingSchema))


class EmptySchema(StrictSchema):
    """No fields."""


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 1000),
                           metadata={"description": "Why; kept in the audit trail."})

    @validates("reason")
    def _not_blank(self, value: str, **_kwargs) -> None:
        if not value.strip():
            raise ValidationError("Give a reason; it is kept in the pairing's history.")


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
    member_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID),
                               metadata={"description": "The member giving feedback: one of the pair."})
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    would_continue = fields.Boolean(required=True)
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 2000))


class FeedbackOutSchema(Schema):
    id = fields.Integer()
    pairing_id = fields.Integer()
    member_id = fields.Integer()
    rating = fields.Integer()
    would_continue = fields.Boolean()
    created_at = UtcDateTime()


class RepeatRequestSchema(StrictSchema):
    peer_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID),
                             metadata={"description": "A previous peer (an ended pairing) to be paired with again."})


class RepeatRequestOutSchema(Schema):
    member_id = fields.Integer()
    peer_id = fields.Integer()
    created_at = UtcDateTime()


class ReleaseHoldSchema(ReasonSchema):
    """Why a coordinator releases a safety hold."""
