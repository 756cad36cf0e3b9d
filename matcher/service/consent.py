"""Mutual consent for pairs: a coordinator's approval invites both members; each accepts or declines.

With `consent = coordinator` approval makes a pairing active at once (the behaviour before consent
existed). With `mutual` it becomes `invited`; it turns `approved` (active) once both accepted,
`declined` when one declines (a decline exclusion: never proposed again) and `expired` when
nobody answered within `invitation_days`. Every transition runs under the members' locks that
approval takes, is audited and emits its event. Expiry runs from `peermatch expire-invitations` and
lazily whenever pairings are read or decided, so nothing depends on a scheduler.

`settings` and `configure` also serve the `groups` row: the consent new group programmes start with
(each programme then keeps its own; `group_consent` runs their invitations).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.outbox import emit
from matcher.states import Answer, Consent, EventType, ExclusionKind, PairingStatus, Programme
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.exclusions import exclude
from matcher.store.members import touch
from matcher.store.models import Pairing, ProgrammeSetting, utcnow
from matcher.store.pairings import lock_members
from matcher.store.programmes import due_invitation_ids, pairings_by_id, programme_setting

EXPIRY_ACTOR = "peermatch:invitation-expiry"
MAX_INVITATION_DAYS = 90


def settings(session: Session, programme: str = Programme.PAIRS) -> ProgrammeSetting:
    """The programme's consent setting and invitation time."""
    return programme_setting(session, programme)


def configure(session: Session, actor: str, consent: Consent | None = None, invitation_days: int | None = None,
              programme: str = Programme.PAIRS) -> ProgrammeSetting:
    """Change how a programme asks for consent; open invitations keep the time they were given.

    Raises
    ------
    ValueError: invitation_days outside 1..90.
    """
    row = programme_setting(session, programme)
    if invitation_days is not None and not 1 <= invitation_days <= MAX_INVITATION_DAYS:
        raise ValueError(f"invitation_days must be between 1 and {MAX_INVITATION_DAYS}.")
    before = {"consent": row.consent, "invitation_days": row.invitation_days}
    row.consent = Consent(consent) if consent is not None else row.consent
    row.invitation_days = invitation_days if invitation_days is not None else row.invitation_days
    audit(session, actor, "programme_configured", detail={"programme": programme, "from": before,
                                                          "to": {"consent": row.consent,
                                                                 "invitation_days": row.invitation_days}})
    return row


def approval_target(session: Session) -> PairingStatus:
    """What an approved pair becomes: active at once, or invited (mutual consent)."""
    return PairingStatus.INVITED if settings(session).consent == Consent.MUTUAL else PairingStatus.APPROVED


def open_invitation(session: Session, pairing: Pairing, now: datetime | None = None) -> None:
    """Start the pairing's answer time (`invitation_days`) and announce it to both members' clients."""
    now = now or utcnow()
    pairing.invited_at, pairing.expires_at = now, now + timedelta(days=settings(session).invitation_days)
    pairing.seeker_accepted_at = pairing.supporter_accepted_at = pairing.declined_by = None
    emit(session, EventType.PAIRING_INVITED, list(pairing.member_ids), pairing_id=pairing.id,
         expires_at=pairing.expires_at.isoformat(timespec="seconds") + "Z")


def answer(session: Session, pairing_id: int, member_id: int, choice: Answer, actor: str,
           reason: str | None = None, now: datetime | None = None) -> Pairing:
    """A member accepts or declines their invitation (under the members' locks, like approval).

    Accepting twice changes nothing. Raises
    ------
    NotFoundError: no such pairing.
    ConflictError: the member is not in it, or it is not (or no longer) an open invitation.
    """
    now = now or utcnow()
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFoundError(f"No pairing with id {pairing_id}.", "pairing_id")
    if member_id not in pairing.member_ids:
        raise ConflictError(f"Member {member_id} is not in pairing {pairing_id}.", "member_id")
    members = lock_members(session, list(pairing.member_ids))
    session.refresh(pairing)
    side = "seeker" if member_id == pairing.seeker_id else "supporter"
    if pairing.status == PairingStatus.INVITED and pairing.expires_at is not None and pairing.expires_at <= now:
        raise ConflictError(f"This invitation expired at {pairing.expires_at:%Y-%m-%d %H:%M} UTC; "
                            "it can no longer be answered.", "status")
    if choice == Answer.ACCEPT and getattr(pairing, f"{side}_accepted_at") is not None \
            and pairing.status in (PairingStatus.INVITED, PairingStatus.APPROVED):
        return pairing
    if pairing.status != PairingStatus.INVITED:
        raise ConflictError(f"This pairing is {pairing.status}; only an invited pairing can be accepted or declined.",
                            "status")
    if choice == Answer.ACCEPT:
        _accept(session, pairing, member_id, side, actor, now)
    else:
        _decline(session, pairing, member_id, actor, reason)
    touch(session, *members.values())
    return pairing


