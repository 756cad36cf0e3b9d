"""Delete means delete: a member's words and everything that points back to them, in one transaction."""
from __future__ import annotations

import logging
import time

from sqlalchemy import event, inspect, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from matcher.states import RESERVING_STATUSES, MemberStatus, PairingStatus
from matcher.store.models import (
    AuditEvent,
    Exclusion,
    Feedback,
    MemberRow,
    Pairing,
    RepeatRequest,
    StagedEmbedding,
    SuggestionEvent,
    SupportOffer,
    utcnow,
)

log = logging.getLogger(__name__)

ERASED_VALUES: tuple[tuple[str, object], ...] = (
                 ("narrative", None), ("narrative_hash", None), ("display_name", None), ("intro", ""),
                 ("topics", []), ("languages", []), ("preferred_languages", []), ("preferred_topics", []),
                 ("availability", []), ("timezone", "UTC"), ("embedding", None), ("embedding_hash", None),
                 ("embedding_model", None), ("theme", None), ("status", MemberStatus.PAUSED), ("capacity", 0))


def erase_member(session: Session, row: MemberRow) -> list[tuple[Pairing, str]]:
    """Wipe what identifies the member and anonymise what refers to them; returns the pairings it ended
    (each with the status it had).

    Narrative, name, intro, topics, languages, availability and embedding are erased; blocks,
    declines, repeat requests, support offers and suggestion events go; pairings keep only ids and
    scores (explanations, reasons and the members' answers to invitations are dropped, open ones
    are ended); feedback on those pairings loses its comments; audit events about them lose their
    free text.
    """
    for column, value in ERASED_VALUES:
        setattr(row, column, value)
    row.deleted_at = utcnow()
    for model, columns in ((Exclusion, (Exclusion.member_id, Exclusion.other_id)),
                           (SuggestionEvent, (SuggestionEvent.requester_id, SuggestionEvent.suggested_id)),
                           (RepeatRequest, (RepeatRequest.member_id, RepeatRequest.peer_id)),
                           (SupportOffer, (SupportOffer.member_id,)),
                           (StagedEmbedding, (StagedEmbedding.member_id,))):
        for item in session.scalars(select(model).where(or_(*(c == row.id for c in columns)))):
            session.delete(item)
    pairings = list(session.scalars(select(Pairing).where(
        or_(Pairing.seeker_id == row.id, Pairing.supporter_id == row.id))))
    ended = []
    for pairing in pairings:
        pairing.explanation, pairing.reason = {}, None
        pairing.seeker_accepted_at = pairing.supporter_accepted_at = pairing.declined_by = None   # their answers
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
    session.info[ERASED] = True   # `_clear_write_ahead_log` runs once this transaction commits
    return ended


ERASED = "peermatch.erased"
CHECKPOINT_TRIES = 20


@event.listens_for(Session, "after_commit")
def _clear_write_ahead_log(session: Session) -> None:
    """After an erasure commits on SQLite, move the WAL into the database file and empty it (TRUNCATE).

    Until then the WAL still holds the erased words (secure_delete zeroes them in the database
    file itself). A checkpoint waits for readers that still see older pages: it is tried again
    for a short while, then the next erasure or `peermatch purge-erased` finishes it.
    """
    bind = session.get_bind()
    if not session.info.pop(ERASED, False) or bind.dialect.name != "sqlite":
        return
    with bind.engine.connect() as conn:
        for _ in range(CHECKPOINT_TRIES):
            result = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if result is not None and not result[0]:   # (busy, log frames, frames checkpointed)
                return
            time.sleep(0.05)
    log.warning("erased text may stay in the SQLite write-ahead log until the next checkpoint: readers were busy")


ERASURE_TABLES = ("members", "exclusions", "suggestion_events", "repeat_requests", "pairings", "feedback",
                  "audit_events", "member_vectors", "member_filters", "group_memberships", "group_feedback",
                  "support_offers", "staged_embeddings")


def purge_erased(engine: Engine) -> list[str]:
    """Rewrite the tables erasure touches, so no erased word stays in their files; returns what was done.

    PostgreSQL keeps an erased row's old version in the table file until VACUUM reclaims the space
    (autovacuum does so on its own schedule, and even then bytes may stay until overwritten):
    ``VACUUM FULL`` writes each table anew and drops the old files. SQLite checkpoints its WAL and
    runs ``VACUUM``. Both take each table's lock for a moment; run it off-peak.
    """
    with engine.connect() as plain:   # VACUUM runs outside any transaction
        conn = plain.execution_options(isolation_level="AUTOCOMMIT")
        if conn.dialect.name == "sqlite":
            statements = ["PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
        else:
            tables = [t for t in ERASURE_TABLES if inspect(conn).has_table(t)]
            statements = [f"VACUUM (FULL, ANALYZE) {table}" for table in tables] + ["CHECKPOINT"]
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements
