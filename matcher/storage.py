"""The one matcher module that imports SQLAlchemy: typed models and data functions.

Every function receives a session; the caller (a request, a CLI command, a notebook's
``with Session(engine) as s:``) owns it and commits.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from weakref import WeakKeyDictionary

import numpy as np
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, LargeBinary, MetaData, Select, String, Table,
    Text, UniqueConstraint, and_, bindparam, create_engine, delete, event, false, func, inspect, not_, or_, select,
    text, update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import UserDefinedType

from matcher.embedding import Embedder, text_hash
from matcher.index import MemberIndex
from matcher.profiles import ROLES, Member, Window, roles_compatible
from matcher.text_scoring import service_vectors

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///instance/peermatch.sqlite3"
API_ROLES = ("onboarding", "coordinator", "analyst", "admin")
ACTIVE_PAIRING_STATUSES = ("approved",)
RESERVING_PAIRING_STATUSES = ("proposed", "approved")   # hold a place until a coordinator decides
PAIRING_TRANSITIONS = {"approve": ("proposed", "approved"), "reject": ("proposed", "rejected"),
                       "end": ("approved", "ended")}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
    status: Mapped[str] = mapped_column(String(16), default="active")
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


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("member_id", "blocked_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Decline(Base):
    """A member said no to a suggested peer; that peer is not suggested to them again."""

    __tablename__ = "declines"
    __table_args__ = (UniqueConstraint("member_id", "declined_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    declined_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
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
    kind: Mapped[str] = mapped_column(String(16), default="support")
    seeker_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    config_digest: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


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


# --- engine and schema ---------------------------------------------------------------------

def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on and a busy timeout.

    Statement parameters are kept out of SQL logs and error messages (``hide_parameters``): they
    carry members' own words.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # noqa: ANN001
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def create_schema(engine: Engine) -> None:
    """Apply the migrations this code needs (a quick no-op when they are in) and make the counter row.

    A database made before migrations existed (by ``create_all``, so without ``alembic_version``)
    gets its missing tables, is stamped as the first revision and then upgraded.
    """
    config = migration_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if _schema_revision(conn) == head and conn.scalar(select(IndexVersion.id)) is not None:
            return
    with schema_transaction(engine) as conn:
        config.attributes["connection"] = conn
        if _schema_revision(conn) is None and inspect(conn).has_table(MemberRow.__tablename__):
            _adopt_unversioned(conn, config)
        command.upgrade(config, "head")
        if conn.scalar(select(IndexVersion.id)) is None:
            conn.execute(IndexVersion.__table__.insert().values(id=1, version=0))
    _vector_dimension.pop(engine, None)


# --- members -------------------------------------------------------------------------------

def bump_version(session: Session) -> int:
    """Increase the index version inside the caller's transaction and return the new value."""
    session.execute(update(IndexVersion).where(IndexVersion.id == 1).values(version=IndexVersion.version + 1))
    return session.scalar(select(IndexVersion.version).where(IndexVersion.id == 1))


def current_version(session: Session) -> int:
    return session.scalar(select(IndexVersion.version).where(IndexVersion.id == 1)) or 0


def touch(session: Session, *rows: MemberRow) -> None:
    """Mark members changed so every worker's index picks them up."""
    version = bump_version(session)
    for row in rows:
        row.revision = version


def active_pairing_counts(session: Session, member_ids: list[int] | None = None,
                          statuses: tuple[str, ...] = RESERVING_PAIRING_STATUSES,
                          exclude_pairing: int | None = None) -> dict[int, int]:
    """Pairings per member in `statuses` (by default approved or awaiting review), both sides."""
    counts: dict[int, int] = {}
    for column in (Pairing.seeker_id, Pairing.supporter_id):
        stmt = select(column, func.count()).where(Pairing.status.in_(statuses)).group_by(column)
        if exclude_pairing is not None:
            stmt = stmt.where(Pairing.id != exclude_pairing)
        if member_ids is not None:
            stmt = stmt.where(column.in_(member_ids))
        for member_id, n in session.execute(stmt):
            counts[member_id] = counts.get(member_id, 0) + n
    return counts


