"""Analyst exports: pairings with pseudonymous ids, outcomes and rating aggregates, never free text."""
from __future__ import annotations

import hashlib
import hmac

from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.pairings import pairings_with_ratings

PAIRING_COLUMNS = ("pairing", "seeker", "supporter", "kind", "status", "score", "config_digest", "round_id",
                   "created_on", "updated_on", "feedback_count", "rating_mean", "rating_min",
                   "would_continue_count")


def pseudonym(kind: str, row_id: int, secret: str) -> str:
    """A stable stand-in for an id: HMAC-SHA256 keyed by the deployment's secret key, 16 hex digits.

    Stable within one deployment, so analysts can follow a member across pairings; without the
    key nobody can turn it back into the id (the ids are small integers, so a plain hash could).
    """
    digest = hmac.new(secret.encode(), f"{kind}:{row_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def pairing_export(session: Session, secret: str, actor: str, status: str | None = None,
                   round_id: int | None = None) -> list[list]:
    """One line per pairing (in `PAIRING_COLUMNS` order); the export itself is audited."""
    rows = pairings_with_ratings(session, status, round_id)
    audit(session, actor, "export_pairings", detail={"rows": len(rows), "status": status, "round_id": round_id})
    return [_line(row, secret) for row in rows]


def _line(row: tuple, secret: str) -> list:
    pairing, n, mean, low, yes = row
    return [pseudonym("pairing", pairing.id, secret), pseudonym("member", pairing.seeker_id, secret),
            pseudonym("member", pairing.supporter_id, secret), pairing.kind, pairing.status,
            round(pairing.score, 6), pairing.config_digest, pairing.round_id or "",
            pairing.created_at.date().isoformat(), pairing.updated_at.date().isoformat(),
            n or 0, "" if mean is None else round(float(mean), 2), "" if low is None else low, yes or 0]
