"""Suggestions: the best compatible peers for one member, each explained, from whichever retrieval serves.

Peers' names and intros come from the database; their narratives never leave it, except the one
best-matching sentence of each that the coordinator view adds.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from matcher.ranking import Ranking
from matcher.service.context import Services
from matcher.service.errors import HeldForReviewError, ModelMismatchError
from matcher.states import ExclusionKind
from matcher.store import Session
from matcher.store.exclusions import excluded_ids
from matcher.store.exposure import recent_exposure, record_suggestions
from matcher.store.members import embedding_model_of, is_held, live_rows_by_id
from matcher.store.pairings import closed_partners
from matcher.text.explanation import best_sentence_pair


@dataclass
class SuggestedPeer:
    member_id: int
    display_name: str
    intro: str
    score: float
    explanation: dict


@dataclass
class Suggestions:
    """What `GET /members/{id}/suggestions` answers, and what `peermatch suggest` prints."""

    member_id: int
    suggestions: list[SuggestedPeer]
    filtered_out: dict[str, int]
    candidates: int
    config: dict[str, str]
    search: dict = field(default_factory=dict)
    model: str = ""        # the embedding model whose vectors ranked these peers


def exclusions_of(session: Session, member_id: int) -> tuple[set[int], set[int]]:
    """(blocked, declined) for ranking: blocks either way; declines either way and rejected or ended pairs."""
    declined = excluded_ids(session, member_id, ExclusionKind.DECLINE) | closed_partners(session, member_id)
    return excluded_ids(session, member_id, ExclusionKind.BLOCK), declined


def exposure_lookup(session: Session, hours: int, asker: int | None = None) -> Callable[[list[int]], dict[int, int]]:
    """`rank`'s exposure for one request by `asker`: asked for the candidates near the top only, each id once.

    (The pgvector path ranks several times as it loads more peers; the same ids come up again.)
    """
    known: dict[int, int] = {}

    def recent(member_ids: list[int]) -> dict[int, int]:
        missing = [i for i in member_ids if i not in known]
        if missing:
            found = recent_exposure(session, hours, missing, asker)
            known.update({i: found.get(i, 0) for i in missing})
        return {i: known[i] for i in member_ids}

    return recent


def suggest(session: Session, services: Services, member_id: int, k: int, *, coordinator_view: bool = False,
            record: bool = True, exact: bool = False, counts: bool = False) -> Suggestions:
    """Rank peers for a stored member and (when `record`) note who was shown, for exposure spreading.

    Parameters
    ----------
    member_id : a live member with a vector (else `UnknownMemberError`).
    k : how many peers, at most.
    coordinator_view : add the best-matching sentence of both narratives to each explanation.
    record : store the suggestion events (a member being shown peers; an operator's look is not).
    exact : never search approximately, even when a calibrated graph is there.
    counts : count `filtered_out` exactly over every member (pgvector otherwise estimates them).
    """
    if is_held(session, member_id):
        raise HeldForReviewError(f"Member {member_id} is held for a coordinator's review, so no peers are suggested "
                                 "until a coordinator has talked with them. Show them your crisis resources now.",
                                 "member_id")
    check_same_model(session, services, member_id)
    blocked, declined = exclusions_of(session, member_id)
    exposure = exposure_lookup(session, services.config.exposure_window_hours, member_id)
    ranking = services.retriever.rank(session, member_id, k, blocked, declined, exposure, exact, counts)
    if record:
        record_suggestions(session, member_id, [s.member_id for s in ranking.suggestions], ranking.config_digest)
    rows = live_rows_by_id(session, [member_id, *(s.member_id for s in ranking.suggestions)])
    peers = []
    for suggestion in ranking.suggestions:
        peer = rows.get(suggestion.member_id)
        if peer is None:   # erased since the index last looked
            continue
        explanation = dict(suggestion.explanation)
        if coordinator_view:
            explanation["matched_sentences"] = matched_sentences(rows[member_id].narrative, peer.narrative, services)
        peers.append(SuggestedPeer(peer.id, peer.display_name or "", peer.intro or "", suggestion.score, explanation))
    return Suggestions(member_id, peers, ranking.filtered_out, ranking.candidates,
                       {"name": services.config.name, "digest": ranking.config_digest}, search_of(ranking),
                       services.embedder.model_id)


def check_same_model(session: Session, services: Services, member_id: int) -> None:
    """Refuse to rank a member whose vector another model made (see `ModelMismatchError`)."""
    stored = embedding_model_of(session, member_id)
    if stored is not None and stored != services.embedder.model_id:
        raise ModelMismatchError(
            f"Member {member_id}'s narrative was embedded by {stored}, but this service ranks with "
            f"{services.embedder.model_id}: restart it with PEERMATCH_MODEL={stored}, or run "
            f"`peermatch embed --model {services.embedder.model_id}` to move everyone to it.", "member_id")


def matched_sentences(narrative: str | None, peer_narrative: str | None, services: Services) -> dict:
    """Coordinator-only: the sentence of each narrative that matched best."""
    pair = best_sentence_pair(narrative or "", peer_narrative or "", services.embedder)
    return {"member": pair["sentence_a"], "peer": pair["sentence_b"], "similarity": pair["similarity"]}


def search_of(ranking: Ranking) -> dict:
    """The `search` part of the answer from what the ranking recorded about how it was found."""
    extra = ranking.extra
    kept: dict[str, tuple[str, ...]] = {"ann": ("examined", "recall_at_10"),
                                        "pgvector": ("certain", "scored", "scan", "counts")}
    keep = kept.get(str(extra.get("search")), ())
    return {"method": extra.get("search", "exact"), **{key: extra[key] for key in keep if key in extra}}
