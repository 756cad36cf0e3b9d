"""Mutual consent for support groups: approval invites the members; each accepts or declines for themselves.

With a programme's `consent = coordinator` an approved group starts at once (the behaviour before).
With `mutual` it becomes `invited` and each place carries an invitation. An acceptance places the
member; the group starts (`approved`, `group.started`) once the accepted members reach the
programme's minimum size, its facilitator among them if it needs one. A decline frees the place and
is recorded as a decline exclusion between the decliner and everyone else in the group (they are
never grouped or paired again); the coordinator sees who and why. An invitation not answered within
`invitation_days` expires and frees the place. A group that has not started when no invitation is
left open becomes `unfilled`: the members who accepted are free for the next formation. Until then a
coordinator may top it up with a late joiner (who is invited in turn) or withdraw it.

Every transition runs under the members' and the groups' locks that approval takes, is audited and
emits its event. Expiry runs from `peermatch expire-invitations` and lazily whenever groups are read
or decided.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.outbox import emit
from matcher.states import (
    Answer,
    Consent,
    EventType,
    ExclusionKind,
    GroupRole,
    GroupStatus,
    InvitationStatus,
    Programme,
)
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.exclusions import exclude
from matcher.store.groups import (
    current_memberships,
    due_group_invitations,
    latest_place,
    lock_groups,
    places_of_groups,
)
from matcher.store.members import touch
from matcher.store.models import GroupMembership, GroupProgramme, MemberRow, SupportGroup, utcnow
from matcher.store.pairings import lock_members
from matcher.store.programmes import programme_setting

EXPIRY_ACTOR = "peermatch:invitation-expiry"
PLACED = (None, InvitationStatus.ACCEPTED)    # a place without an invitation was placed directly


def new_programme_default(session: Session) -> tuple[Consent, int]:
    """What a new group programme asks for unless told: the installation's `groups` setting."""
    row = programme_setting(session, Programme.GROUPS)
    return Consent(row.consent), row.invitation_days


def approval_target(programme: GroupProgramme) -> GroupStatus:
    """What an approved group becomes: meeting at once, or invited (mutual consent)."""
    return GroupStatus.INVITED if programme.consent == Consent.MUTUAL else GroupStatus.APPROVED


def invite(session: Session, group: SupportGroup, places: list[GroupMembership], programme: GroupProgramme,
           now: datetime | None = None) -> None:
    """Send these places their invitations (`invitation_days` to answer) and tell the members' clients."""
    if not places:
        return
    now = now or utcnow()
    expires = now + timedelta(days=programme.invitation_days)
    for place in places:
        place.invitation, place.invited_at, place.expires_at, place.answered_at = (
            InvitationStatus.INVITED, now, expires, None)
    emit(session, EventType.GROUP_INVITED, [p.member_id for p in places], group_id=group.id,
         expires_at=expires.isoformat(timespec="seconds") + "Z")


def lock_for_answer(session: Session, group_id: int) -> SupportGroup:
    """Lock the group's current members and the group (as approval does); return the group fresh."""
    if session.get(SupportGroup, group_id) is None:
        raise NotFoundError(f"No group with id {group_id}.", "group_id")
    lock_members(session, [p.member_id for p in current_memberships(session, [group_id])[group_id]])
    group = lock_groups(session, [group_id]).get(group_id)
    if group is None:
        raise NotFoundError(f"No group with id {group_id}.", "group_id")
    return group


