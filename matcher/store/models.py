"""The tables, as typed SQLAlchemy models (states and kinds are stored as their `matcher.states` strings)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from matcher.states import MemberStatus, PairingKind, PairingStatus


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


class StagedEmbedding(Base):
    """A member's vector from a model the community is moving to (`peermatch embed --model`), kept apart
    from `MemberRow.embedding` until every member has one, then switched in one transaction."""

    __tablename__ = "staged_embeddings"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
