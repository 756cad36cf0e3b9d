"""Analyst exports: pairings as CSV with pseudonymous ids, never narratives, names or comments."""
from __future__ import annotations

import csv
import hashlib
import hmac
import io

from flask import Response, current_app, g
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import case, func, select

from api.auth import actor, requires
from api.schemas import MAX_ID, PAIRING_STATUSES, StrictSchema
from matcher.storage import Feedback, Pairing, audit

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports",
                description="Pseudonymised exports for analysts.")

PAIRING_COLUMNS = ("pairing", "seeker", "supporter", "kind", "status", "score", "config_digest", "round_id",
                   "created_on", "updated_on", "feedback_count", "rating_mean", "rating_min",
                   "would_continue_count")


class PairingExportArgsSchema(StrictSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PAIRING_STATUSES))
    round_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


def pseudonym(kind: str, row_id: int, secret: str) -> str:
    """A stable stand-in for an id: HMAC-SHA256 keyed by the deployment's SECRET_KEY, 16 hex digits.

    Stable within one deployment, so analysts can follow a member across pairings; without the
    key nobody can turn it back into the id (the ids are small integers, so a plain hash could).
    """
    digest = hmac.new(secret.encode(), f"{kind}:{row_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def _pairing_rows(status: str | None, round_id: int | None):
    ratings = (select(Feedback.pairing_id, func.count().label("n"), func.avg(Feedback.rating).label("mean"),
                      func.min(Feedback.rating).label("low"),
                      func.sum(case((Feedback.would_continue, 1), else_=0)).label("yes"))
               .group_by(Feedback.pairing_id).subquery())
    stmt = (select(Pairing, ratings.c.n, ratings.c.mean, ratings.c.low, ratings.c.yes)
            .outerjoin(ratings, ratings.c.pairing_id == Pairing.id).order_by(Pairing.id))
    if status:
        stmt = stmt.where(Pairing.status == status)
    if round_id:
        stmt = stmt.where(Pairing.round_id == round_id)
    return g.db.execute(stmt).all()


def _csv_line(pairing: Pairing, n, mean, low, yes, secret: str) -> list:
    return [pseudonym("pairing", pairing.id, secret), pseudonym("member", pairing.seeker_id, secret),
            pseudonym("member", pairing.supporter_id, secret), pairing.kind, pairing.status,
            round(pairing.score, 6), pairing.config_digest, pairing.round_id or "",
            pairing.created_at.date().isoformat(), pairing.updated_at.date().isoformat(),
            n or 0, "" if mean is None else round(float(mean), 2), "" if low is None else low, yes or 0]


@blp.route("/pairings")
@requires("analyst")
@blp.arguments(PairingExportArgsSchema, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv",
              description="One line per pairing: pseudonymous ids, outcome, score and feedback ratings.")
def export_pairings(args):
    """Pairings as CSV for analysts: pseudonymous ids and rating aggregates, no free text."""
    secret = current_app.config["SECRET_KEY"]
    rows = _pairing_rows(args["status"], args["round_id"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAIRING_COLUMNS)
    writer.writerows(_csv_line(*row, secret) for row in rows)
    audit(g.db, actor(), "export_pairings", detail={"rows": len(rows), "status": args["status"],
                                                    "round_id": args["round_id"]})
    g.db.commit()
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="pairings.csv"'})
