"""Re-embedding a community with another model (`peermatch embed --model NAME`): resumable, then one switch.

1. Members still lacking a vector of the target model are encoded `batch_size` at a time; each
   batch is committed to the staging table on its own, so an interrupted run loses at most one
   batch and the next run starts where it stopped.
2. When every member has one, a single transaction moves the staged vectors into the members'
   rows (encoding the few narratives changed meanwhile), resizes the pgvector store and bumps the
   index version. Until that commit every ranking uses the old vectors only; after it, only the new
   ones (an index ranks only its own model's vectors, see `matcher.store.members.sync_index`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matcher.service.database import Database
from matcher.store.reembedding import pending_narratives, stage_vectors, switch_to_staged
from matcher.store.vectors import forget_vector_dimension
from matcher.text.adapter import service_dimension
from matcher.text.embedding import Embedder

DEFAULT_BATCH = 64


@dataclass(frozen=True)
class ReembedPlan:
    """What a run will do: `pending` members to encode, `done` already encoded (by an earlier, interrupted run)."""

    model: str
    pending: int
    done: int

    @property
    def total(self) -> int:
        return self.pending + self.done


def plan_reembedding(database: Database, embedder: Embedder) -> ReembedPlan:
    """How many members still need a vector of `embedder`'s model."""
    with database.session() as session:
        pending, done = pending_narratives(session, embedder.model_id)
    return ReembedPlan(embedder.model_id, len(pending), done)


def reembed(database: Database, embedder: Embedder, batch_size: int = DEFAULT_BATCH,
            on_batch: Callable[[int], None] | None = None) -> int:
    """Give every member a vector of `embedder`'s model and switch to them; returns how many vectors changed.

    Parameters
    ----------
    database : migrated already.
    embedder : the target model.
    batch_size : members encoded and committed together (at most this many are redone after an interruption).
    on_batch : called with the number of members of each committed batch (a progress bar).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    with database.session() as session:
        pending, _ = pending_narratives(session, embedder.model_id)
    for start in range(0, len(pending), batch_size):
        items = pending[start:start + batch_size]
        vectors = embedder.encode([narrative for _, narrative in items])
        with database.session() as session:
            stage_vectors(session, embedder.model_id, items, vectors)
            session.commit()
        if on_batch is not None:
            on_batch(len(items))
    dimension = service_dimension(embedder.model_id, embedder.dimension)
    with database.session() as session:
        changed = switch_to_staged(session, embedder.model_id, embedder.encode, dimension)
        session.commit()
    forget_vector_dimension(database.engine)
    return changed