def to_profile(row: MemberRow, active_pairings: int = 0) -> Member:
    """The matcher's plain view of a stored member."""
    return Member(
        id=row.id, role=row.role, narrative=row.narrative or "", languages=tuple(row.languages),
        timezone=row.timezone, availability=tuple(Window.parse(w) for w in row.availability),
        capacity=row.capacity, topics=tuple(row.topics), status=row.status,
        display_name=row.display_name or "", intro=row.intro or "",
        preferred_languages=tuple(row.preferred_languages or ()),
        preferred_topics=tuple(row.preferred_topics or ()),
        active_pairings=active_pairings, needs_review=row.needs_review,
        extra={"theme": row.theme},
    )


def embedding_of(row: MemberRow) -> np.ndarray | None:
    """The vector the service compares for this member (`text_scoring.service_vectors` of the stored one)."""
    raw = raw_embedding_of(row)
    return None if raw is None else service_vectors(raw, row.embedding_model)[0]


def raw_embedding_of(row: MemberRow) -> np.ndarray | None:
    """The model's own vector, as stored."""
    return None if row.embedding is None else np.frombuffer(row.embedding, dtype=np.float32)


def is_stale(row: MemberRow, model_id: str) -> bool:
    """True when the stored vector is missing or was made from other text or by another model."""
    return (row.narrative is not None and row.deleted_at is None
            and (row.embedding is None or row.embedding_model != model_id
                 or row.embedding_hash != text_hash(row.narrative)))


def stale_members(session: Session, model_id: str) -> list[MemberRow]:
    rows = session.scalars(select(MemberRow).where(MemberRow.deleted_at.is_(None)).order_by(MemberRow.id))
    return [row for row in rows if is_stale(row, model_id)]


def embed_rows(rows: list[MemberRow], embedder: Embedder, progress: bool = False) -> int:
    """Store fresh embeddings on `rows` in batches; returns how many were written."""
    if not rows:
        return 0
    vectors = embedder.encode([row.narrative for row in rows], progress=progress)
    for row, vector in zip(rows, vectors):
        row.embedding = vector.astype(np.float32).tobytes()
        row.embedding_model = embedder.model_id
        row.embedding_hash = text_hash(row.narrative)
    return len(rows)


def _plain_members() -> Select:
    """Every members column, read as plain rows (attribute names as on `MemberRow`, no identity map)."""
    return select(*MemberRow.__table__.columns)


def member_batches(session: Session, since_revision: int | None = None, batch: int = 5000) -> Iterator[list]:
    """Members changed after `since_revision` (all when None), `batch` plain rows at a time.

    The rows are read-only tuples with the same attribute names as `MemberRow`, outside the
    session's identity map, so a full load of a million members never holds them all at once.
    """
    stmt = _plain_members().order_by(MemberRow.id).execution_options(yield_per=batch)
    if since_revision is not None:
        stmt = stmt.where(MemberRow.revision > since_revision)
    yield from session.execute(stmt).partitions()


def rows_with_vectors(session: Session, member_ids: list[int]) -> list[tuple]:
    """(plain row, service vector) of the live members among `member_ids`, vectors adapted in one pass."""
    rows = session.execute(_plain_members().where(
        MemberRow.id.in_(member_ids), MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))).all()
    return list(zip(rows, _service_vectors_of(rows)))


def first_embedding(session: Session) -> np.ndarray | None:
    """The service vector of one stored member (to learn its size), or None when no member has one."""
    row = session.scalars(select(MemberRow).where(MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))
                          .limit(1)).first()
    return None if row is None else embedding_of(row)


