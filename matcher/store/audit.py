"""The audit trail: append-only events of who did what, when and why."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import AuditEvent


def audit(session: Session, actor: str, action: str, *, pairing_id: int | None = None,
          member_id: int | None = None, reason: str | None = None, detail: dict | None = None,
          group_id: int | None = None) -> AuditEvent:
    """Append one audit event (rows are only ever added; erasure blanks their free text)."""
    event_row = AuditEvent(actor=actor, action=action, pairing_id=pairing_id, member_id=member_id,
                           reason=reason, detail=detail or {}, group_id=group_id)
    session.add(event_row)
    return event_row


def hold_reasons(session: Session, member_ids: list[int]) -> dict[int, list[str]]:
    """Member id -> the rules the safety screen matched when it held them (never their text)."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "held_for_review",
                                                      AuditEvent.member_id.in_(member_ids or [-1])))
    return {e.member_id: list(e.detail.get("reasons", [])) for e in events if e.member_id is not None}