def answer(session: Session, group_id: int, member_id: int, choice: Answer, actor: str,
           reason: str | None = None, now: datetime | None = None) -> GroupMembership:
    """A member accepts or declines their place in an invited group; returns their place.

    Accepting twice changes nothing; a member who accepted may still decline until the group starts.

    Raises
    ------
    NotFoundError: no such group.
    ConflictError: the member was never invited to it, or the invitation is no longer open
        (declined, expired, or the group was withdrawn or left unfilled).
    """
    now = now or utcnow()
    group = lock_for_answer(session, group_id)
    place = latest_place(session, group_id, member_id)
    if place is None or place.invitation is None:
        raise ConflictError(f"Member {member_id} has no invitation to group {group_id}.", "member_id")
    if place.invitation == InvitationStatus.INVITED and place.expires_at is not None and place.expires_at <= now:
        raise ConflictError(f"This invitation expired at {place.expires_at:%Y-%m-%d %H:%M} UTC; it can no longer "
                            "be answered.", "status")
    if choice == Answer.ACCEPT and place.invitation == InvitationStatus.ACCEPTED and place.left_at is None \
            and group.status in (GroupStatus.INVITED, GroupStatus.APPROVED):
        return place
    if not _answerable(group, place, choice):
        state = place.invitation if group.status in (GroupStatus.INVITED, GroupStatus.APPROVED) else group.status
        raise ConflictError(f"This invitation is {state}; only an open invitation can be answered (and an "
                            "acceptance changed only before the group starts).", "status")
    if choice == Answer.ACCEPT:
        _accept(session, group, place, actor, now)
    else:
        _decline(session, group, place, actor, reason, now)
        settle(session, group, actor)
    others = [p.member_id for p in current_memberships(session, [group_id])[group_id]]
    touch(session, *_rows(session, [member_id, *others]))   # a facilitator's place may have changed
    return place


def _answerable(group: SupportGroup, place: GroupMembership, choice: Answer) -> bool:
    """An open invitation can be answered; an acceptance can still become a decline until the group starts."""
    if place.left_at is not None or group.status not in (GroupStatus.INVITED, GroupStatus.APPROVED):
        return False
    changing_mind = choice == Answer.DECLINE and place.invitation == InvitationStatus.ACCEPTED \
        and group.status == GroupStatus.INVITED
    return place.invitation == InvitationStatus.INVITED or changing_mind


def _accept(session: Session, group: SupportGroup, place: GroupMembership, actor: str, now: datetime) -> None:
    place.invitation, place.answered_at = InvitationStatus.ACCEPTED, now
    audit(session, actor, "accepted", group_id=group.id, member_id=place.member_id, detail={"role": place.role})
    if group.status == GroupStatus.APPROVED:   # the group meets already: they join it
        emit(session, EventType.GROUP_STARTED, [place.member_id], group_id=group.id)
        return
    start_if_ready(session, group, actor)


def _decline(session: Session, group: SupportGroup, place: GroupMembership, actor: str, reason: str | None,
             now: datetime) -> None:
    """The place is freed, and the decliner is never grouped with the others again (pairs stay possible)."""
    place.invitation, place.answered_at, place.left_at, place.reason = InvitationStatus.DECLINED, now, now, reason
    others = [p.member_id for p in current_memberships(session, [group.id])[group.id] if p.id != place.id]
    for other in others:
        exclude(session, place.member_id, other, ExclusionKind.GROUP_DECLINE)
    audit(session, actor, "declined", group_id=group.id, member_id=place.member_id, reason=reason,
          detail={"role": place.role})


def readiness(places: list[GroupMembership], programme: GroupProgramme) -> str | None:
    """Why the group cannot start yet (None: it can): too few accepted, or its facilitator has not."""
    accepted = [p for p in places if p.invitation in PLACED]
    if len(accepted) < programme.min_size:
        return f"Only {len(accepted)} of the {programme.min_size} people it needs accepted."
    if programme.needs_facilitator and not any(p.role == GroupRole.FACILITATOR for p in accepted):
        return "Its facilitator has not accepted."
    return None


def start_if_ready(session: Session, group: SupportGroup, actor: str) -> bool:
    """Start an invited group whose accepted members now meet the programme's minimum (and facilitator)."""
    places = current_memberships(session, [group.id])[group.id]
    programme = session.get(GroupProgramme, group.programme_id)
    if group.status != GroupStatus.INVITED or programme is None or readiness(places, programme) is not None:
        return False
    accepted = [p.member_id for p in places if p.invitation in PLACED]
    group.status = GroupStatus.APPROVED
    audit(session, actor, "started", group_id=group.id,
          detail={"from": GroupStatus.INVITED, "to": GroupStatus.APPROVED, "accepted": len(accepted)})
    emit(session, EventType.GROUP_STARTED, accepted, group_id=group.id)
    return True


