"""What the coordinator pages show: the review queue, a pair side by side, a held member.

Plain data for templates; narratives appear here because coordinators read them to decide.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.availability import coming_week_start, weekly_grid
from matcher.service.consent import expire_due
from matcher.service.context import Services
from matcher.service.errors import NotFoundError
from matcher.service.listing import Page, paginate
from matcher.service.review import current_overlap, current_pairing, week_intervals
from matcher.states import OfferStatus, PairingStatus
from matcher.store import Session
from matcher.store.audit import hold_reasons
from matcher.store.members import display_names, held_members_query, live_member
from matcher.store.models import MemberRow, Pairing, PairingRound, SupportOffer
from matcher.store.offers import offers_in
from matcher.store.pairings import last_round, pairings_in
from matcher.text.embedding import split_sentences
from matcher.text.explanation import best_sentence_pair

HELD_PER_PAGE = 10


@dataclass
class ReviewQueue:
    held: Page                    # of MemberRow, oldest first
    hold_reasons: dict[int, list[str]]
    approved: list[Pairing]
    last_round: PairingRound | None
    names: dict[int, str]
    invited: list[Pairing] = field(default_factory=list)    # waiting for the members' answers (mutual consent)
    declined: list[Pairing] = field(default_factory=list)
    offers: list[SupportOffer] = field(default_factory=list)   # members offering to support others


@dataclass
class PairView:
    pairing: Pairing
    seeker: MemberRow
    supporter: MemberRow
    sentences: dict[str, list[tuple[str, bool]]]   # side -> (sentence, is the best match)
    grid: np.ndarray                                # `availability.weekly_grid` in the coordinator's zone
    overlap: int


def review_queue(session: Session, held_page: int = 1, held_per_page: int = HELD_PER_PAGE) -> ReviewQueue:
    """Held members, active pairings, who the last round left out, invitations waiting for answers, declined
    ones and offers to support others (proposals are paged: `service.queue`). Invitations past their time
    expire first: the caller commits."""
    expire_due(session)
    held = paginate(session, held_members_query(), MemberRow.id, held_page, held_per_page)
    approved = pairings_in(session, PairingStatus.APPROVED)
    invited, declined = pairings_in(session, PairingStatus.INVITED), pairings_in(session, PairingStatus.DECLINED)
    offers = offers_in(session, OfferStatus.PENDING)
    latest = last_round(session)
    ids = {i for p in approved + invited + declined for i in p.member_ids}
    ids |= {u["member_id"] for u in (latest.unmatched if latest else [])} | {o.member_id for o in offers}
    return ReviewQueue(held, hold_reasons(session, [m.id for m in held.items]), approved, latest,
                       display_names(session, ids), invited, declined, offers)


def pair_view(session: Session, services: Services, pairing_id: int, tz: str) -> PairView:
    """Both members of a pairing, their narratives as sentences with the best match marked, and their week."""
    pairing = current_pairing(session, pairing_id)
    seeker, supporter = session.get(MemberRow, pairing.seeker_id), session.get(MemberRow, pairing.supporter_id)
    if seeker is None or supporter is None:
        raise NotFoundError(f"Pairing {pairing_id} refers to a member that does not exist.", "pairing_id")
    week = coming_week_start()
    grid = weekly_grid(week_intervals(seeker, week), week_intervals(supporter, week), tz, week)
    return PairView(pairing, seeker, supporter, marked_sentences(seeker, supporter, services), grid,
                    current_overlap(seeker, supporter))


def marked_sentences(a: MemberRow, b: MemberRow, services: Services) -> dict[str, list[tuple[str, bool]]]:
    """Each narrative as (sentence, is the best match) pairs."""
    if not a.narrative or not b.narrative:
        return {"seeker": [], "supporter": []}
    best = best_sentence_pair(a.narrative, b.narrative, services.embedder)
    return {side: [(s, i == best[f"index_{k}"]) for i, s in enumerate(split_sentences(row.narrative or ""))]
            for side, k, row in (("seeker", "a", a), ("supporter", "b", b))}


def held_member(session: Session, member_id: int) -> tuple[MemberRow, list[str]]:
    """A live member and, if the safety screen held them, the rules it matched."""
    row = live_member(session, member_id)
    if row is None:
        raise NotFoundError(f"No member with id {member_id}.", "member_id")
    return row, hold_reasons(session, [member_id]).get(member_id, [])


def pairing_names(session: Session, pairing: Pairing) -> dict[int, str]:
    return display_names(session, set(pairing.member_ids))
