"""Moving a community to another model: staged vectors, then one switch (and the pgvector store's new size).

Vectors of the target model go to `StagedEmbedding`, never to `MemberRow.embedding`, so every
ranking keeps comparing one model's vectors while the new ones are made. `switch_to_staged` then
moves them in, for everyone at once, in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from matcher.store.members import store_embeddings, touch
from matcher.store.models import MemberRow, StagedEmbedding
from matcher.store.vectors import (
    FILTER_TABLE,
    HNSW_INDEX,
    VECTOR_TABLE,
    forget_vector_dimension,
    rebuild_vector_store,
    vector_store_dimension,
)
from matcher.text.embedding import text_hash

Encoder = Callable[[list[str]], np.ndarray]


def _live_narratives(session: Session) -> list[tuple[int, str, str | None, str | None]]:
    """(id, narrative, embedding model, embedding hash) of every live member with a narrative, by id."""
    rows = session.execute(select(MemberRow.id, MemberRow.narrative, MemberRow.embedding_model,
                                  MemberRow.embedding_hash)
                           .where(MemberRow.deleted_at.is_(None), MemberRow.narrative.is_not(None))
                           .order_by(MemberRow.id))
    return [tuple(row) for row in rows]   # type: ignore[misc]


def _staged_hashes(session: Session, model_id: str) -> dict[int, str]:
    rows = session.execute(select(StagedEmbedding.member_id, StagedEmbedding.embedding_hash)
                           .where(StagedEmbedding.model == model_id))
    return {key: value for key, value in rows}


def pending_narratives(session: Session, model_id: str) -> tuple[list[tuple[int, str]], int]:
    """(members still needing a `model_id` vector as (id, narrative), how many have a current one already).

    A member is done when its stored vector, or its staged one, was made by `model_id` from the
    narrative it has now; an edited narrative needs a new vector.
    """
    staged = _staged_hashes(session, model_id)
    pending, done = [], 0
    for member_id, narrative, model, embedded_hash in _live_narratives(session):
        current = text_hash(narrative)
        if (model == model_id and embedded_hash == current) or staged.get(member_id) == current:
            done += 1
        else:
            pending.append((member_id, narrative))
    return pending, done


def stage_vectors(session: Session, model_id: str, items: Sequence[tuple[int, str]], vectors: np.ndarray) -> None:
    """Keep `model_id`'s vector of each (member id, narrative) in the staging table (replacing older ones)."""
    ids = [member_id for member_id, _ in items]
    session.execute(delete(StagedEmbedding).where(StagedEmbedding.model == model_id,
                                                  StagedEmbedding.member_id.in_(ids or [-1])))
    session.add_all(StagedEmbedding(member_id=member_id, model=model_id, embedding=np.asarray(v, np.float32).tobytes(),
                                    embedding_hash=text_hash(narrative))
                    for (member_id, narrative), v in zip(items, vectors, strict=True))
    session.flush()


def _lock_members(session: Session) -> None:
    """Hold off other writers of members until the switch commits (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))


def switch_to_staged(session: Session, model_id: str, encode: Encoder, vector_dimension: int) -> int:
    """Give every live member its `model_id` vector in this transaction; returns how many vectors changed.

    Narratives changed since they were staged (or members added meanwhile) are encoded now with
    `encode`. On PostgreSQL with a pgvector store, the store is resized to `vector_dimension` and
    refilled in the same transaction. The staged rows of `model_id` are removed.
    """
    _lock_members(session)
    leftovers, _ = pending_narratives(session, model_id)
    if leftovers:
        stage_vectors(session, model_id, leftovers, encode([narrative for _, narrative in leftovers]))
    staged = {row.member_id: row for row in session.scalars(
        select(StagedEmbedding).where(StagedEmbedding.model == model_id))}
    rows = [row for row in session.scalars(select(MemberRow).where(MemberRow.id.in_(list(staged) or [-1])))
            if row.deleted_at is None and row.narrative is not None
            and staged[row.id].embedding_hash == text_hash(row.narrative)]
    if rows:
        store_embeddings(rows, np.stack([np.frombuffer(staged[row.id].embedding, np.float32) for row in rows]),
                         model_id)
        touch(session, *rows)
    session.flush()
    if vector_store_dimension(session.connection(), cached=False):
        resize_vector_store(session, vector_dimension)
    session.execute(delete(StagedEmbedding).where(StagedEmbedding.model == model_id))
    return len(rows)


def resize_vector_store(session: Session, dimension: int) -> int:
    """Make the pgvector store hold `dimension`-d vectors and refill it from the members (same transaction).

    PostgreSQL changes the column type only on an empty table, and the HNSW index, where the store keeps
    one (`rebuild_vector_store`), is rebuilt over the refilled table; returns how many vectors the store holds.
    """
    connection = session.connection()
    if vector_store_dimension(connection, cached=False) != dimension:
        session.execute(text(f"DROP INDEX IF EXISTS {HNSW_INDEX}"))
        session.execute(text(f"DELETE FROM {VECTOR_TABLE}"))
        session.execute(text(f"ALTER TABLE {VECTOR_TABLE} ALTER COLUMN embedding TYPE vector({int(dimension)})"))
        session.execute(text(f"DELETE FROM {FILTER_TABLE}"))   # refilled below, as the vectors are
        session.execute(text(f"ALTER TABLE {FILTER_TABLE} ALTER COLUMN search_vector TYPE halfvec({int(dimension)})"))
        forget_vector_dimension(connection.engine)
    count = rebuild_vector_store(session)
    forget_vector_dimension(connection.engine)
    return count


def staged_models(session: Session) -> dict[str, int]:
    """Models with staged vectors (an unfinished move) and how many members each has."""
    rows = session.execute(select(StagedEmbedding.model, func.count()).group_by(StagedEmbedding.model))
    return {key: value for key, value in rows}


def other_models_stored(session: Session, model_id: str) -> bool:
    """Whether any live member's stored vector was made by another model than `model_id`."""
    return session.scalar(select(MemberRow.id).where(
        MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None),
        MemberRow.embedding_model != model_id).limit(1)) is not None
