"""Formation runs: propose groups for everyone waiting for a programme, and store them for review.

Nothing becomes a group until a coordinator approves it (`matcher.service.group_review`). Proposed
groups hold their members' places: a second run of the programme never places anyone twice.
"""
from __future__ import annotations

from dataclasses import dataclass

from matcher.groups import Formation, ProposedGroup, form_groups
from matcher.service.context import Services
from matcher.service.errors import ConflictError
from matcher.service.group_inputs import candidates_from_index, exclusion_pairs_among, rules_of
from matcher.service.group_views import GroupView, describe_groups
from matcher.service.programmes import get_programme
from matcher.states import GroupRole
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.groups import group_seekers, placed_in_programme, rejected_groups
from matcher.store.members import touch
from matcher.store.models import GroupFormation, GroupMembership, GroupProgramme, MemberRow, SupportGroup
from matcher.store.pairings import lock_rounds


@dataclass
class FormationRun:
    formation_id: int
    programme_id: int
    objective: float
    seconds: float
    groups: list[GroupView]
    left_out: list[dict]


def waiting_rows(session: Session, programme: GroupProgramme) -> list[MemberRow]:
    """Active members who want groups and speak one of the programme's languages (held members too: the
    core leaves them out with their reason). Those already in an open group of the programme are left to
    the caller."""
    return group_seekers(session, programme.languages)


def run_formation(session: Session, services: Services, programme_id: int, actor: str) -> FormationRun:
    """Propose groups for the programme's waiting members and store them as `proposed` (the caller commits).

    Raises
    ------
    NotFoundError: no such programme.
    ConflictError: the programme's rules cannot be met by any group (the core's sentence).
    """
    lock_rounds(session)   # one round or formation at a time writes proposals that hold places
    programme = get_programme(session, programme_id)
    index = services.index.refresh(session)
    placed = placed_in_programme(session, programme_id)
    waiting = [row for row in waiting_rows(session, programme) if row.id not in placed]
    candidates = candidates_from_index(session, index, waiting)
    existing: dict[int, list[int]] = {}
    for member_id, group_id in placed.items():
        existing.setdefault(group_id, []).append(member_id)
    try:
        result = form_groups(candidates, rules_of(programme),
                             exclusion_pairs_among(session, [c.id for c in candidates]),
                             earlier_groups=list(existing.values()),
                             rejected_groups=rejected_groups(session, programme_id))
    except ValueError as exc:
        raise ConflictError(str(exc), "programme_id") from exc
    return store_formation(session, programme, result, actor)


def store_formation(session: Session, programme: GroupProgramme, result: Formation, actor: str) -> FormationRun:
    left_out = [{"member_id": item.member_id, "reason": str(item.reason)} for item in result.left_out]
    run = GroupFormation(programme_id=programme.id, actor=actor, objective=round(result.objective, 6),
                         left_out=left_out, seconds=round(float(result.stats.get("seconds", 0.0)), 4))
    session.add(run)
    session.flush()
    groups = [store_group(session, programme.id, run.id, proposed) for proposed in result.groups]
    audit(session, actor, "formation", detail={"programme_id": programme.id, "formation_id": run.id,
                                               "groups": len(groups), "left_out": len(left_out),
                                               "objective": run.objective})
    for group in groups:
        audit(session, actor, "proposed", group_id=group.id, detail={"formation_id": run.id, "score": group.score})
    members = [session.get(MemberRow, m) for p in result.groups for m in p.member_ids]
    if members:
        touch(session, *[m for m in members if m is not None])   # their facilitator places are held now
    return FormationRun(run.id, programme.id, run.objective, run.seconds, describe_groups(session, groups), left_out)


def store_group(session: Session, programme_id: int, formation_id: int | None, proposed: ProposedGroup) -> SupportGroup:
    """One proposed group and its members' places."""
    group = SupportGroup(programme_id=programme_id, formation_id=formation_id, language=proposed.language,
                         slot=proposed.slot.to_dict(), score=round(proposed.score, 6),
                         score_parts=jsonable(proposed.score_parts))
    session.add(group)
    session.flush()
    session.add_all([GroupMembership(group_id=group.id, member_id=m, role=GroupRole.FACILITATOR
                                     if m == proposed.facilitator_id else GroupRole.MEMBER)
                     for m in proposed.member_ids])
    session.flush()
    return group


def jsonable(parts: dict) -> dict:
    """Score parts as JSON values (sets and tuples as sorted lists, numpy numbers as floats)."""
    out: dict = {}
    for key, value in parts.items():
        if isinstance(value, (set, frozenset)):
            out[key] = sorted(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out
