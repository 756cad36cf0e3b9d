"""Members: the row <-> `Member` mapping, stored vectors, the index version counter and index sync."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from matcher.index import MemberIndex
from matcher.profiles import Member, Window
from matcher.store.models import IndexVersion, MemberRow
from matcher.store.pairings import active_pairing_counts
from matcher.text.adapter import service_vectors
from matcher.text.embedding import text_hash


def bump_version(session: Session) -> int:
    """Increase the index version inside the caller's transaction and return the new value."""
    session.execute(update(IndexVersion).where(IndexVersion.id == 1).values(version=IndexVersion.version + 1))
    return session.scalar(select(IndexVersion.version).where(IndexVersion.id == 1)) or 0


def current_version(session: Session) -> int:
    return session.scalar(select(IndexVersion.version).where(IndexVersion.id == 1)) or 0


def touch(session: Session, *rows: MemberRow) -> None:
    """Mark members changed so every worker's index picks them up."""
    version = bump_version(session)
    for row in rows:
        row.revision = version


def to_profile(row, active_pairings: int = 0) -> Member:
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


def live_member(session: Session, member_id: int) -> MemberRow | None:
    """The member, unless there is none with that id or it was erased."""
    row = session.get(MemberRow, member_id)
    return None if row is None or row.deleted_at is not None else row


def profile_of(session: Session, row: MemberRow) -> Member:
    """`to_profile` with the member's places in use counted now."""
    return to_profile(row, active_pairing_counts(session, [row.id]).get(row.id, 0))


def embedding_of(row) -> np.ndarray | None:
    """The vector the service compares for this member (`text.adapter.service_vectors` of the stored one)."""
    raw = raw_embedding_of(row)
    return None if raw is None else service_vectors(raw, row.embedding_model)[0]


def raw_embedding_of(row) -> np.ndarray | None:
    """The model's own vector, as stored."""
    return None if row.embedding is None else np.frombuffer(row.embedding, dtype=np.float32)


def needs_embedding(row: MemberRow, model_id: str) -> bool:
    """True when the stored vector is missing or was made from other text or by another model."""
    return (row.narrative is not None and row.deleted_at is None
            and (row.embedding is None or row.embedding_model != model_id
                 or row.embedding_hash != text_hash(row.narrative)))


def members_needing_embedding(session: Session, model_id: str) -> list[MemberRow]:
    rows = session.scalars(select(MemberRow).where(MemberRow.deleted_at.is_(None)).order_by(MemberRow.id))
    return [row for row in rows if needs_embedding(row, model_id)]


def store_embeddings(rows: Sequence[MemberRow], vectors: np.ndarray, model_id: str) -> None:
    """Keep each row's model vector, with the model and the hash of the text it was made from."""
    for row, vector in zip(rows, vectors, strict=True):
        row.embedding = np.asarray(vector, dtype=np.float32).tobytes()
        row.embedding_model = model_id
        row.embedding_hash = text_hash(row.narrative or "")


def add_members(session: Session, rows: list[MemberRow]) -> None:
    """Add new (already embedded) members under one new index version: one INSERT each.

    (Adding, flushing and then `touch`ing would write every row, and its pgvector filter row, twice.)
    """
    with session.no_autoflush:
        touch(session, *rows)
    session.add_all(rows)
    session.flush()


def _plain_members() -> Select:
    """Every members column, read as plain rows (attribute names as on `MemberRow`, no identity map)."""
    return select(*MemberRow.__table__.columns)


def member_batches(session: Session, since_revision: int | None = None, batch: int = 5000) -> Iterator[Sequence]:
    """Members changed after `since_revision` (all when None), `batch` plain rows at a time.

    The rows are read-only tuples with the same attribute names as `MemberRow`, outside the
    session's identity map, so a full load of a million members never holds them all at once.
    """
    stmt = _plain_members().order_by(MemberRow.id).execution_options(yield_per=batch)
    if since_revision is not None:
        stmt = stmt.where(MemberRow.revision > since_revision)
    yield from session.execute(stmt).partitions()


