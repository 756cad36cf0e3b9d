"""The coordinator's decisions on pairings, members' feedback, repeat requests and safety holds.

Every change writes an audit event; a conflict raises `ConflictError` before anything is kept
(the caller rolls back). Approval re-checks what may have changed since the round, under a lock.
"""
from __future__ import annotations

from datetime import date

from matcher.availability import Interval, coming_week_start, overlap_minutes, utc_intervals
from matcher.config import MatchConfig
from matcher.profiles import Member, Window
from matcher.ranking import pair_failure
from matcher.service import consent, group_consent
from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.listing import Page, paginate
from matcher.service.outbox import emit
from matcher.states import CAPACITY_STATUSES, TRANSITIONS, Decision, EventType, ExclusionKind, PairingStatus
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.exclusions import exclusion_kinds_between
from matcher.store.members import to_profile, touch
from matcher.store.models import AuditEvent, Feedback, MemberRow, Pairing, RepeatRequest
from matcher.store.pairings import (
    active_pairing_counts,
    closed_between,
    ended_pairing_between,
    has_feedback,
    lock_members,
    pairing_history,
    pairings_query,
    repeat_request_of,
)

RATEABLE_STATUSES = (PairingStatus.APPROVED, PairingStatus.ENDED)


def get_pairing(session: Session, pairing_id: int) -> Pairing:
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFoundError(f"No pairing with id {pairing_id}.", "pairing_id")
    return pairing


def current_pairing(session: Session, pairing_id: int) -> Pairing:
    """A pairing as it stands now: invitations past their time expire first (the caller commits)."""
    consent.expire_due(session)
    return get_pairing(session, pairing_id)


def list_pairings(session: Session, status: str | None, round_id: int | None, page: int, per_page: int) -> Page:
    """Pairings, optionally of one status or round, oldest first (invitations past their time expire first)."""
    consent.expire_due(session)
    return paginate(session, pairings_query(status, round_id), Pairing.id, page, per_page)


def history(session: Session, pairing_id: int) -> list[AuditEvent]:
    """Every change to the pairing: who, when, what and why, oldest first."""
    consent.expire_due(session)
    get_pairing(session, pairing_id)
    return pairing_history(session, pairing_id)


def decide(session: Session, config: MatchConfig, pairing_id: int, decision: Decision, actor: str,
           reason: str | None = None) -> Pairing:
    """Approve, reject or end a pairing, re-checking what may have changed since it was proposed.

    Raises
    ------
    NotFoundError: no such pairing.
    ConflictError: the pairing is not in the status `decision` needs, or (approval) it is no longer possible.

    Withdrawing takes back an open invitation (`withdrawn`: not proposed again, like a rejection).
    With mutual consent an approval invites both members (`invited`) instead of activating the pair.
    Invitations of these members whose time ran out (pairs' and groups') expire first, under the same
    locks, so they free their places before capacity is counted.
    """
    source, target = TRANSITIONS[decision]
    pairing = get_pairing(session, pairing_id)
    ids = list(pairing.member_ids)
    members = lock_members(session, ids + group_consent.members_sharing_due_groups(session, ids))
    consent.expire_locked(session, ids)
    group_consent.expire_locked(session, list(members))
    session.refresh(pairing)
    if pairing.status != source:
        raise ConflictError(f"This pairing is {pairing.status}; only a {source} pairing can be {target}.", "status")
    if decision == Decision.APPROVE:
        check_still_possible(session, config, pairing, members)
        target = consent.approval_target(session)
    previous = pairing.status
    pairing.status, pairing.reason = target, reason
    action = {Decision.END: "ended", Decision.WITHDRAW: "withdrawn"}.get(decision, decision)
    audit(session, actor, action, pairing_id=pairing.id, reason=reason, detail={"from": previous, "to": target})
    consent.announce_decision(session, pairing, target)
    touch(session, *members.values())
    return pairing


def check_still_possible(session: Session, config: MatchConfig, pairing: Pairing,
                         members: dict[int, MemberRow]) -> None:
    """Approval re-checks, inside the locked transaction, every hard filter that ranking applies.

    Both members must still be there; then `ranking.pair_failure` runs in both directions (each
    side's activity, hold and capacity; roles, languages, blocks and declines, shared weekly
    time), with places counted over approved and invited pairings other than this one.
    """
    for member_id in pairing.member_ids:
        row = members.get(member_id)
        if row is None or row.deleted_at is not None:
            raise ConflictError(f"Member {member_id} has left; this pairing cannot be approved.")
    counts = active_pairing_counts(session, list(pairing.member_ids), statuses=CAPACITY_STATUSES,
                                   exclude_pairing=pairing.id)
    profiles = {i: to_profile(members[i], counts.get(i, 0)) for i in pairing.member_ids}
    blocked, declined = exclusions_between(session, pairing.seeker_id, pairing.supporter_id)
    for query_id, peer_id in (pairing.member_ids, pairing.member_ids[::-1]):
        failure = pair_failure(profiles[query_id], profiles[peer_id], config, blocked, declined)
        if failure == "availability":
            minutes = current_overlap(members[query_id], members[peer_id])
            raise ConflictError(f"Their weekly availability now overlaps {minutes} minutes; "
                                f"at least {config.min_overlap_minutes} are needed.", "status")
        if failure is not None:
            raise ConflictError(why_not_approvable(failure, profiles[peer_id]), "status")