def sync_index(session: Session, index: MemberIndex, since_revision: int | None = None, batch: int = 5000) -> int:
    """Bring `index` up to date with members changed after `since_revision` (all when None); returns how many.

    Members are read `batch` plain rows at a time, and a full load sizes the index's arrays once.
    """
    everyone = since_revision is None
    if everyone:
        index.reserve(session.scalar(select(func.count()).select_from(MemberRow)) or 0)
        counts = active_pairing_counts(session)
    changed = 0
    for rows in member_batches(session, since_revision, batch):
        if not everyone:
            counts = active_pairing_counts(session, [r.id for r in rows])
        keep = [row for row in rows if row.deleted_at is None and row.embedding is not None]
        for row in rows:
            if row.deleted_at is not None or row.embedding is None:
                index.remove(row.id)
        if keep:
            profiles = [to_profile(row, counts.get(row.id, 0)) for row in keep]
            index.upsert_many(profiles, np.stack(_service_vectors_of(keep)))
        changed += len(rows)
    return changed


def _service_vectors_of(rows: list) -> list[np.ndarray]:
    """`embedding_of` for many rows at once: one adapter pass per model and size, not one per row."""
    out: list[np.ndarray | None] = [None] * len(rows)
    groups: dict[tuple[str | None, int], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.embedding_model, len(row.embedding)), []).append(i)
    for (model_id, _), positions in groups.items():
        raw = np.stack([raw_embedding_of(rows[i]) for i in positions])
        for i, vector in zip(positions, service_vectors(raw, model_id)):
            out[i] = vector
    return out


# --- exclusions and exposure ---------------------------------------------------------------

def blocked_ids(session: Session, member_id: int) -> set[int]:
    """Members blocked by `member_id` or who blocked them."""
    rows = session.execute(select(Block.member_id, Block.blocked_id).where(
        or_(Block.member_id == member_id, Block.blocked_id == member_id)))
    return {b if a == member_id else a for a, b in rows}


def declined_ids(session: Session, member_id: int) -> set[int]:
    """Peers declined by either side, and pairs a coordinator rejected or ended."""
    out: set[int] = set()
    for a, b in session.execute(select(Decline.member_id, Decline.declined_id).where(
            or_(Decline.member_id == member_id, Decline.declined_id == member_id))):
        out.add(b if a == member_id else a)
    for a, b in session.execute(select(Pairing.seeker_id, Pairing.supporter_id).where(
            Pairing.status.in_(("rejected", "ended")),
            or_(Pairing.seeker_id == member_id, Pairing.supporter_id == member_id))):
        out.add(b if a == member_id else a)
    return out


def recent_exposure(session: Session, hours: int, member_ids: list[int] | None = None) -> dict[int, int]:
    """How often each member (or each of `member_ids`) appeared in suggestions during the last `hours`.

    Ranking asks only for the few candidates near its top: a query by `suggested_id` reads their
    events, where counting everyone reads every suggestion of the window (it grows with traffic).
    """
    since = utcnow() - timedelta(hours=hours)
    stmt = (select(SuggestionEvent.suggested_id, func.count()).where(SuggestionEvent.created_at >= since)
            .group_by(SuggestionEvent.suggested_id))
    if member_ids is not None:
        stmt = stmt.where(SuggestionEvent.suggested_id.in_(member_ids))
    return dict(session.execute(stmt).all())


def record_suggestions(session: Session, requester_id: int, suggested: list[int], digest: str) -> None:
    session.add_all(SuggestionEvent(requester_id=requester_id, suggested_id=i, config_digest=digest)
                    for i in suggested)


# --- pairings -------------------------------------------------------------------------------

def round_constraints(session: Session) -> tuple[set[frozenset[int]], dict[int, set[int]], dict[int, int]]:
    """What a pairing round must respect: excluded pairs, blocks/declines, and repeat requests.

    Rejected and ended pairs are excluded, except an ended pair one of its members asked to repeat.
    """
    repeats = {m: p for m, p in session.execute(select(RepeatRequest.member_id, RepeatRequest.peer_id))}
    wanted = {frozenset(pair) for pair in repeats.items()}
    excluded: set[frozenset[int]] = set()
    for a, b, status in session.execute(select(Pairing.seeker_id, Pairing.supporter_id, Pairing.status)
                                        .where(Pairing.status.in_(("rejected", "ended")))):
        pair = frozenset((a, b))
        if status == "rejected" or pair not in wanted:
            excluded.add(pair)
    blocked: dict[int, set[int]] = {}
    for model, other in ((Block, Block.blocked_id), (Decline, Decline.declined_id)):
        for a, b in session.execute(select(model.member_id, other)):
            blocked.setdefault(a, set()).add(b)
    return excluded, blocked, repeats


