"""Suggestions: peers for one member, each explained, and how they were found."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import StrictSchema


class SuggestArgsSchema(StrictSchema):
    k = fields.Integer(load_default=5, validate=validate.Range(1, 50))
    view = fields.String(load_default="member", validate=validate.OneOf(("member", "coordinator")),
                         metadata={"description": "'coordinator' adds the best-matching sentences."})
    explain = fields.String(validate=validate.OneOf(("counts",)),
                            metadata={"description": "'counts': count `filtered_out` exactly over every member "
                                                     "(pgvector otherwise estimates them from a sample)."})


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
    stopped at its cap of scored members before it was sure. With `ann`, `filtered_out` and `candidates`
    count only the members looked at; with `pgvector`, `filtered_out` is estimated from a sample of
    every member (`counts`: `estimated`) unless `explain=counts` asks for an exact count, and
    `candidates` counts the members scored."""

    method = fields.String(metadata={"enum": ["exact", "ann", "pgvector"]})
    examined = fields.Integer(metadata={"description": "ann: members looked at"})
    recall_at_10 = fields.Float(metadata={"description": "ann: calibrated recall@10 against exact search"})
    certain = fields.Boolean(metadata={"description": "pgvector: whether the top k is certain"})
    scored = fields.Integer(metadata={"description": "pgvector: members scored"})
    scan = fields.String(metadata={"enum": ["hnsw", "exact", "hnsw+exact"],
                                   "description": "pgvector: HNSW iterative scan (nearest first), an exact scan "
                                                  "(every eligible member, best score bound first), or HNSW "
                                                  "first and then an exact scan (HNSW listed too few)"})
    counts = fields.String(metadata={"enum": ["exact", "estimated"],
                                     "description": "pgvector: whether `filtered_out` was counted or estimated"})


class SuggestionsSchema(Schema):
    member_id = fields.Integer()
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    filtered_out = fields.Dict(keys=fields.String(), values=fields.Integer())
    candidates = fields.Integer()
    config = fields.Nested(ConfigRefSchema)
    search = fields.Nested(SearchSchema)
    model = fields.String(metadata={"description": "The embedding model whose vectors ranked these peers "
                                                   "(e.g. all-mpnet-base-v2); one model per ranking."})
