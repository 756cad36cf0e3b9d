"""Analyst exports: pairings as CSV with pseudonymous ids, never narratives, names or comments."""
from __future__ import annotations

import csv
import io

from flask import Response, current_app, g
from marshmallow import fields, validate

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.schemas import MAX_ID, PAIRING_STATUSES, StrictSchema
from matcher.service.exports import PAIRING_COLUMNS, pairing_export
from matcher.states import ApiRole

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports",
                description="Pseudonymised exports for analysts.")


class PairingExportArgsSchema(StrictSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PAIRING_STATUSES))
    round_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


@blp.route("/pairings")
@requires(ApiRole.ANALYST)
@blp.arguments(PairingExportArgsSchema, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv",
              description="One line per pairing: pseudonymous ids, outcome, score and feedback ratings.")
def export_pairings(args):
    """Pairings as CSV for analysts: pseudonymous ids and rating aggregates, no free text."""
    lines = pairing_export(g.db, current_app.config["SECRET_KEY"], caller().actor, args["status"], args["round_id"])
    g.db.commit()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAIRING_COLUMNS)
    writer.writerows(lines)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="pairings.csv"'})