def lock_for_pairing(session: Session, member_ids: list[int]) -> dict[int, MemberRow]:
    """Start a write transaction that holds these members until commit, and return them fresh.

    Capacity checks run after this, so two coordinators approving pairs of one supporter at
    once are serialised by the database: PostgreSQL locks the member rows (SELECT ... FOR
    UPDATE, in id order so two lockers never deadlock); SQLite takes its single write lock at
    the start of the transaction (BEGIN IMMEDIATE), which also makes every read after it fresh.
    """
    stmt = select(MemberRow).where(MemberRow.id.in_(sorted(set(member_ids)))).order_by(MemberRow.id)
    if not _begin_write(session):
        stmt = stmt.with_for_update()
    rows = session.scalars(stmt.execution_options(populate_existing=True)).all()
    return {row.id: row for row in rows}


def lock_rounds(session: Session) -> None:
    """Let one pairing round at a time write proposals (a transaction-scoped lock)."""
    if not _begin_write(session):
        session.execute(text("SELECT pg_advisory_xact_lock(72616)"))


def _begin_write(session: Session) -> bool:
    """End the session's transaction and start a fresh one; on SQLite take the write lock now (True).

    SQLite has one writer at a time: BEGIN IMMEDIATE waits for it up front, so every read after it
    is fresh. Other databases return False and lock what they need themselves.
    """
    session.rollback()
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.execute(text("BEGIN IMMEDIATE"))
    return True


def blocked_or_declined(session: Session, a: int, b: int) -> bool:
    """Whether either of the two members has blocked or declined the other."""
    for model, other in ((Block, Block.blocked_id), (Decline, Decline.declined_id)):
        hit = session.scalar(select(model.id).where(((model.member_id == a) & (other == b))
                                                    | ((model.member_id == b) & (other == a))).limit(1))
        if hit is not None:
            return True
    return False


def audit(session: Session, actor: str, action: str, *, pairing_id: int | None = None,
          member_id: int | None = None, reason: str | None = None, detail: dict | None = None) -> AuditEvent:
    """Append one audit event (rows are only ever added; erasure blanks their free text)."""
    event_row = AuditEvent(actor=actor, action=action, pairing_id=pairing_id, member_id=member_id,
                           reason=reason, detail=detail or {})
    session.add(event_row)
    return event_row


def pairing_history(session: Session, pairing_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.pairing_id == pairing_id)
                                .order_by(AuditEvent.id)))


# --- API keys ------------------------------------------------------------------------------

def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, role: str, name: str) -> tuple[ApiKey, str]:
    """A new key row and the key itself (shown once; only its hash is stored)."""
    if role not in API_ROLES:
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(API_ROLES)}.")
    plaintext = "pm_" + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, key_hash=hash_key(plaintext))
    session.add(row)
    session.flush()
    return row, plaintext


def find_api_key(session: Session, plaintext: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext),
                                               ApiKey.revoked_at.is_(None)))


# --- erasure -------------------------------------------------------------------------------

