"""Coordinators' decisions on groups: approve, reject, end, move a member, add a late joiner, remove a member.

Every change locks the members involved (`store.pairings.lock_members`) and the groups, re-reads
them, re-checks the programme's rules with `matcher.groups.check_group` and writes an audit event;
a refusal raises `ConflictError` before anything is kept (the caller rolls back). Taking a member
out never makes a group unsafe, so removals are not refused; what the group now lacks (too small,
no facilitator) is returned as `warnings` and stops its approval until fixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from matcher.groups import GroupCandidate, Violation, check_group
from matcher.service import group_consent
from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.group_inputs import candidates_now, exclusion_pairs_among, rules_of, slot_of
from matcher.service.group_views import GroupView, describe_group, describe_groups
from matcher.service.listing import paginate
from matcher.service.outbox import emit
from matcher.service.programmes import get_programme
from matcher.states import OPEN_GROUP_STATUSES, EventType, GroupRole, GroupStatus, MemberFormat, MemberStatus
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.groups import (
    current_memberships,
    group_history,
    groups_query,
    lock_groups,
    membership,
    placed_in_programme,
    rejected_groups,
)
from matcher.store.members import live_member, touch
from matcher.store.models import AuditEvent, GroupMembership, SupportGroup, utcnow
from matcher.store.pairings import lock_members

# action -> (the status it needs, the status it leaves); with mutual consent approval invites instead
# (`group_consent.approval_target`), and withdrawing takes an invited group's invitations back
GROUP_EVENTS = {GroupStatus.APPROVED: EventType.GROUP_STARTED, GroupStatus.ENDED: EventType.GROUP_ENDED}
GROUP_TRANSITIONS = {
    "approve": (GroupStatus.PROPOSED, GroupStatus.APPROVED),
    "reject": (GroupStatus.PROPOSED, GroupStatus.REJECTED),
    "end": (GroupStatus.APPROVED, GroupStatus.ENDED),
    "withdraw": (GroupStatus.INVITED, GroupStatus.WITHDRAWN),
}


@dataclass
class GroupChange:
    """A group after a change, and what it now lacks (removals only)."""

    group: GroupView
    warnings: list[dict] = field(default_factory=list)


def get_group(session: Session, group_id: int) -> SupportGroup:
    group = session.get(SupportGroup, group_id)
    if group is None:
        raise NotFoundError(f"No group with id {group_id}.", "group_id")
    return group


def list_groups(session: Session, programme_id: int, status: str | None, page: int, per_page: int) -> dict:
    """A programme's groups (invitations past their time expire first; the caller commits)."""
    group_consent.expire_due(session)
    found = paginate(session, groups_query(programme_id, status), SupportGroup.id, page, per_page)
    found.items = describe_groups(session, found.items)
    return found.as_dict("groups")


def show_group(session: Session, group_id: int) -> GroupView:
    """A group as it stands now: invitations past their time expire first (the caller commits)."""
    group_consent.expire_due(session)
    return describe_group(session, get_group(session, group_id))


def history(session: Session, group_id: int) -> list[AuditEvent]:
    group_consent.expire_due(session)
    get_group(session, group_id)
    return group_history(session, group_id)


def _lock(session: Session, group_ids: list[int], extra_members: tuple[int, ...] = ()) -> dict[int, SupportGroup]:
    """Lock the groups' current members, `extra_members` and the groups themselves; return the groups fresh.

    Invitations of those members whose time ran out expire first, under the same locks (with everyone
    in the groups they concern), so they free their places before any rule is checked.
    """
    for group_id in group_ids:
        get_group(session, group_id)
    places = current_memberships(session, group_ids)
    members = [p.member_id for ps in places.values() for p in ps] + list(extra_members)
    locked = members + group_consent.members_sharing_due_groups(session, members)
    lock_members(session, locked)
    group_consent.expire_locked(session, locked)
    groups = lock_groups(session, group_ids)
    if len(groups) != len(set(group_ids)):
        raise NotFoundError("A group was removed meanwhile.", "group_id")
    return groups


def violations(session: Session, group: SupportGroup, member_ids: list[int],
               facilitator_id: int | None) -> list[Violation]:
    """What the group would break with these members and facilitator, checked against the members as they are now."""
    candidates = candidates_now(session, member_ids, exclude_group=group.id)
    missing = [m for m in member_ids if m not in candidates]
    if missing:
        raise ConflictError(f"Member {missing[0]} has left; they cannot be in this group.", "member_id")
    ordered: list[GroupCandidate] = [candidates[m] for m in member_ids]
    programme = get_programme(session, group.programme_id)
    return check_group(ordered, rules_of(programme), slot_of(group), group.language,
                       exclusion_pairs_among(session, member_ids), facilitator_id,
                       rejected_groups(session, group.programme_id))


