"""Rate limits per API key on writes and on suggestions (Flask-Limiter), answered 429 with Retry-After.

Limits count per key (a hash of it, never the key), or per address for requests without one.
They live in this process's memory by default: with several gunicorn workers each keeps its own
count, so a key may make up to workers x the limit; set ``PEERMATCH_RATELIMIT_STORAGE`` (e.g.
``redis://localhost:6379``) to share them.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_smorest import Blueprint  # the type only: views use api.blueprint.Blueprint

from api.schemas import ErrorSchema

WRITES, SUGGESTIONS = "RATE_LIMIT_WRITES", "RATE_LIMIT_SUGGESTIONS"
DEFAULTS = {WRITES: "120 per minute", SUGGESTIONS: "60 per minute"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


def caller_key() -> str:
    """Whom a limit counts: the API key's hash, or the client's address without a key."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
    return "addr:" + (request.remote_addr or "unknown")


limiter = Limiter(caller_key, headers_enabled=True,
                  storage_uri=os.environ.get("PEERMATCH_RATELIMIT_STORAGE", "memory://"))


def init_rate_limits(app: Flask) -> None:
    """Limits from the config, else ``PEERMATCH_<NAME>`` (``PEERMATCH_RATE_LIMIT_WRITES="600 per minute"``)."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, os.environ.get(f"PEERMATCH_{name}", value))
    limiter.init_app(app)


def rate_limited(blp: Blueprint, kind: str) -> Callable:
    """Limit a view to the app's `kind` limit per key, and document its 429 answer in the OpenAPI."""
    def decorator(view: Callable) -> Callable:
        limited = limiter.shared_limit(lambda: current_app.config[kind], scope=kind)(view)
        return blp.alt_response(429, schema=ErrorSchema, headers=RETRY_AFTER,
                                description="Too many requests with this key; wait Retry-After seconds.")(limited)
    return decorator
