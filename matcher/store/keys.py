"""API keys: only their SHA-256 is stored; the key itself is shown once."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.states import ApiRole
from matcher.store.models import ApiKey, utcnow


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, role: str, name: str) -> tuple[ApiKey, str]:
    """A new key row and the key itself (shown once; only its hash is stored).

    Raises
    ------
    ValueError: for a role that is not one of `ApiRole`.
    """
    if role not in tuple(ApiRole):
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(ApiRole)}.")
    plaintext = "pm_" + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, key_hash=hash_key(plaintext))
    session.add(row)
    session.flush()
    return row, plaintext


def find_api_key(session: Session, plaintext: str) -> ApiKey | None:
    """The live key with this text, or None."""
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext),
                                               ApiKey.revoked_at.is_(None)))


def revoke_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke a key (again is a no-op); None when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is not None:
        row.revoked_at = row.revoked_at or utcnow()
    return row