def refuse_if_broken(found: list[Violation]) -> None:
    """Refuse a change that breaks a rule, naming every rule broken and the members it concerns."""
    if found:
        raise ConflictError(" ".join(f"{v.message} ({v.rule.replace('_', ' ')}: member"
                                     f"{'s' if len(v.member_ids) > 1 else ''} {', '.join(map(str, v.member_ids))})"
                                     for v in found), "member_id")


def members_and_facilitator(session: Session, group: SupportGroup) -> tuple[list[int], int | None]:
    places = current_memberships(session, [group.id])[group.id]
    facilitator = next((p.member_id for p in places if p.role == GroupRole.FACILITATOR), None)
    return [p.member_id for p in places], facilitator


def decide(session: Session, group_id: int, action: str, actor: str, reason: str | None = None) -> GroupView:
    """Approve, reject or end a group; approval re-checks every rule against the members as they are now.

    Raises
    ------
    NotFoundError: no such group.
    ConflictError: the group is not in the status `action` needs, or (approval) it breaks a rule now.
    """
    source, target = GROUP_TRANSITIONS[action]
    group = _lock(session, [group_id])[group_id]
    if group.status != source:
        raise ConflictError(f"This group is {group.status}; only a {source} group can be {target}.", "status")
    member_ids, facilitator = members_and_facilitator(session, group)
    if action == "approve":
        refuse_if_broken(violations(session, group, member_ids, facilitator))
        target = group_consent.approval_target(get_programme(session, group.programme_id))
    previous = group.status
    audit(session, actor, {"end": "ended", "withdraw": "withdrawn"}.get(action, action), group_id=group.id,
          reason=reason, detail={"from": previous, "to": target})
    if action == "withdraw":
        group_consent.withdraw(session, group, actor, reason or "")
    group.status, group.reason = target, reason
    if target == GroupStatus.INVITED:
        group_consent.invite(session, group, current_memberships(session, [group.id])[group.id],
                             get_programme(session, group.programme_id))
    elif target in GROUP_EVENTS:   # the members' clients hear of a group that starts or ends (never a proposal)
        emit(session, GROUP_EVENTS[target], member_ids, group_id=group.id)
    _touch(session, member_ids)
    return describe_group(session, group)


def _tell_member_left(session: Session, group: SupportGroup, member_id: int, actor: str) -> None:
    """A member left a group that was meeting or invited: their client and the others' clients hear of it
    (an invited group may now start, or be left unfilled)."""
    if group.status in (GroupStatus.APPROVED, GroupStatus.INVITED):
        others, _ = members_and_facilitator(session, group)
        emit(session, EventType.GROUP_MEMBER_LEFT, [member_id, *others], group_id=group.id, member_id=member_id)
    if group.status == GroupStatus.INVITED:
        group_consent.settle(session, group, actor)


def add_member(session: Session, group_id: int, member_id: int, actor: str,
               role: GroupRole = GroupRole.MEMBER) -> GroupView:
    """Place a member (a late joiner) in an open group, if every rule still holds with them in it.

    Raises
    ------
    NotFoundError: no such group or member.
    ConflictError: a closed group, a member who does not want groups or already has a group of this
        programme, or a rule the group would break with them (language, slot, size, a block).
    """
    group = _lock(session, [group_id], (member_id,))[group_id]
    _check_joinable(session, group, member_id)
    member_ids, facilitator = members_and_facilitator(session, group)
    if role == GroupRole.FACILITATOR and facilitator is not None:
        raise ConflictError(f"Group {group_id} has a facilitator already (member {facilitator}).", "role")
    refuse_if_broken(violations(session, group, member_ids + [member_id],
                                member_id if role == GroupRole.FACILITATOR else facilitator))
    place = GroupMembership(group_id=group.id, member_id=member_id, role=role)
    session.add(place)
    audit(session, actor, "member_added", group_id=group.id, member_id=member_id, detail={"role": role})
    programme = get_programme(session, group.programme_id)
    if group.status != GroupStatus.PROPOSED and group_consent.approval_target(programme) == GroupStatus.INVITED:
        group_consent.invite(session, group, [place], programme)   # a late joiner says yes for themselves too
    _touch(session, member_ids + [member_id])
    session.flush()
    return describe_group(session, group)