def erase_member(session: Session, row: MemberRow) -> None:
    """Delete means delete: wipe what identifies the member and anonymise what refers to them.

    Narrative, name, intro, topics, languages, availability and embedding are erased; blocks,
    declines, repeat requests and suggestion events go; pairings keep only ids and scores
    (explanations and reasons are dropped, open ones are ended); feedback on those pairings loses
    its comments; audit events about them lose their free text.
    """
    for column, value in (("narrative", None), ("narrative_hash", None), ("display_name", None),
                          ("intro", ""), ("topics", []), ("languages", []), ("preferred_languages", []),
                          ("preferred_topics", []), ("availability", []), ("timezone", "UTC"),
                          ("embedding", None), ("embedding_hash", None), ("embedding_model", None),
                          ("theme", None), ("status", "paused"), ("capacity", 0)):
        setattr(row, column, value)
    row.deleted_at = utcnow()
    for model, columns in ((Block, (Block.member_id, Block.blocked_id)),
                           (Decline, (Decline.member_id, Decline.declined_id)),
                           (SuggestionEvent, (SuggestionEvent.requester_id, SuggestionEvent.suggested_id)),
                           (RepeatRequest, (RepeatRequest.member_id, RepeatRequest.peer_id))):
        for item in session.scalars(select(model).where(or_(*(c == row.id for c in columns)))):
            session.delete(item)
    pairings = list(session.scalars(select(Pairing).where(
        or_(Pairing.seeker_id == row.id, Pairing.supporter_id == row.id))))
    for pairing in pairings:
        pairing.explanation, pairing.reason = {}, None
        if pairing.status in ("proposed", "approved"):
            pairing.status = "ended"
    pairing_ids = [p.id for p in pairings]
    for feedback in session.scalars(select(Feedback).where(Feedback.pairing_id.in_(pairing_ids or [-1]))):
        feedback.comment = None
    events = session.scalars(select(AuditEvent).where(or_(
        AuditEvent.member_id == row.id, AuditEvent.pairing_id.in_(pairing_ids or [-1]))))
    for audit in events:
        audit.reason, audit.detail = None, {"anonymised": True}
    session.flush()


# --- schema migrations ---------------------------------------------------------------------

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"
VECTOR_TABLE, FILTER_TABLE = "member_vectors", "member_filters"
HNSW_INDEX = "ix_member_vectors_embedding"   # created by migration 0002


def migration_config() -> Config:
    """Alembic's configuration, built in code: migrating needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _schema_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection holding the schema lock until it commits, so processes starting at once migrate in turn.

    PostgreSQL takes a transaction-scoped advisory lock. SQLite takes its write lock at once
    (BEGIN IMMEDIATE) with foreign keys off, because Alembic's batch mode rebuilds tables by copying
    them; the keys are checked before the commit and switched on again afterwards.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text("SELECT pg_advisory_xact_lock(72617)"))
        try:
            yield conn
            if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RuntimeError("A migration left rows whose foreign keys point nowhere; nothing was changed.")
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _adopt_unversioned(conn: Connection, config: Config) -> None:
    """Stamp a database that ``create_all`` made (adding tables it lacks); warn about any other drift."""
    Base.metadata.create_all(conn)
    command.stamp(config, FIRST_REVISION)
    drift = schema_differences(conn)
    log.warning("database had no migration history: stamped it as revision %s%s", FIRST_REVISION,
                f"; it still differs from the models: {drift}" if drift else "")


def include_in_migrations(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Autogenerate compares the ORM models only: the optional pgvector tables have their own migration."""
    return not (type_ == "table" and name in (VECTOR_TABLE, FILTER_TABLE))


def schema_differences(conn: Connection) -> list:
    """How the database's schema differs from the models, as Alembic's autogenerate sees it ([] when equal)."""
    context = MigrationContext.configure(conn, opts={"include_name": include_in_migrations})
    return compare_metadata(context, Base.metadata)


# --- pgvector store (PostgreSQL with the vector extension) ----------------------------------
#
# Migration 0002 creates two tables only where `CREATE EXTENSION vector` works, each with one row
# per live member with an embedding: `member_vectors` holds the vector (HNSW index, cosine) and is
# written only when a vector is new or changed (every write to it is an HNSW insertion);
# `member_filters` holds copies of the columns the hard filters read, narrow so that counting
# them is cheap. Both are written in the flush that changes the member (so, like the in-process
# index, they see capacity used by pairings when the members are `touch`ed).

