"""The proposals a coordinator reviews: filtered, sorted and paged, and decided several at a time.

A round proposes at most one pairing per waiting member, so the proposals fit in memory; filtering
them here keeps one rule for "shares a language" (the language the explanation says they share).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from matcher.config import MatchConfig
from matcher.service.errors import DomainError
from matcher.service.review import decide
from matcher.states import Decision, PairingKind, PairingStatus
from matcher.store import Session
from matcher.store.members import display_names
from matcher.store.models import Pairing, utcnow
from matcher.store.pairings import pairings_in, repeat_requesters, scoring_at_least

MAX_PER_PAGE = 100


class QueueSort(StrEnum):
    SCORE = "score"     # best first
    AGE = "age"         # oldest first: waiting longest
    KIND = "kind"       # support pairs, then peer pairs; best first within each


@dataclass(frozen=True)
class QueueQuery:
    """What the coordinator asked to see; every field has a default, so an empty query is the whole queue."""

    kind: PairingKind | None = None
    language: str | None = None
    round_id: int | None = None
    min_score: float | None = None
    max_score: float | None = None
    repeat_requested: bool = False      # only pairs in which someone asked to meet a previous peer again
    sort: QueueSort = QueueSort.SCORE
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class ProposalLine:
    pairing: Pairing
    names: tuple[str, str]
    languages: tuple[str, ...]
    repeat_requested: bool
    waiting: timedelta


@dataclass(frozen=True)
class QueuePage:
    lines: list[ProposalLine]
    query: QueueQuery
    total: int
    pages: int


@dataclass(frozen=True)
class BulkOutcome:
    """What one decision of a bulk action did: the new status, or why it was refused."""

    pairing_id: int
    names: str
    status: str | None
    refusal: str | None = None


def _matches(line: ProposalLine, query: QueueQuery) -> bool:
    p = line.pairing
    return ((query.kind is None or p.kind == query.kind)
            and (query.language is None or query.language in line.languages)
            and (query.round_id is None or p.round_id == query.round_id)
            and (query.min_score is None or p.score >= query.min_score)
            and (query.max_score is None or p.score <= query.max_score)
            and (not query.repeat_requested or line.repeat_requested))


def _sort_key(query: QueueQuery):
    if query.sort == QueueSort.AGE:
        return lambda line: (line.pairing.created_at, line.pairing.id)
    if query.sort == QueueSort.KIND:
        return lambda line: (line.pairing.kind != PairingKind.SUPPORT, -line.pairing.score, line.pairing.id)
    return lambda line: (-line.pairing.score, line.pairing.id)


def proposal_lines(session: Session, now: datetime | None = None) -> list[ProposalLine]:
    """Every proposal awaiting a decision, with what the queue shows and filters on."""
    proposals = pairings_in(session, PairingStatus.PROPOSED)
    ids = {i for p in proposals for i in p.member_ids}
    names, repeaters, now = display_names(session, ids), repeat_requesters(session, ids), now or utcnow()
    return [ProposalLine(p, (names.get(p.seeker_id, ""), names.get(p.supporter_id, "")),
                         tuple((p.explanation or {}).get("shared_languages", ())),
                         bool(repeaters & set(p.member_ids)), now - p.created_at)
            for p in proposals]


def proposals_page(session: Session, query: QueueQuery) -> QueuePage:
    """One page of the proposals that match `query`, in its order."""
    lines = sorted((line for line in proposal_lines(session) if _matches(line, query)), key=_sort_key(query))
    per_page = max(1, min(query.per_page, MAX_PER_PAGE))
    pages = max(1, -(-len(lines) // per_page))
    start = (min(query.page, pages) - 1) * per_page
    return QueuePage(lines[start:start + per_page], query, len(lines), pages)


def decide_many(session: Session, config: MatchConfig, pairing_ids: list[int], decision: Decision, actor: str,
                reason: str | None = None, min_score: float | None = None) -> list[BulkOutcome]:
    """Decide each pairing in its own transaction, re-checked under the lock as a single decision is.

    With `min_score`, only those of `pairing_ids` scoring at least that ("all on this page above X").
    A refusal rolls back that pairing only; the others go on. Commits as it goes.
    """
    if min_score is not None:
        pairing_ids = scoring_at_least(session, pairing_ids, min_score)
    names = {p.id: " & ".join(line.names) for line in proposal_lines(session) for p in [line.pairing]}
    outcomes = []
    for pairing_id in dict.fromkeys(pairing_ids):
        label = names.get(pairing_id, f"pairing {pairing_id}")
        try:
            pairing = decide(session, config, pairing_id, decision, actor, reason)
            session.commit()
            outcomes.append(BulkOutcome(pairing_id, label, pairing.status))
        except DomainError as exc:
            session.rollback()
            outcomes.append(BulkOutcome(pairing_id, label, None, exc.message))
    return outcomes
