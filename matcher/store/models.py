"""The tables, as typed SQLAlchemy models (states and kinds are stored as their `matcher.states` strings)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from matcher.states import (
    Consent,
    DeliveryStatus,
    GroupRole,
    GroupStatus,
    MemberFormat,
    MemberStatus,
    OfferStatus,
    PairingKind,
    PairingStatus,
)


def utcnow() -> datetime:
    """Now, in UTC, without a zone (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class MemberRow(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    intro: Mapped[str] = mapped_column(String(280), default="")
    role: Mapped[str] = mapped_column(String(16))
    narrative: Mapped[str | None] = mapped_column(Text)
    narrative_hash: Mapped[str | None] = mapped_column(String(64))
    topics: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    preferred_languages: Mapped[list] = mapped_column(JSON, default=list)
    preferred_topics: Mapped[list] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64))
    availability: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str | None] = mapped_column(String(64))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedding_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_key: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    revision: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    formats: Mapped[list] = mapped_column(JSON, default=lambda: [MemberFormat.PAIR])   # pair and/or group
    group_sizes: Mapped[list | None] = mapped_column(JSON)   # group sizes the member is comfortable with; None: any
    # goes up with every ORM update: a write that read an older version fails (StaleDataError), never overwrites
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Exclusion(Base):
    """A member blocked another, or declined them as a suggested peer: the two are never suggested or paired."""

    __tablename__ = "exclusions"
    __table_args__ = (UniqueConstraint("member_id", "other_id", "kind", name="uq_exclusions_member_other_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SuggestionEvent(Base):
    """One appearance of a member in someone's suggestions (drives exposure spreading)."""

    __tablename__ = "suggestion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    suggested_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    config_digest: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class PairingRound(Base):
    """One run of the cohort pairing: who ran it, with which config, and who was left unmatched."""

    __tablename__ = "pairing_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    solver: Mapped[str] = mapped_column(String(16), default="flow")
    config_digest: Mapped[str] = mapped_column(String(16), default="")
    unmatched: Mapped[list] = mapped_column(JSON, default=list)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Pairing(Base):
    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("pairing_rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=PairingKind.SUPPORT)
    seeker_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PairingStatus.PROPOSED, index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    config_digest: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # mutual consent (migration 0006): the invitation, each side's acceptance, and who declined
    invited_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    seeker_accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    supporter_accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    declined_by: Mapped[int | None] = mapped_column(Integer)

    @property
    def member_ids(self) -> tuple[int, int]:
        return self.seeker_id, self.supporter_id


class AuditEvent(Base):
    """Append-only: who did what, when and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("support_groups.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Feedback(Base):
    """One member's rating of a pairing they are in (for analysts)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("pairing_id", "member_id", name="uq_feedback_member"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    would_continue: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RepeatRequest(Base):
    """A member asks to be paired again with a previous peer (honoured by rounds when feasible)."""

    __tablename__ = "repeat_requests"
    __table_args__ = (UniqueConstraint("member_id", name="uq_repeat_member"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class IndexVersion(Base):
    """One row whose counter goes up with every change the in-process index must see."""

    __tablename__ = "index_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class PageSession(Base):
    """A coordinator's login to the pages: the cookie holds only a random token; its hash is stored here.

    Logging out, revoking the key, idling past the idle limit or outliving the absolute limit ends it.
    """

    __tablename__ = "page_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_because: Mapped[str | None] = mapped_column(String(16))


class GroupProgramme(Base):
    """A coordinator's programme of support groups: who may join (languages, topics) and how groups meet."""

    __tablename__ = "group_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    languages: Mapped[list] = mapped_column(JSON, default=list)
    min_size: Mapped[int] = mapped_column(Integer, default=4)
    max_size: Mapped[int] = mapped_column(Integer, default=8)
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=90)   # one meeting a week
    needs_facilitator: Mapped[bool] = mapped_column(Boolean, default=False)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None] = mapped_column(Date)
    # migration 0010: how the programme asks for consent (programmes from before it keep `coordinator`)
    consent: Mapped[str] = mapped_column(String(16), default=Consent.MUTUAL)
    invitation_days: Mapped[int] = mapped_column(Integer, default=7)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GroupFormation(Base):
    """One formation run of a programme: who ran it, the objective, and who was left out and why."""

    __tablename__ = "group_formations"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("group_programmes.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    objective: Mapped[float] = mapped_column(Float, default=0.0)
    left_out: Mapped[list] = mapped_column(JSON, default=list)   # [{"member_id", "reason"}]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SupportGroup(Base):
    """A group of one programme (proposed, approved, rejected or ended), meeting weekly in one slot and language."""

    __tablename__ = "support_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("group_programmes.id"), index=True)
    formation_id: Mapped[int | None] = mapped_column(ForeignKey("group_formations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.PROPOSED, index=True)
    language: Mapped[str] = mapped_column(String(8))
    slot: Mapped[dict] = mapped_column(JSON)   # `matcher.groups.WeeklySlot.to_dict()`: day and time in an anchor zone
    score: Mapped[float] = mapped_column(Float, default=0.0)
    score_parts: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GroupMembership(Base):
    """A member's place in a group; `left_at` closes it (moved, removed, declined, expired), the row stays.

    With mutual consent (migration 0010) the place carries its invitation: `invitation` is invited,
    accepted, declined or expired (None: placed without one), with when it was sent, when it runs out
    and when it was answered; a decline's reason, if the member gave one, is the place's `reason`.
    """

    __tablename__ = "group_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("support_groups.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=GroupRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    invitation: Mapped[str | None] = mapped_column(String(16))
    invited_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)


class GroupFeedback(Base):
    """One member's rating of a group they are or were in (for analysts and weight learning)."""

    __tablename__ = "group_feedback"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_group_feedback_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("support_groups.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    would_continue: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProgrammeSetting(Base):
    """How pairs ask for consent and how long invitations last; the `groups` row is what new group
    programmes start with (each programme then keeps its own, `GroupProgramme.consent`)."""

    __tablename__ = "programme_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(64), unique=True)
    consent: Mapped[str] = mapped_column(String(16), default=Consent.MUTUAL)
    invitation_days: Mapped[int] = mapped_column(Integer, default=7)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SupportOffer(Base):
    """A member who was helped offers to help others; a coordinator accepts or declines it."""

    __tablename__ = "support_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.PENDING, index=True)
    role: Mapped[str | None] = mapped_column(String(16))           # what an accepted offer made the member
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebhookEndpoint(Base):
    """Where an onboarding client (an API key) wants to hear about its members' events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))   # whsec_...: signing needs the secret itself, not a hash
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxEvent(Base):
    """An event, written in the same transaction as the change it reports (a transactional outbox)."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    member_ids: Mapped[list] = mapped_column(JSON, default=list)   # whose clients may hear of it
    data: Mapped[dict] = mapped_column(JSON, default=dict)         # ids and states only, never words
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: a stable webhook-id, retried until a 2xx or the window ends."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime)   # the last replay; its retry window starts there

    @property
    def window_start(self) -> datetime:
        """When the retry window started: the last replay, else when the delivery was queued."""
        return self.replayed_at or self.created_at


class WebhookAttempt(Base):
    """One try at sending a delivery: when, the receiver's status code or the error, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    milliseconds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StagedEmbedding(Base):
    """A member's vector from a model the community is moving to (`peermatch embed --model`), kept apart
    from `MemberRow.embedding` until every member has one, then switched in one transaction."""

    __tablename__ = "staged_embeddings"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