def rows_with_vectors(session: Session, member_ids: list[int], model_id: str | None = None) -> list[tuple]:
    """(plain row, service vector) of the live members among `member_ids` (with a vector of `model_id`
    when given), vectors adapted in one pass."""
    stmt = _plain_members().where(
        MemberRow.id.in_(member_ids), MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))
    if model_id is not None:
        stmt = stmt.where(MemberRow.embedding_model == model_id)
    rows = session.execute(stmt).all()
    return list(zip(rows, service_vectors_of(rows)))


def first_embedding(session: Session) -> np.ndarray | None:
    """The service vector of one stored member (to learn its size), or None when no member has one."""
    row = session.scalars(select(MemberRow).where(MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))
                          .limit(1)).first()
    return None if row is None else embedding_of(row)


def sync_index(session: Session, index: MemberIndex, since_revision: int | None = None, batch: int = 5000,
               model_id: str | None = None) -> int:
    """Bring `index` up to date with members changed after `since_revision` (all when None); returns how many.

    Members are read `batch` plain rows at a time, and a full load sizes the index's arrays once.
    With `model_id`, only vectors of that model are ranked: a member embedded by another model
    leaves the index, so one ranking never compares two models' vectors.
    """
    everyone = since_revision is None
    counts: dict[int, int] = {}
    if everyone:
        index.reserve(session.scalar(select(func.count()).select_from(MemberRow)) or 0)
        counts = active_pairing_counts(session)
    changed = 0
    for rows in member_batches(session, since_revision, batch):
        if not everyone:
            counts = active_pairing_counts(session, [r.id for r in rows])
        keep = [row for row in rows if row.deleted_at is None and row.embedding is not None
                and (model_id is None or row.embedding_model == model_id)]
        kept = {row.id for row in keep}
        for row in rows:
            if row.id not in kept:
                index.remove(row.id)
        if keep:
            profiles = [to_profile(row, counts.get(row.id, 0)) for row in keep]
            index.upsert_many(profiles, np.stack(service_vectors_of(keep)))
        changed += len(rows)
    return changed


def service_vectors_of(rows: Sequence) -> list[np.ndarray]:
    """`embedding_of` for many rows at once: one adapter pass per model and size, not one per row."""
    out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(rows)
    groups: dict[tuple[str | None, int], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.embedding_model, len(row.embedding)), []).append(i)
    for (model_id, _), positions in groups.items():
        raw = np.stack([np.frombuffer(rows[i].embedding, dtype=np.float32) for i in positions])
        for i, vector in zip(positions, service_vectors(raw, model_id)):
            out[i] = vector
    return out


def display_names(session: Session, member_ids: set[int]) -> dict[int, str]:
    """Member id -> name to show coordinators (erased members are named as such)."""
    rows = session.execute(select(MemberRow.id, MemberRow.display_name).where(MemberRow.id.in_(member_ids or {-1})))
    return {i: name or f"(erased member {i})" for i, name in rows}


def held_members_query() -> Select:
    """Members the safety screen held (for paging, oldest first)."""
    return select(MemberRow).where(MemberRow.needs_review.is_(True), MemberRow.deleted_at.is_(None))


def live_members_query() -> Select:
    """Every member not erased (for paging)."""
    return select(MemberRow).where(MemberRow.deleted_at.is_(None))


def known_narrative_hashes(session: Session) -> set[str]:
    """The hashes of every stored narrative (to skip members already loaded)."""
    return {h for h in session.scalars(select(MemberRow.narrative_hash)) if h is not None}


def live_rows_by_id(session: Session, member_ids: Sequence[int]) -> dict[int, MemberRow]:
    """The live members among `member_ids`, by id."""
    rows = session.scalars(select(MemberRow).where(MemberRow.id.in_(list(member_ids) or [-1]),
                                                   MemberRow.deleted_at.is_(None)))
    return {row.id: row for row in rows}


def embedding_model_of(session: Session, member_id: int) -> str | None:
    """The model that made the member's stored vector (None: no vector)."""
    return session.scalar(select(MemberRow.embedding_model).where(MemberRow.id == member_id,
                                                                  MemberRow.embedding.is_not(None)))


def is_held(session: Session, member_id: int) -> bool:
    """Whether the safety screen holds this member for a coordinator's review."""
    return bool(session.scalar(select(MemberRow.needs_review).where(MemberRow.id == member_id)))
