"""Pairing rounds: propose the best set of pairs for everyone waiting, and store them for review.

Nothing becomes a pairing until a person approves it (`matcher.service.review`). Proposals hold
their members' places until then, so a second round never double-books anyone.
"""
from __future__ import annotations

from matcher.index import UnknownMemberError
from matcher.rounds import propose_round
from matcher.service.context import Services
from matcher.service.errors import ConflictError, NotFoundError
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.members import touch
from matcher.store.models import Pairing, PairingRound
from matcher.store.pairings import lock_rounds, members_of, round_constraints


def run_round(session: Session, services: Services, actor: str, seeker_ids: list[int] | None = None,
              solver: str = "flow") -> tuple[PairingRound, list[Pairing]]:
    """Propose pairs for everyone waiting (or `seeker_ids`) and store them as `proposed` (the caller commits).

    Raises
    ------
    NotFoundError: a seeker id that is not a member with a vector.
    ConflictError: a supporter among `seeker_ids` (they do not wait for a pair).
    """
    lock_rounds(session)
    index = services.index.refresh(session)
    excluded, blocked, repeats = round_constraints(session)
    try:
        result = propose_round(index, services.config, seeker_ids, excluded_pairs=excluded,
                               blocked=blocked, repeat_requests=repeats, solver=solver)
    except UnknownMemberError as exc:
        raise NotFoundError(f"No member with id {exc.args[0]}.", "seeker_ids") from exc
    except ValueError as exc:
        raise ConflictError(str(exc), "seeker_ids") from exc
    unmatched = [{"member_id": u.member_id, "reason": u.reason} for u in result.unmatched]
    round_row = PairingRound(actor=actor, solver=solver, config_digest=result.config_digest,
                             unmatched=unmatched, seconds=round(result.seconds, 4))
    session.add(round_row)
    session.flush()
    pairings = [Pairing(round_id=round_row.id, kind=p.kind, seeker_id=p.seeker_id, supporter_id=p.supporter_id,
                        score=p.score, explanation=p.explanation, config_digest=result.config_digest)
                for p in result.proposals]
    session.add_all(pairings)
    session.flush()
    audit(session, actor, "round", detail={"round_id": round_row.id, "proposals": len(pairings),
                                           "unmatched": len(unmatched), "solver": solver,
                                           "config": services.config.name, "config_digest": result.config_digest})
    for pairing in pairings:
        audit(session, actor, "proposed", pairing_id=pairing.id,
              detail={"round_id": round_row.id, "score": pairing.score,
                      "repeat": pairing.explanation.get("repeat", False)})
    members = members_of(session, pairings)
    if members:
        touch(session, *members)   # their places are held now: every worker's index must see it
    return round_row, pairings
