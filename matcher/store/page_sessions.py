"""Coordinators' page sessions: only a hash of each session's token is stored."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matcher.store.keys import hash_key
from matcher.store.models import ApiKey, PageSession, utcnow


def open_page_session(session: Session, key_id: int, token: str) -> PageSession:
    row = PageSession(token_hash=hash_key(token), key_id=key_id)
    session.add(row)
    session.flush()
    return row


def page_session_of(session: Session, token: str) -> tuple[PageSession, ApiKey] | None:
    """The open session with this token and its key (revoked or not), or None."""
    row = session.execute(select(PageSession, ApiKey).join(ApiKey, ApiKey.id == PageSession.key_id).where(
        PageSession.token_hash == hash_key(token), PageSession.ended_at.is_(None))).first()
    return None if row is None else (row[0], row[1])


def end_page_sessions(session: Session, because: str, *, token: str | None = None, key_id: int | None = None,
                      now: datetime | None = None) -> int:
    """End the session with `token`, or every open session of `key_id`; returns how many ended."""
    stmt = update(PageSession).where(PageSession.ended_at.is_(None))
    stmt = stmt.where(PageSession.token_hash == hash_key(token)) if token is not None \
        else stmt.where(PageSession.key_id == key_id)
    result = session.execute(stmt.values(ended_at=now or utcnow(), ended_because=because))
    return int(getattr(result, "rowcount", 0) or 0)