def _accept(session: Session, pairing: Pairing, member_id: int, side: str, actor: str, now: datetime) -> None:
    setattr(pairing, f"{side}_accepted_at", now)
    audit(session, actor, "accepted", pairing_id=pairing.id, member_id=member_id, detail={"side": side})
    emit(session, EventType.PAIRING_ACCEPTED, list(pairing.member_ids), pairing_id=pairing.id, member_id=member_id)
    if pairing.seeker_accepted_at is not None and pairing.supporter_accepted_at is not None:
        pairing.status = PairingStatus.APPROVED
        audit(session, actor, "activated", pairing_id=pairing.id,
              detail={"from": PairingStatus.INVITED, "to": PairingStatus.APPROVED})
        emit(session, EventType.PAIRING_ACTIVE, list(pairing.member_ids), pairing_id=pairing.id)


def _decline(session: Session, pairing: Pairing, member_id: int, actor: str, reason: str | None) -> None:
    """The places are freed and the two are never proposed again (a decline exclusion)."""
    other = pairing.supporter_id if member_id == pairing.seeker_id else pairing.seeker_id
    pairing.status, pairing.declined_by, pairing.reason = PairingStatus.DECLINED, member_id, reason
    exclude(session, member_id, other, ExclusionKind.DECLINE)
    audit(session, actor, "declined", pairing_id=pairing.id, member_id=member_id, reason=reason,
          detail={"from": PairingStatus.INVITED, "to": PairingStatus.DECLINED})
    emit(session, EventType.PAIRING_DECLINED, list(pairing.member_ids), pairing_id=pairing.id, member_id=member_id)


def expire_due(session: Session, now: datetime | None = None, actor: str = EXPIRY_ACTOR) -> list[Pairing]:
    """Expire every invitation whose time ran out, each under its members' locks; the caller commits.

    Cheap when nothing is due (one indexed query, no lock), so reads call it before they answer.
    """
    now = now or utcnow()
    due = due_invitation_ids(session, now)
    if not due:
        return []
    member_ids = {i for p in pairings_by_id(session, due) for i in p.member_ids}
    lock_members(session, sorted(member_ids))
    return expire_locked(session, sorted(member_ids), now, actor)


def expire_locked(session: Session, member_ids: list[int], now: datetime | None = None,
                  actor: str = EXPIRY_ACTOR) -> list[Pairing]:
    """Expire the due invitations of members whose rows this transaction has locked already (approval does)."""
    now = now or utcnow()
    expired = []
    for pairing in pairings_by_id(session, due_invitation_ids(session, now, member_ids)):
        pairing.status = PairingStatus.EXPIRED
        audit(session, actor, "expired", pairing_id=pairing.id,
              detail={"from": PairingStatus.INVITED, "to": PairingStatus.EXPIRED})
        emit(session, EventType.PAIRING_EXPIRED, list(pairing.member_ids), pairing_id=pairing.id)
        expired.append(pairing)
    return expired


def announce_decision(session: Session, pairing: Pairing, target: PairingStatus) -> None:
    """The event a coordinator's decision emits (a rejection tells nobody: the members never heard of it)."""
    if target == PairingStatus.INVITED:
        open_invitation(session, pairing)
    elif target == PairingStatus.APPROVED:
        emit(session, EventType.PAIRING_ACTIVE, list(pairing.member_ids), pairing_id=pairing.id)
    elif target in (PairingStatus.ENDED, PairingStatus.WITHDRAWN):   # the members heard of it: it is over
        emit(session, EventType.PAIRING_ENDED, list(pairing.member_ids), pairing_id=pairing.id, status=target)


def waiting_on(pairing: Pairing) -> list[int]:
    """Members of an invited pairing who have not answered yet."""
    if pairing.status != PairingStatus.INVITED:
        return []
    return [m for m, at in ((pairing.seeker_id, pairing.seeker_accepted_at),
                            (pairing.supporter_id, pairing.supporter_accepted_at)) if at is None]

