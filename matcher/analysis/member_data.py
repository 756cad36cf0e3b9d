"""Members and their vectors for analysis: the fixtures encoded by the model, or a database's stored vectors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matcher.fixtures import FIXTURES_PATH, fixture_members
from matcher.index import MemberIndex
from matcher.text.adapter import service_vectors

if TYPE_CHECKING:
    from matcher.store import Session
    from matcher.text.embedding import Embedder


def fixture_index(embedder: Embedder, path: str | Path = FIXTURES_PATH, week_start: date | None = None,
                  progress: bool = False) -> MemberIndex:
    """A `MemberIndex` of the fixture members with the vectors the service ranks with (encoded in one batch).

    Parameters
    ----------
    embedder : encodes the narratives (its cache makes a second call free).
    path : a fixture file; the project's by default.
    week_start : the Monday whose calendar places availability in UTC; the coming one by default.
    progress : show the encoder's progress bar.
    """
    members = fixture_members(path)
    vectors = service_vectors(embedder.encode([m.narrative for m in members], progress=progress), embedder.model_id)
    index = MemberIndex(vectors.shape[1], week_start)
    for member, vector in zip(members, vectors, strict=True):
        index.upsert(member, vector)
    return index


def database_index(session: Session, week_start: date | None = None) -> MemberIndex:
    """A `MemberIndex` of every stored member with an embedding (the caller owns `session`).

    Raises
    ------
    ValueError: when no stored member has an embedding yet.
    """
    from matcher.store.members import first_embedding, sync_index

    vector = first_embedding(session)
    if vector is None:
        raise ValueError("No stored member has an embedding; run `peermatch load-fixtures` or `peermatch embed`.")
    index = MemberIndex(vector.size, week_start)
    sync_index(session, index)
    return index


def member_themes(index: MemberIndex) -> dict[int, str]:
    """Member id -> hidden theme, for the members that have one (fixtures do; API sign-ups do not)."""
    return {m.id: m.extra["theme"] for m in index.members if m is not None and m.extra.get("theme")}


@dataclass(frozen=True)
class StoredFeedback:
    """Members' ratings as pair observations with their weight features (for `tuning.learn_weights`): ratings of
    pairings, and ratings of groups as pairs (`matcher.analysis.group_feedback`)."""

    features: np.ndarray        # (n, 5) in `pair_features.WEIGHT_FEATURES` order
    ratings: np.ndarray         # (n,) 1-5
    would_continue: np.ndarray  # (n,) bool
    pairing_ids: np.ndarray     # (n,) the group of each row: both members' ratings of a pair stay together
    weights: np.ndarray | None = None   # (n,) sample weights; None: 1 each

    def __len__(self) -> int:
        return len(self.ratings)

    @property
    def sample_weights(self) -> np.ndarray:
        return np.ones(len(self)) if self.weights is None else self.weights

    def __add__(self, other: StoredFeedback) -> StoredFeedback:
        """Both sets of observations, these first."""
        return StoredFeedback(np.vstack([self.features, other.features]), np.r_[self.ratings, other.ratings],
                              np.r_[self.would_continue, other.would_continue],
                              np.r_[self.pairing_ids, other.pairing_ids],
                              np.r_[self.sample_weights, other.sample_weights])


def stored_feedback(session: Session) -> StoredFeedback:
    """Every stored feedback row whose pairing still has its explanation (erased members' pairs are skipped)."""
    from matcher.analysis.pair_features import features_from_explanation
    from matcher.store.pairings import rated_pairings

    kept = [(pid, features_from_explanation(e), r, w) for pid, e, r, w in rated_pairings(session) if e]
    return StoredFeedback(
        np.array([k[1] for k in kept]).reshape(-1, 5), np.array([k[2] for k in kept], dtype=np.int64),
        np.array([k[3] for k in kept], dtype=bool), np.array([k[0] for k in kept], dtype=np.int64))