def exclusions_between(session: Session, a: int, b: int) -> tuple[set[int], set[int]]:
    """(blocked, declined) as a round saw the two: blocks and declines either way, and closed pairings
    of the two (a rejection; an ending, unless one of them asked to repeat it)."""
    kinds = exclusion_kinds_between(session, a, b)
    declined = ExclusionKind.DECLINE in kinds or closed_between(session, a, b)
    return ({a, b} if ExclusionKind.BLOCK in kinds else set()), ({a, b} if declined else set())


def why_not_approvable(failure: str, peer: Member) -> str:
    """A sentence for the hard filter that the pair fails now (`peer`'s state where it is about one side)."""
    if failure == "inactive":
        state = "held for review; release the hold first" if peer.needs_review else "paused"
        return f"Member {peer.id} is {state}; this pairing cannot be approved now."
    if failure == "capacity":
        return (f"Member {peer.id} has no free capacity left ({peer.active_pairings} of {peer.capacity} "
                "places taken).")
    return {
        "role": "Their roles no longer fit: one of them must seek support and the other give it.",
        "language": "They no longer share a language.",
        "blocked": "One of the two members has blocked the other.",
        "declined": "One of the two members has declined the other, or a coordinator ended or rejected them before.",
        "self": "A member cannot be paired with themselves.",
    }[failure]


def week_intervals(row: MemberRow, week: date) -> list[Interval]:
    """The member's stored availability as UTC minutes of the week starting `week`."""
    return utc_intervals([Window.parse(w) for w in row.availability], row.timezone, week)


def current_overlap(a: MemberRow, b: MemberRow) -> int:
    """Minutes both members are free in the coming week, from their stored availability now."""
    week = coming_week_start()
    return overlap_minutes(week_intervals(a, week), week_intervals(b, week))


def give_feedback(session: Session, pairing_id: int, member_id: int, rating: int, would_continue: bool,
                  comment: str | None, actor: str) -> Feedback:
    """One member of an approved or ended pairing rates it, once."""
    pairing = get_pairing(session, pairing_id)
    if member_id not in pairing.member_ids:
        raise ConflictError(f"Member {member_id} is not in pairing {pairing_id}.", "member_id")
    if pairing.status not in RATEABLE_STATUSES:
        raise ConflictError(f"This pairing is {pairing.status}; only approved or ended pairings can be rated.",
                            "status")
    if has_feedback(session, pairing_id, member_id):
        raise ConflictError(f"Member {member_id} has already rated this pairing.", "member_id")
    feedback = Feedback(pairing_id=pairing_id, member_id=member_id, rating=rating,
                        would_continue=would_continue, comment=comment or None)
    session.add(feedback)
    session.flush()
    audit(session, actor, "feedback", pairing_id=pairing_id, member_id=member_id,
          detail={"rating": rating, "would_continue": would_continue})
    return feedback


def request_repeat(session: Session, member: MemberRow, peer_id: int, actor: str) -> RepeatRequest:
    """Ask for a previous peer again: allowed only after an ended pairing of the two."""
    if ended_pairing_between(session, member.id, peer_id) is None:
        raise ConflictError(f"Member {peer_id} is not a previous peer of member {member.id} "
                                "(no ended pairing of the two).", "peer_id")
    request = repeat_request_of(session, member.id)
    if request is None:
        request = RepeatRequest(member_id=member.id, peer_id=peer_id)
        session.add(request)
    request.peer_id = peer_id
    audit(session, actor, "repeat_requested", member_id=member.id, detail={"peer_id": peer_id})
    return request


def release_hold(session: Session, member: MemberRow, actor: str, reason: str) -> MemberRow:
    """A coordinator has reviewed a held member and lets rounds include them again."""
    if not member.needs_review:
        raise ConflictError(f"Member {member.id} is not held for review.", "needs_review")
    member.needs_review = False
    audit(session, actor, "hold_released", member_id=member.id, reason=reason)
    emit(session, EventType.MEMBER_RELEASED, [member.id], member_id=member.id)
    touch(session, member)
    return member
