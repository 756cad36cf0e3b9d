"""Headers every answer carries: no sniffing, no referrer, no framing, nothing cached that could hold a story.

Pages get a Content-Security-Policy that allows only this site's own files (they use no script at
all); the session cookie is marked Secure when ``PEERMATCH_SECURE_COOKIES`` says the service is
reached over HTTPS (behind a TLS-terminating proxy, see the README).
"""
from __future__ import annotations

import os

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = ("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                           "object-src 'none'")
CACHEABLE_PREFIXES = ("/static/", "/api/v1/docs/assets/")   # the package's own files: nothing private


def secure_cookies_wanted() -> bool:
    """``PEERMATCH_SECURE_COOKIES=1``: browsers reach the service over HTTPS, so cookies travel only on HTTPS."""
    return os.environ.get("PEERMATCH_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes")


def init_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if not request.path.startswith(CACHEABLE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return response
