"""Who is calling: API keys sent as `Authorization: Bearer <key>`, one role each."""
from __future__ import annotations

import functools

from flask import g, request, session as cookie

from api.errors import ApiError
from matcher.storage import ApiKey, find_api_key


def current_key() -> ApiKey | None:
    """The caller's key from the Authorization header, or (pages only) from a coordinator's session cookie."""
    if "api_key" in g:
        return g.api_key
    header = request.headers.get("Authorization", "")
    key = None
    if header.startswith("Bearer ") and header[7:].strip():
        key = find_api_key(g.db, header[7:].strip())
    elif request.blueprint == "pages" and cookie.get("key_id") is not None:   # pages only: they check CSRF
        candidate = g.db.get(ApiKey, cookie["key_id"])
        key = candidate if candidate is not None and candidate.revoked_at is None else None
    g.api_key = key
    return key


def requires(*roles: str):
    """Let the view run only for a key with one of `roles` (admin may do everything)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            key = current_key()
            if key is None:
                raise ApiError(401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'.")
            if key.role != "admin" and key.role not in roles:
                raise ApiError(403, "forbidden", f"A {key.role} key may not do this; it needs the role "
                               f"{' or '.join(roles)}.")
            return view(*args, **kwargs)
        wrapped.required_roles = roles
        return wrapped
    return decorator


def actor() -> str:
    """How the caller appears in the audit trail."""
    key = current_key()
    return f"key:{key.id}:{key.name}" if key is not None else "anonymous"


def can_see_everyone() -> bool:
    key = current_key()
    return key is not None and key.role in ("coordinator", "admin")
