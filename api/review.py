"""The coordinator's workflow, shared by the JSON API and the pages: rounds, decisions, feedback.

Nothing becomes a pairing until a person approves it. Each function works in the request's
session, writes an audit event for every change and commits; a conflict raises `ApiError(409)`
and leaves the database as it was.
"""
from __future__ import annotations

from datetime import date

from flask import current_app, g
from sqlalchemy import select

from api.errors import ApiError
from matcher.assignment import propose_round
from matcher.availability import Interval, coming_week_start, overlap_minutes, utc_intervals
from matcher.index import UnknownMemberError
from matcher.profiles import Window
from matcher.storage import (
    ACTIVE_PAIRING_STATUSES, PAIRING_TRANSITIONS, Feedback, MemberRow, Pairing, PairingRound,
    RepeatRequest, active_pairing_counts, audit, blocked_or_declined, lock_for_pairing, lock_rounds,
    round_constraints, touch,
)


def run_round(actor: str, seeker_ids: list[int] | None = None, solver: str = "flow") -> tuple[PairingRound, list[Pairing]]:
    """Propose pairs for everyone waiting (or `seeker_ids`) and store them as `proposed`."""
    state = current_app.extensions["matching"]
    lock_rounds(g.db)
    state.refresh(g.db)
    excluded, blocked, repeats = round_constraints(g.db)
    try:
        result = propose_round(state.index, state.config, seeker_ids, excluded_pairs=excluded,
                               blocked=blocked, repeat_requests=repeats, solver=solver)
    except UnknownMemberError as exc:
        raise ApiError(404, "not_found", f"No member with id {exc.args[0]}.", "seeker_ids") from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_input", str(exc), "seeker_ids") from exc
    unmatched = [{"member_id": u.member_id, "reason": u.reason} for u in result.unmatched]
    round_row = PairingRound(actor=actor, solver=solver, config_digest=result.config_digest,
                             unmatched=unmatched, seconds=round(result.seconds, 4))
    g.db.add(round_row)
    g.db.flush()
    pairings = [Pairing(round_id=round_row.id, kind=p.kind, seeker_id=p.seeker_id, supporter_id=p.supporter_id,
                        score=p.score, explanation=p.explanation, config_digest=result.config_digest)
                for p in result.proposals]
    g.db.add_all(pairings)
    g.db.flush()
    audit(g.db, actor, "round", detail={"round_id": round_row.id, "proposals": len(pairings),
                                        "unmatched": len(unmatched), "solver": solver,
                                        "config": state.config.name, "config_digest": result.config_digest})
    for pairing in pairings:
        audit(g.db, actor, "proposed", pairing_id=pairing.id,
              detail={"round_id": round_row.id, "score": pairing.score, "repeat": pairing.explanation.get("repeat", False)})
    members = g.db.scalars(select(MemberRow).where(MemberRow.id.in_(
        {p.seeker_id for p in pairings} | {p.supporter_id for p in pairings}))).all()
    _commit(*members)
    return round_row, pairings


def get_pairing(pairing_id: int) -> Pairing:
    pairing = g.db.get(Pairing, pairing_id)
    if pairing is None:
        raise ApiError(404, "not_found", f"No pairing with id {pairing_id}.", "pairing_id")
    return pairing


def decide(pairing_id: int, action: str, actor: str, reason: str | None = None) -> Pairing:
    """Approve, reject or end a pairing, re-checking what may have changed since it was proposed."""
    source, target = PAIRING_TRANSITIONS[action]
    pairing = get_pairing(pairing_id)
    members = lock_for_pairing(g.db, [pairing.seeker_id, pairing.supporter_id])
    g.db.refresh(pairing)
    if pairing.status != source:
        raise ApiError(409, "conflict", f"This pairing is {pairing.status}; only a {source} pairing can be "
                       f"{target}.", "status")
    if action == "approve":
        _check_still_possible(pairing, members)
    previous = pairing.status
    pairing.status, pairing.reason = target, reason
    audit(g.db, actor, action if action != "end" else "ended", pairing_id=pairing.id, reason=reason,
          detail={"from": previous, "to": target})
    _commit(*members.values())
    return pairing


