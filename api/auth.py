"""Who is calling: API keys sent as `Authorization: Bearer <key>`, one role each."""
from __future__ import annotations

import functools
from datetime import timedelta

from flask import current_app, g, request
from flask import session as cookie

from api.errors import ApiError
from matcher.service import page_sessions
from matcher.service.access import Caller, authenticate
from matcher.states import ApiRole


def current_caller() -> Caller | None:
    """The caller's key from the Authorization header, or (pages only) from a coordinator's session cookie."""
    if "caller" in g:
        return g.caller
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    caller = None
    if scheme.lower() == "bearer" and token.strip():   # the scheme is case-insensitive (RFC 6750, RFC 9110)
        caller = authenticate(g.db, token)
    elif request.blueprint == "pages" and cookie.get("sid"):   # pages only: they check CSRF
        config = current_app.config
        caller = page_sessions.resume(g.db, cookie["sid"], timedelta(minutes=config["PAGE_IDLE_MINUTES"]),
                                      timedelta(hours=config["PAGE_SESSION_HOURS"]))
        g.db.commit()   # the session's last sight of its coordinator, or its end
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
