"""Who is calling: an API key's role, checked by every service that a caller's role limits."""
from __future__ import annotations

import getpass
from dataclasses import dataclass

from matcher.states import ApiRole
from matcher.store import Session
from matcher.store.keys import create_api_key, find_api_key, revoke_api_key
from matcher.store.models import ApiKey
from matcher.store.page_sessions import end_page_sessions

EVERYONE_ROLES = (ApiRole.COORDINATOR, ApiRole.ADMIN)   # see every member, not only their own sign-ups


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the key's id (None for the command line), role and name."""

    key_id: int | None
    role: ApiRole
    name: str

    @property
    def actor(self) -> str:
        """How the caller appears in the audit trail."""
        return f"key:{self.key_id}:{self.name}" if self.key_id is not None else f"cli:{self.name}"

    def may(self, *roles: ApiRole) -> bool:
        """Whether this caller has one of `roles` (an admin may do everything)."""
        return self.role == ApiRole.ADMIN or self.role in roles

    @property
    def sees_everyone(self) -> bool:
        return self.role in EVERYONE_ROLES

    def owns(self, created_by_key: int | None) -> bool:
        """Whether a member signed up through this caller's key is visible to it."""
        return self.sees_everyone or (self.key_id is not None and created_by_key == self.key_id)


def caller_of(key: ApiKey) -> Caller:
    return Caller(key.id, ApiRole(key.role), key.name)


def command_line_caller() -> Caller:
    """Whoever runs the `peermatch` command (an operator with the database's credentials)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "operator"
    return Caller(None, ApiRole.ADMIN, user)


def authenticate(session: Session, key: str) -> Caller | None:
    """The caller a key belongs to, or None for an unknown or revoked key."""
    row = find_api_key(session, key.strip()) if key.strip() else None
    return None if row is None else caller_of(row)


def create_key(session: Session, role: str, name: str) -> tuple[Caller, str]:
    """A new key for `role` and the key itself, shown once (only its hash is stored)."""
    row, plaintext = create_api_key(session, role, name)
    return caller_of(row), plaintext


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key, and end the page sessions it opened; False when there is no key with that id."""
    if revoke_api_key(session, key_id) is None:
        return False
    end_page_sessions(session, "key revoked", key_id=key_id)
    return True
