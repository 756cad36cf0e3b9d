"""The service's database: one engine for a URL, its migrations, and sessions on it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.service.errors import SetupError
from matcher.store import Session
from matcher.store.engine import DEFAULT_DATABASE_URL, create_schema, make_engine
from matcher.store.erasure import purge_erased
from matcher.store.reembedding import other_models_stored, resize_vector_store
from matcher.store.vector_search import pgvector_version
from matcher.store.vectors import (
    EXACT_SCAN_STORED,
    add_search_copy,
    end_vectors,
    forget_vector_dimension,
    holds_vectors_of,
    rebuild_vector_store,
    record_vector_makers,
    stored_vector_dimension,
    vector_index_exists,
    vector_maker,
    vector_store_dimension,
)
from matcher.text.adapter import service_fingerprint, service_vectors

__all__ = ["DEFAULT_DATABASE_URL", "EXACT_SCAN_STORED", "Database", "RebuiltStore", "rebuild_vectors"]


class Database:
    """An engine for `url` (a SQLite file's folder is created), migrated on demand.

    Sessions keep loaded rows usable after a commit (``expire_on_commit=False``): a view serialises
    what it committed without reading it again.
    """

    def __init__(self, url: str = DEFAULT_DATABASE_URL) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = make_engine(url)

    def migrate(self) -> None:
        """Apply the migrations this code needs (a no-op when they are in)."""
        create_schema(self.engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def vector_dimension(self) -> int:
        """The pgvector store's dimension, or 0 when the database has none."""
        return stored_vector_dimension(self.engine)

    def fit_vector_store(self, dimension: int, model_id: str) -> int:
        """Resize an existing pgvector store to `dimension` when no stored vector is another model's
        (a new community, or one on this model already); returns the store's dimension afterwards.

        A community still on another model keeps its store until `peermatch embed --model` switches it.
        """
        stored = self.vector_dimension()
        if not stored or stored == dimension:
            return stored
        with self.session() as session:
            if other_models_stored(session, model_id):
                return stored
            resize_vector_store(session, dimension)
            session.commit()
        forget_vector_dimension(self.engine)
        return self.vector_dimension()

    def pgvector_version(self) -> str | None:
        """The vector extension's version in this database (None: SQLite, or not installed)."""
        if self.dialect != "postgresql":
            return None
        with self.session() as session:
            return pgvector_version(session)

    def foreign_vectors(self, model_id: str, dimension: int) -> str | None:
        """Why the pgvector store's vectors of `model_id` (`dimension`-d embeddings) are not this process's to
        rank and what remakes them, or None when they are: recorded as made by this adapter, or not recorded
        (none stored yet, or stored before migration 0015) and `made_here` (then recorded now)."""
        made_by = service_fingerprint(model_id, dimension)
        with self.session() as session:
            conn = session.connection()
            recorded = vector_maker(conn, model_id)
            if recorded == made_by:
                return None
            if recorded is None and (not holds_vectors_of(conn, model_id) or made_here(session, model_id)):
                record_vector_makers(conn, {model_id: made_by})
                session.commit()
                return None
        if recorded is None:
            why = (f"the pgvector store's vectors of {model_id} are not what this process's text adapter ({made_by}) "
                   f"makes of the stored embeddings, and no maker was recorded for them (stored before 0015)")
        else:
            why = (f"the pgvector store's vectors of {model_id} were made by {recorded}, and this process makes "
                   f"{made_by} (another text adapter: a new release's, or PEERMATCH_TEXT_ADAPTER)")
        return f"{why}: 'peermatch rebuild-vectors' remakes them"

    def purge_erased(self) -> list[str]:
        """Rewrite the tables erasure touches so erased words leave the files too (`store.erasure.purge_erased`)."""
        return purge_erased(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection (before a fork, and when a command ends)."""
        self.engine.dispose()


def made_here(session: Session, model_id: str) -> bool:
    """Whether the store's oldest and newest vectors of `model_id` are what this process's text adapter makes
    of their stored embeddings (a store filled before its maker was recorded: checked, not trusted)."""
    pairs = end_vectors(session.connection(), model_id)
    if not pairs:
        return False
    made = service_vectors(np.stack([raw for raw, _ in pairs]), model_id)
    stored = np.stack([vector for _, vector in pairs])
    return made.shape == stored.shape and bool(np.abs(made - stored).max() <= 1e-5)


@dataclass(frozen=True)
class RebuiltStore:
    """The pgvector store after a rebuild."""

    vectors: int
    indexed: bool   # it has an HNSW index


def rebuild_vectors(session: Session, build_memory: str | None = None, index: bool | None = None) -> RebuiltStore:
    """Refill the pgvector store from the members table, with its HNSW index where `index` (by default
    only where the store is large enough to use one, `rebuild_vector_store`).

    Raises
    ------
    SetupError: the database has no pgvector store.
    """
    if not add_search_copy(session.connection()):
        raise SetupError("This database's pgvector has no halfvec: install pgvector 0.8.3 or newer, run "
                         "'ALTER EXTENSION vector UPDATE;', then rebuild again; suggestions use the in-process index.")
    if not vector_store_dimension(session.connection(), cached=False):
        raise SetupError("This database has no pgvector store (it needs PostgreSQL with the vector extension); "
                         "suggestions use the in-process index.")
    vectors = rebuild_vector_store(session, build_memory=build_memory, index=index)
    return RebuiltStore(vectors, vector_index_exists(session.connection()))
