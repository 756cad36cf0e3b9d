"""How pairs, and new group programmes, ask for consent (admins): show the settings and change them."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas.consent import ConsentInSchema, ConsentSchema, ConsentSettingsSchema
from matcher.service import consent
from matcher.states import ApiRole, Consent, Programme

blp = Blueprint("consent", __name__, url_prefix="/api/v1/consent",
                description="Consent settings: pairs, and the default that new group programmes start with.")

ADMIN = ApiRole.ADMIN


@blp.route("")
@requires(ADMIN)
@blp.response(200, ConsentSettingsSchema)
def settings():
    """Both settings: `pairs`, and `groups` (what a new group programme starts with unless told)."""
    found = {programme: consent.settings(g.db, programme) for programme in Programme}
    g.db.commit()   # a setting nobody configured yet is stored as it is shown
    return found


@blp.route("/<any(pairs, groups):programme>")
class Setting(MethodView):
    @requires(ADMIN)
    @blp.response(200, ConsentSchema)
    def get(self, programme):
        """One setting."""
        row = consent.settings(g.db, programme)
        g.db.commit()
        return row

    @rate_limited(blp, WRITES)
    @requires(ADMIN)
    @blp.arguments(ConsentInSchema)
    @blp.response(200, ConsentSchema)
    def patch(self, data, programme):
        """Change how pairs (or new group programmes) ask for consent; open invitations keep their time."""
        mode = Consent(data["consent"]) if data.get("consent") else None
        row = consent.configure(g.db, caller().actor, mode, data.get("invitation_days"), programme)
        g.db.commit()
        return row
