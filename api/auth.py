"""Who is calling: API keys sent as `Authorization: Bearer <key>`, one role each."""
from __future__ import annotations

import functools

from flask import g, request
from flask import session as cookie

from api.errors import ApiError
from matcher.service.access import Caller, authenticate, caller_by_key_id
from matcher.states import ApiRole


def current_caller() -> Caller | None:
    """The caller's key from the Authorization header, or (pages only) from a coordinator's session cookie."""
    if "caller" in g:
        return g.caller
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    caller = None
    if scheme.lower() == "bearer" and token.strip():   # the scheme is case-insensitive (RFC 6750, RFC 9110)
        caller = authenticate(g.db, token)
    elif request.blueprint == "pages" and cookie.get("key_id") is not None:   # pages only: they check CSRF
        caller = caller_by_key_id(g.db, cookie["key_id"])
    g.caller = caller
    return caller


def caller() -> Caller:
    """The authenticated caller of a view behind `requires` (never None there)."""
    found = current_caller()
    if found is None:
        raise ApiError(401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'.")
    return found


def requires(*roles: ApiRole):
    """Let the view run only for a key with one of `roles` (admin may do everything)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            who = caller()
            if not who.may(*roles):
                raise ApiError(403, "forbidden", f"A {who.role} key may not do this; it needs the role "
                               f"{' or '.join(roles)}.")
            return view(*args, **kwargs)
        wrapped.required_roles = roles
        return wrapped
    return decorator
