"""Late joiners: the open groups with room that fit a member, best first, across every programme they can join.

A coordinator places them with `group_review.add_member`, which checks the same rules under a lock.
"""
from __future__ import annotations

from matcher.groups import OpenGroup, group_suggestions
from matcher.service.errors import ConflictError, HeldForReviewError
from matcher.service.group_inputs import candidates_now, exclusion_pairs_among, rules_of, slot_of
from matcher.service.group_views import slot_in
from matcher.states import OPEN_GROUP_STATUSES, GroupRole, MemberFormat
from matcher.store import Session
from matcher.store.groups import (
    current_memberships,
    group_seekers,
    open_groups_with_room,
    placed_in_programme,
    programmes_by_id,
    rejected_groups,
)
from matcher.store.models import MemberRow, SupportGroup


def suggest_groups(session: Session, member: MemberRow, k: int = 10) -> list[dict]:
    """Open groups `member` could join without breaking a rule, most similar first.

    Each suggestion: ``group_id``, ``programme_id``, ``programme``, ``score`` (mean similarity to the
    group's members) and ``explanation`` (the core's, with the slot in the member's own time zone).

    Raises
    ------
    HeldForReviewError: the member is held for a coordinator's review.
    ConflictError: the member has not asked to meet in groups.
    """
    if member.needs_review:
        raise HeldForReviewError(f"Member {member.id} is held for review; a coordinator talks with them first.",
                                 "member_id")
    if MemberFormat.GROUP not in (member.formats or []):
        raise ConflictError(f"Member {member.id} has not asked to meet in groups; add \"group\" to their formats.",
                            "formats")
    groups = [g for g in open_groups_with_room(session) if g.language in member.languages]
    programmes = programmes_by_id(session, {g.programme_id for g in groups})
    places = current_memberships(session, [g.id for g in groups])
    ids = sorted({p.member_id for ps in places.values() for p in ps} | {member.id})
    candidates = candidates_now(session, ids)
    if member.id not in candidates:
        return []
    exclusions = exclusion_pairs_among(session, ids)
    fits: list[dict] = []
    for programme_id, programme in programmes.items():
        if member.id in placed_in_programme(session, programme_id):
            continue   # nobody is in two groups of one programme
        open_groups = [open_group(g, places[g.id], candidates) for g in groups if g.programme_id == programme_id]
        for fit in group_suggestions(candidates[member.id], open_groups, rules_of(programme), exclusions, k,
                                     rejected_groups(session, programme_id)):
            fits.append({"group_id": fit.group_id, "programme_id": programme_id, "programme": programme.name,
                         "score": round(fit.score, 6), "explanation": explanation(fit.explanation, member,
                                                                                   _group(groups, fit.group_id))})
    fits.sort(key=lambda f: (-f["score"], f["group_id"]))
    return fits[:k]


def open_group(group: SupportGroup, places: list, candidates: dict) -> OpenGroup:
    members = tuple(candidates[p.member_id] for p in places if p.member_id in candidates)
    facilitator = next((p.member_id for p in places if p.role == GroupRole.FACILITATOR), None)
    return OpenGroup(group.id, members, group.language, slot_of(group), facilitator)


def explanation(core: dict, member: MemberRow, group: SupportGroup) -> dict:
    """The core's explanation as JSON, the slot always in the member's own time zone."""
    out = {key: (sorted(value) if isinstance(value, (set, frozenset)) else value) for key, value in core.items()}
    out["slot"] = slot_in(group.slot, member.timezone)
    out["group_status"] = group.status
    return out


def _group(groups: list[SupportGroup], group_id: int) -> SupportGroup:
    return next(g for g in groups if g.id == group_id)


def joiners_for(session: Session, group: SupportGroup, limit: int = 20) -> list[dict]:
    """Members waiting for the group's programme who could join this group now, most similar first
    (``member_id``, ``display_name``, ``score``): what a coordinator picks a late joiner from."""
    if group.status not in OPEN_GROUP_STATUSES:
        return []
    programme = programmes_by_id(session, {group.programme_id})[group.programme_id]
    placed = placed_in_programme(session, programme.id)
    waiting = [row for row in group_seekers(session, [group.language]) if row.id not in placed and not row.needs_review]
    places = current_memberships(session, [group.id])[group.id]
    ids = [p.member_id for p in places] + [row.id for row in waiting]
    candidates = candidates_now(session, ids)
    exclusions = exclusion_pairs_among(session, ids)
    target, rules = open_group(group, places, candidates), rules_of(programme)
    rejected = rejected_groups(session, programme.id)
    found: list[dict] = []
    for row in waiting:
        if row.id in candidates:
            for fit in group_suggestions(candidates[row.id], [target], rules, exclusions, 1, rejected):
                found.append({"member_id": row.id, "display_name": row.display_name or "", "score": fit.score})
    found.sort(key=lambda f: (-f["score"], f["member_id"]))
    return found[:limit]