class Vector(UserDefinedType):
    """pgvector's ``vector(n)``, sent in its text form so the pgvector Python package stays optional."""

    cache_ok = True

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def get_col_spec(self, **_kw) -> str:
        return f"vector({self.dimension})"

    def bind_processor(self, dialect):  # noqa: ANN001
        return lambda value: None if value is None else str(np.asarray(value, dtype=np.float32).tolist())


# all-MiniLM-L6-v2's 384 dimensions through the committed text adapter; other vectors stay in-process
VECTOR_DIMENSION = 432
_store = MetaData()             # not Base.metadata: create_all and the model diff never see these
member_vectors = Table(
    VECTOR_TABLE, _store,
    Column("member_id", Integer, primary_key=True),
    Column("embedding", Vector(VECTOR_DIMENSION), nullable=False),
)
member_filters = Table(
    FILTER_TABLE, _store,
    Column("member_id", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("languages", ARRAY(String(16)), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("free_capacity", Integer, nullable=False),
)
_vector_dimension: WeakKeyDictionary[Engine, int] = WeakKeyDictionary()


def vector_store_dimension(conn: Connection, cached: bool = True) -> int:
    """The dimension of the pgvector store, or 0 when there is none (SQLite, or no vector extension).

    The answer is kept per engine; `create_schema` forgets it after migrating.
    """
    if cached and conn.engine in _vector_dimension:
        return _vector_dimension[conn.engine]
    dimension = 0
    if conn.dialect.name == "postgresql" and inspect(conn).has_table(VECTOR_TABLE):
        dimension = conn.scalar(text("SELECT atttypmod FROM pg_attribute WHERE attrelid = "
                                     "CAST(:t AS regclass) AND attname = 'embedding'"), {"t": VECTOR_TABLE})
    _vector_dimension[conn.engine] = dimension
    return dimension


def write_vectors(session: Session, rows: list[MemberRow], dimension: int, vectors_too: set[int]) -> None:
    """Refresh the store's rows for `rows`; vectors only for ids in `vectors_too` (new or changed ones).

    Erased members, and ones without a vector of `dimension`, leave the store.
    """
    counts = active_pairing_counts(session, [row.id for row in rows])
    filters, vectors, drop = [], [], []
    live = [row for row in rows if row.deleted_at is None and row.embedding is not None]
    vector_of = {row.id: vector for row, vector in zip(live, _service_vectors_of(live))}
    for row in rows:
        vector = vector_of.get(row.id)
        if vector is None or vector.size != dimension:
            drop.append(row.id)
            continue
        member = to_profile(row, counts.get(row.id, 0))
        filters.append({"member_id": row.id, "role": member.role, "languages": list(member.languages),
                        "active": member.status == "active" and not member.needs_review,
                        "free_capacity": member.free_capacity})
        if row.id in vectors_too:
            vectors.append({"member_id": row.id, "embedding": vector})
    conn = session.connection()
    for table in (member_vectors, member_filters):
        if drop:
            conn.execute(delete(table).where(table.c.member_id.in_(drop)))
    for table, values in ((member_vectors, vectors), (member_filters, filters)):
        if values:
            stmt = pg_insert(table)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[table.c.member_id],
                set_={c.name: stmt.excluded[c.name] for c in table.c if c.name != "member_id"}), values)


@event.listens_for(Session, "after_flush")
def _sync_vector_store(session: Session, _flush_context) -> None:  # noqa: ANN001
    rows = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, MemberRow)]
    dimension = vector_store_dimension(session.connection()) if rows else 0
    if dimension:
        changed = {row.id for row in rows if inspect(row).attrs.embedding.history.has_changes()}
        write_vectors(session, rows, dimension, changed)


