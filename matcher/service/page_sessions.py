"""Coordinators' logins to the pages, kept on the server so that logging out really ends them.

A login opens a session whose random token is all the browser's cookie carries. A session ends
when its coordinator logs out, when their key is revoked, after `idle` without a request, or
`lifetime` after it began; a copied cookie is worth nothing after that.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from matcher.service.access import Caller, caller_of
from matcher.store import Session
from matcher.store.models import utcnow
from matcher.store.page_sessions import end_page_sessions, open_page_session, page_session_of

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)   # how stale `last_seen_at` may get before a request writes it


class EndedBecause(StrEnum):
    LOGOUT = "logout"
    IDLE = "idle"
    EXPIRED = "expired"
    REVOKED = "key revoked"


def start(session: Session, caller: Caller) -> str:
    """Open a session for a coordinator who logged in with their key; returns its token (for the cookie)."""
    if caller.key_id is None:
        raise ValueError("Only a key's holder can log in to the pages.")
    token = secrets.token_urlsafe(32)
    open_page_session(session, caller.key_id, token)
    return token


def resume(session: Session, token: str, idle: timedelta = IDLE, lifetime: timedelta = LIFETIME) -> Caller | None:
    """The caller of a live session with this token, its last-seen time moved on; None (and it ends) otherwise."""
    found = page_session_of(session, token)
    if found is None:
        return None
    row, key = found
    now = utcnow()
    because = (EndedBecause.REVOKED if key.revoked_at is not None else EndedBecause.EXPIRED
               if now - row.created_at > lifetime else EndedBecause.IDLE if now - row.last_seen_at > idle else None)
    if because is not None:
        end_page_sessions(session, because, token=token, now=now)
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
    return caller_of(key)


def end(session: Session, token: str) -> None:
    """Log out: the session's token opens nothing from now on."""
    end_page_sessions(session, EndedBecause.LOGOUT, token=token)


