"""Delete means delete: a member's words and everything that points back to them, in one transaction."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matcher.states import RESERVING_STATUSES, MemberStatus, PairingStatus
from matcher.store.models import (
    AuditEvent,
    Exclusion,
    Feedback,
    MemberRow,
    Pairing,
    RepeatRequest,
    SuggestionEvent,
    utcnow,
)

ERASED_VALUES: tuple[tuple[str, object], ...] = (
                 ("narrative", None), ("narrative_hash", None), ("display_name", None), ("intro", ""),
                 ("topics", []), ("languages", []), ("preferred_languages", []), ("preferred_topics", []),
                 ("availability", []), ("timezone", "UTC"), ("embedding", None), ("embedding_hash", None),
                 ("embedding_model", None), ("theme", None), ("status", MemberStatus.PAUSED), ("capacity", 0))


def erase_member(session: Session, row: MemberRow) -> list[tuple[Pairing, str]]:
    """Wipe what identifies the member and anonymise what refers to them; returns the pairings it ended
    (each with the status it had).

    Narrative, name, intro, topics, languages, availability and embedding are erased; blocks,
    declines, repeat requests and suggestion events go; pairings keep only ids and scores
    (explanations and reasons are dropped, open ones are ended); feedback on those pairings loses
    its comments; audit events about them lose their free text.
    """
    for column, value in ERASED_VALUES:
        setattr(row, column, value)
    row.deleted_at = utcnow()
    for model, columns in ((Exclusion, (Exclusion.member_id, Exclusion.other_id)),
                           (SuggestionEvent, (SuggestionEvent.requester_id, SuggestionEvent.suggested_id)),
                           (RepeatRequest, (RepeatRequest.member_id, RepeatRequest.peer_id))):
        for item in session.scalars(select(model).where(or_(*(c == row.id for c in columns)))):
            session.delete(item)
    pairings = list(session.scalars(select(Pairing).where(
        or_(Pairing.seeker_id == row.id, Pairing.supporter_id == row.id))))
    ended = []
    for pairing in pairings:
        pairing.explanation, pairing.reason = {}, None
        if pairing.status in RESERVING_STATUSES:
            ended.append((pairing, pairing.status))
            pairing.status = PairingStatus.ENDED
    pairing_ids = [p.id for p in pairings]
    for feedback in session.scalars(select(Feedback).where(Feedback.pairing_id.in_(pairing_ids or [-1]))):
        feedback.comment = None
    events = session.scalars(select(AuditEvent).where(or_(
        AuditEvent.member_id == row.id, AuditEvent.pairing_id.in_(pairing_ids or [-1]))))
    for audit_row in events:
        audit_row.reason, audit_row.detail = None, {"anonymised": True}
    session.flush()
    return ended