def rebuild_vector_store(session: Session, batch_size: int = 2000, build_memory: str | None = None) -> int:
    """Refill the pgvector store from the members table; returns how many vectors it holds.

    The HNSW index, when there is one, is dropped first and built again over the full table (one
    bulk build is far faster than a million single inserts). `build_memory` (e.g. ``"4GB"``) raises
    ``maintenance_work_mem`` for that build; the graph of a million members needs about 2 GB.
    """
    dimension = vector_store_dimension(session.connection(), cached=False)
    indexed = session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": HNSW_INDEX})
    if indexed:
        session.execute(text(f"DROP INDEX {HNSW_INDEX}"))
    session.execute(delete(member_vectors))
    session.execute(delete(member_filters))
    stmt = (select(MemberRow).where(MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))
            .order_by(MemberRow.id).execution_options(yield_per=batch_size))
    for rows in session.scalars(stmt).partitions():
        write_vectors(session, list(rows), dimension, {row.id for row in rows})
        for row in rows:   # written: a million members never sit in the session at once
            if row not in session.dirty:
                session.expunge(row)
    if indexed:
        if build_memory:
            session.execute(text("SELECT set_config('maintenance_work_mem', :m, true)"), {"m": build_memory})
        session.execute(text(f"CREATE INDEX {HNSW_INDEX} ON member_vectors USING hnsw (embedding vector_cosine_ops)"))
    return session.scalar(select(func.count()).select_from(member_vectors))


def _sql_filters(query: Member, blocked: set[int], declined: set[int]) -> list[tuple[str, object]]:
    """The hard filters SQL can check, as (name, condition that removes a row), in ranking.FILTERS order."""
    v = member_filters.c
    return [
        ("self", v.member_id == query.id),
        ("inactive", not_(v.active)),
        ("role", v.role.not_in([r for r in ROLES if roles_compatible(query.role, r)])),
        ("language", not_(v.languages.overlap(list(query.languages)))),
        ("blocked", v.member_id.in_(sorted(blocked))),
        ("declined", v.member_id.in_(sorted(declined))),
        ("capacity", v.free_capacity <= 0),
    ]


def vector_filter_counts(session: Session, query: Member, blocked: set[int], declined: set[int]) -> dict[str, int]:
    """How many stored members each SQL-checkable filter removes (first filter wins), and how many pass."""
    columns, earlier = [], false()
    for name, removes in _sql_filters(query, blocked, declined):
        columns.append(func.count().filter(and_(removes, not_(earlier))).label(name))
        earlier = or_(earlier, removes)
    columns.append(func.count().filter(not_(earlier)).label("passed"))
    return dict(session.execute(select(*columns).select_from(member_filters)).one()._mapping)


def vector_candidates(session: Session, query: Member, embedding: np.ndarray, blocked: set[int],
                      declined: set[int], limit: int, exact: bool = False) -> list[tuple[int, float, int]]:
    """(member id, cosine similarity, free capacity) of members passing every SQL-checkable hard filter,
    nearest first.

    The HNSW index answers by default: approximate, and its candidate list (``hnsw.ef_search``,
    set to `limit`, at most 1,000) is filtered afterwards, so it may return fewer than `limit`.
    `exact` orders by an expression the index cannot serve, so PostgreSQL scans every row.
    """
    distance = member_vectors.c.embedding.op("<=>", return_type=Float)(
        bindparam("query_vector", embedding, type_=Vector(embedding.size)))
    stmt = (select(member_vectors.c.member_id, 1 - distance, member_filters.c.free_capacity)
            .join(member_filters, member_filters.c.member_id == member_vectors.c.member_id)
            .where(not_(or_(*(removes for _, removes in _sql_filters(query, blocked, declined)))))
            .order_by(distance + 0.0 if exact else distance).limit(limit))
    session.execute(text("SELECT set_config('hnsw.ef_search', :n, true)"), {"n": str(min(max(limit, 40), 1000))})
    return [(member_id, float(similarity), free) for member_id, similarity, free in session.execute(stmt)]


# --- bulk onboarding -----------------------------------------------------------------------

def add_members(session: Session, rows: list[MemberRow], embedder: Embedder, progress: bool = False) -> None:
    """Embed new members in batches and add them under one new index version: one INSERT each.

    (Adding, flushing and then `touch`ing would write every row, and its pgvector filter row, twice.)
    """
    embed_rows(rows, embedder, progress=progress)
    with session.no_autoflush:
        touch(session, *rows)
    session.add_all(rows)
    session.flush()
