"""Liveness and readiness for load balancers and orchestrators (no API key needed, nothing private)."""
from __future__ import annotations

import logging

from flask import Flask, g

from api import services
from matcher.service.health import readiness

log = logging.getLogger(__name__)


def init_health(app: Flask) -> None:
    """Serve /healthz and /readyz (plain endpoint names, outside every blueprint and its key checks)."""
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])


def healthz():
    """The process is up (nothing else is checked)."""
    return {"status": "ok"}


def readyz():
    """Ready to serve: the model is loaded, the database answers, and this worker's index is current."""
    ready, checks = readiness(g.db, services())
    if not ready:
        log.warning("not ready: %s", ", ".join(name for name, check in checks.items() if not check["ok"]))
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
