"""How the community is doing (`GET /api/v1/stats`): counts and durations, never names or narratives."""
from __future__ import annotations

from marshmallow import Schema, fields


class WeekRatingSchema(Schema):
    week = fields.String(metadata={"description": "The Monday the ISO week starts on (YYYY-MM-DD)."})
    mean = fields.Float()
    count = fields.Integer()


class StatsSchema(Schema):
    waiting_by_role = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Active members not held for review and in no active pairing, by role."})
    waiting_by_language = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "The same members, counted once for each language they speak."})
    proposals_waiting = fields.Integer(metadata={"description": "Proposals awaiting a coordinator's decision."})
    proposal_age_hours = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), metadata={
        "description": "How long those proposals have waited: median and oldest, in hours."})
    active_pairings = fields.Integer()
    pairings_awaiting_consent = fields.Integer(metadata={
        "description": "Pairings a coordinator approved that wait for both members to accept (mutual consent)."})
    active_groups = fields.Integer(metadata={"description": "Support groups approved and meeting."})
    groups_awaiting_review = fields.Integer(metadata={"description": "Proposed support groups awaiting a decision."})
    groups_awaiting_consent = fields.Integer(metadata={
        "description": "Support groups a coordinator approved that wait for enough members to accept."})
    supporter_places = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Places of supporters and peers: in use and in all."})
    supporter_load = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Supporters and peers by how full they are."})
    days_to_first_pairing = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), metadata={
        "description": "From sign-up to the first approved pairing: members counted, median and 90th percentile."})
    ratings_by_week = fields.List(fields.Nested(WeekRatingSchema))