def _check_joinable(session: Session, group: SupportGroup, member_id: int) -> None:
    if group.status not in OPEN_GROUP_STATUSES:
        raise ConflictError(f"This group is {group.status}; members join only proposed or approved groups.", "status")
    row = live_member(session, member_id)
    if row is None:
        raise NotFoundError(f"No member with id {member_id}.", "member_id")
    if row.status != MemberStatus.ACTIVE:
        raise ConflictError(f"Member {member_id} is paused; they cannot join a group now.", "member_id")
    if MemberFormat.GROUP not in (row.formats or []):
        raise ConflictError(f"Member {member_id} has not asked to meet in groups.", "member_id")
    current = placed_in_programme(session, group.programme_id).get(member_id)
    if current is not None:
        raise ConflictError(f"Member {member_id} is in group {current} of this programme already; move them "
                            "instead.", "member_id")


def remove_member(session: Session, group_id: int, member_id: int, actor: str, reason: str) -> GroupChange:
    """Take a member out of an open group, saying why; returns what the group now lacks, if anything."""
    group = _lock(session, [group_id], (member_id,))[group_id]
    place = _open_place(session, group, member_id)
    _leave(place, reason)
    audit(session, actor, "member_removed", group_id=group.id, member_id=member_id, reason=reason)
    session.flush()
    _tell_member_left(session, group, member_id, actor)
    _touch(session, [member_id])
    return GroupChange(describe_group(session, group), _what_it_lacks(session, group))


def move_member(session: Session, group_id: int, member_id: int, to_group_id: int | None, actor: str,
                reason: str | None = None) -> GroupChange:
    """Move a member from an open group to another proposed group of the programme, or out (`to_group_id` None).

    Raises
    ------
    ConflictError: not in that group, a target that is not a proposed group of the same programme, or a
        rule the target would break with them (no shared language or slot, a block, too big).
    """
    ids = [group_id] + ([to_group_id] if to_group_id is not None else [])
    groups = _lock(session, ids, (member_id,))
    group = groups[group_id]
    place = _open_place(session, group, member_id)
    target = groups.get(to_group_id) if to_group_id is not None else None
    if target is not None:
        _check_target(group, target)
        target_ids, target_facilitator = members_and_facilitator(session, target)
        refuse_if_broken(violations(session, target, target_ids + [member_id], target_facilitator))
    _leave(place, reason)
    session.flush()
    _tell_member_left(session, group, member_id, actor)
    if target is not None:
        session.add(GroupMembership(group_id=target.id, member_id=member_id, role=GroupRole.MEMBER))
    detail = {"from_group": group.id, "to_group": to_group_id}
    audit(session, actor, "member_moved", group_id=group.id, member_id=member_id, reason=reason, detail=detail)
    if target is not None:
        audit(session, actor, "member_moved", group_id=target.id, member_id=member_id, reason=reason, detail=detail)
    _touch(session, [member_id])
    session.flush()
    return GroupChange(describe_group(session, group), _what_it_lacks(session, group))


def _check_target(source: SupportGroup, target: SupportGroup) -> None:
    if target.id == source.id:
        raise ConflictError("The member is in this group already.", "to_group_id")
    if target.programme_id != source.programme_id:
        raise ConflictError(f"Group {target.id} belongs to another programme.", "to_group_id")
    if target.status != GroupStatus.PROPOSED:
        raise ConflictError(f"Group {target.id} is {target.status}; members are moved only into proposed groups "
                            "(add a late joiner to an approved one).", "to_group_id")


def _open_place(session: Session, group: SupportGroup, member_id: int) -> GroupMembership:
    if group.status not in OPEN_GROUP_STATUSES:
        raise ConflictError(f"This group is {group.status}; its members can no longer change.", "status")
    place = membership(session, group.id, member_id)
    if place is None:
        raise ConflictError(f"Member {member_id} is not in group {group.id}.", "member_id")
    return place


def _leave(place: GroupMembership, reason: str | None) -> None:
    place.left_at, place.reason = utcnow(), reason


def _what_it_lacks(session: Session, group: SupportGroup) -> list[dict]:
    """The rules the group breaks after someone left (empty when it is still fine)."""
    session.flush()
    member_ids, facilitator = members_and_facilitator(session, group)
    if not member_ids:
        return [{"rule": "size_below_min", "member_ids": [], "message": "The group has nobody left."}]
    return [{"rule": str(v.rule), "member_ids": list(v.member_ids), "message": v.message}
            for v in violations(session, group, member_ids, facilitator)]


def _touch(session: Session, member_ids: list[int]) -> None:
    """Facilitators' places changed: every worker's index must see it."""
    rows = [row for row in (live_member(session, m) for m in member_ids) if row is not None]
    if rows:
        touch(session, *rows)