def _check_still_possible(pairing: Pairing, members: dict[int, MemberRow]) -> None:
    """Approval re-checks, inside the locked transaction: both members, capacity, blocks, availability."""
    for member_id in (pairing.seeker_id, pairing.supporter_id):
        row = members.get(member_id)
        if row is None or row.deleted_at is not None:
            raise ApiError(409, "conflict", f"Member {member_id} has left; this pairing cannot be approved.")
        if row.status != "active":
            raise ApiError(409, "conflict", f"Member {member_id} is paused; this pairing cannot be approved now.")
        if row.needs_review:
            raise ApiError(409, "conflict", f"Member {member_id} is held for review; release the hold first.")
    counts = active_pairing_counts(g.db, [pairing.seeker_id, pairing.supporter_id],
                                   statuses=ACTIVE_PAIRING_STATUSES, exclude_pairing=pairing.id)
    for member_id in (pairing.seeker_id, pairing.supporter_id):
        row = members[member_id]
        if counts.get(member_id, 0) >= row.capacity:
            raise ApiError(409, "conflict", f"Member {member_id} has no free capacity left "
                           f"({counts.get(member_id, 0)} of {row.capacity} places taken).")
    if blocked_or_declined(g.db, pairing.seeker_id, pairing.supporter_id):
        raise ApiError(409, "conflict", "One of the two members has blocked or declined the other.")
    minutes = current_overlap(members[pairing.seeker_id], members[pairing.supporter_id])
    needed = current_app.extensions["matching"].config.min_overlap_minutes
    if minutes < needed:
        raise ApiError(409, "conflict", f"Their weekly availability now overlaps {minutes} minutes; "
                       f"at least {needed} are needed.")


def week_intervals(row: MemberRow, week: date) -> list[Interval]:
    """The member's stored availability as UTC minutes of the week starting `week`."""
    return utc_intervals([Window.parse(w) for w in row.availability], row.timezone, week)


def current_overlap(a: MemberRow, b: MemberRow) -> int:
    """Minutes both members are free in the coming week, from their stored availability now."""
    week = coming_week_start()
    return overlap_minutes(week_intervals(a, week), week_intervals(b, week))


def give_feedback(pairing_id: int, member_id: int, rating: int, would_continue: bool,
                  comment: str | None, actor: str) -> Feedback:
    """One member of an approved or ended pairing rates it, once."""
    pairing = get_pairing(pairing_id)
    if member_id not in (pairing.seeker_id, pairing.supporter_id):
        raise ApiError(422, "invalid_input", f"Member {member_id} is not in pairing {pairing_id}.", "member_id")
    if pairing.status not in ("approved", "ended"):
        raise ApiError(409, "conflict", f"This pairing is {pairing.status}; only approved or ended pairings "
                       "can be rated.", "status")
    exists = g.db.scalar(select(Feedback.id).where(Feedback.pairing_id == pairing_id, Feedback.member_id == member_id))
    if exists is not None:
        raise ApiError(409, "conflict", f"Member {member_id} has already rated this pairing.", "member_id")
    feedback = Feedback(pairing_id=pairing_id, member_id=member_id, rating=rating,
                        would_continue=would_continue, comment=comment or None)
    g.db.add(feedback)
    g.db.flush()
    audit(g.db, actor, "feedback", pairing_id=pairing_id, member_id=member_id,
          detail={"rating": rating, "would_continue": would_continue})
    g.db.commit()
    return feedback


def request_repeat(member: MemberRow, peer_id: int, actor: str) -> RepeatRequest:
    """Ask for a previous peer again: allowed only after an ended pairing of the two."""
    ended = g.db.scalar(select(Pairing.id).where(
        Pairing.status == "ended",
        ((Pairing.seeker_id == member.id) & (Pairing.supporter_id == peer_id))
        | ((Pairing.seeker_id == peer_id) & (Pairing.supporter_id == member.id))))
    if ended is None:
        raise ApiError(422, "invalid_input", f"Member {peer_id} is not a previous peer of member {member.id} "
                       "(no ended pairing of the two).", "peer_id")
    request = g.db.scalar(select(RepeatRequest).where(RepeatRequest.member_id == member.id))
    if request is None:
        request = RepeatRequest(member_id=member.id, peer_id=peer_id)
        g.db.add(request)
    request.peer_id = peer_id
    audit(g.db, actor, "repeat_requested", member_id=member.id, detail={"peer_id": peer_id})
    g.db.commit()
    return request


def release_hold(member: MemberRow, actor: str, reason: str) -> MemberRow:
    """A coordinator has reviewed a held member and lets rounds include them again."""
    if not member.needs_review:
        raise ApiError(409, "conflict", f"Member {member.id} is not held for review.", "needs_review")
    member.needs_review = False
    audit(g.db, actor, "hold_released", member_id=member.id, reason=reason)
    _commit(member)
    return member


def _commit(*members: MemberRow) -> None:
    """Commit, telling every worker's index that these members' capacity or status changed."""
    if members:
        touch(g.db, *members)
    g.db.commit()
    current_app.extensions["matching"].refresh(g.db)
