"""Behind a reverse proxy that ends TLS: trust its X-Forwarded-* headers, and only when told to.

``PEERMATCH_PROXY_FIX=N`` (or the config key ``PROXY_FIX``) says N proxies stand in front of the
app (1 for one nginx or load balancer): werkzeug's `ProxyFix` then takes the client's address,
scheme, host and port from the last N values of X-Forwarded-For/-Proto/-Host/-Port, so redirects
and generated URLs say https, and rate limits count the client rather than the proxy. Unset (0),
those headers are ignored: anyone could send them.
"""
from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def proxies_in_front(value: object) -> int:
    """How many proxies to trust from a setting (``""``/None: 0).

    Raises
    ------
    ValueError: when the setting is not a whole number from 0 to 10.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"PEERMATCH_PROXY_FIX must be the number of proxies in front of the app (e.g. 1), "
                         f"got {value!r}.")
    return int(text)


def init_proxy_fix(app: Flask) -> None:
    """Wrap the app in `ProxyFix` for the configured number of proxies (nothing when 0); a bad setting
    stops start-up with one sentence."""
    setting = app.config.get("PROXY_FIX")
    try:
        count = proxies_in_front(setting if setting is not None else os.environ.get("PEERMATCH_PROXY_FIX"))
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)  # type: ignore[method-assign]