def settle(session: Session, group: SupportGroup, actor: str) -> None:
    """After a place closed: an invited group with no invitation left open starts, or is left unfilled."""
    session.flush()
    places = current_memberships(session, [group.id])[group.id]
    if group.status != GroupStatus.INVITED or any(p.invitation == InvitationStatus.INVITED for p in places):
        return
    if start_if_ready(session, group, actor):
        return
    programme = session.get(GroupProgramme, group.programme_id)
    why = readiness(places, programme) if programme is not None else None
    group.status, group.reason = GroupStatus.UNFILLED, why
    audit(session, actor, "unfilled", group_id=group.id, reason=why,
          detail={"from": GroupStatus.INVITED, "to": GroupStatus.UNFILLED})
    emit(session, EventType.GROUP_ENDED, [p.member_id for p in places], group_id=group.id,
         status=GroupStatus.UNFILLED)


def withdraw(session: Session, group: SupportGroup, actor: str, reason: str) -> None:
    """A coordinator takes back an invited group's invitations (the caller holds the locks and audits)."""
    places = current_memberships(session, [group.id])[group.id]
    group.status, group.reason = GroupStatus.WITHDRAWN, reason
    emit(session, EventType.GROUP_ENDED, [p.member_id for p in places], group_id=group.id,
         status=GroupStatus.WITHDRAWN)


def members_sharing_due_groups(session: Session, member_ids: Iterable[int] | None,
                               now: datetime | None = None) -> list[int]:
    """Everyone in the groups where these members (None: anyone) have an invitation past its time: who must be
    locked too before those invitations expire (a group left unfilled frees its facilitator's place)."""
    due = due_group_invitations(session, now or utcnow(), member_ids)
    if not due:
        return []
    groups = current_memberships(session, sorted({p.group_id for p in due}))
    return sorted({p.member_id for places in groups.values() for p in places})


def expire_due(session: Session, now: datetime | None = None, actor: str = EXPIRY_ACTOR) -> list[GroupMembership]:
    """Expire every group invitation whose time ran out, under its group's locks; the caller commits.

    Cheap when nothing is due (one indexed query, no lock), so reads call it before they answer.
    """
    now = now or utcnow()
    members = members_sharing_due_groups(session, None, now)
    if not members:
        return []
    lock_members(session, members)
    return expire_locked(session, members, now, actor)


def expire_locked(session: Session, locked: Iterable[int], now: datetime | None = None,
                  actor: str = EXPIRY_ACTOR) -> list[GroupMembership]:
    """Expire the due invitations of members this transaction has locked, in groups whose members are all
    locked (others wait for the next reader); frees the places, then settles each group."""
    now, locked = now or utcnow(), set(locked)
    due = due_group_invitations(session, now, locked)
    current = current_memberships(session, sorted({p.group_id for p in due}))
    # only groups whose every member this transaction holds: nobody else can be waiting for their rows
    ready = [gid for gid, places in current.items() if {p.member_id for p in places} <= locked]
    groups = lock_groups(session, ready)
    expired, changed = [], set()
    for group_id, group in groups.items():
        changed |= {p.member_id for p in current[group_id]}
        for place in (p for p in due if p.group_id == group_id):
            place.invitation, place.left_at = InvitationStatus.EXPIRED, now
            audit(session, actor, "invitation_expired", group_id=group_id, member_id=place.member_id,
                  detail={"from": InvitationStatus.INVITED, "to": InvitationStatus.EXPIRED})
            emit(session, EventType.GROUP_INVITATION_EXPIRED, [place.member_id], group_id=group_id,
                 member_id=place.member_id)
            expired.append(place)
        settle(session, group, actor)
    if changed:
        touch(session, *_rows(session, sorted(changed)))
    return expired


def invitations_of(session: Session, group_ids: Iterable[int]) -> dict[int, list[GroupMembership]]:
    """Group id -> every invitation its places carried (answered ones included), for coordinators' pages."""
    return {gid: [p for p in places if p.invitation is not None]
            for gid, places in places_of_groups(session, group_ids).items()}


def _rows(session: Session, member_ids: list[int]) -> list[MemberRow]:
    rows = [session.get(MemberRow, m) for m in member_ids]
    return [row for row in rows if row is not None and row.deleted_at is None]
