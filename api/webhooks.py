"""Webhook endpoints (admins): register, list, disable, enable, delete; deliveries and replay."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from api.auth import caller, requires
from api.blueprint import Blueprint
from api.rate_limits import WRITES, rate_limited
from api.schemas import (
    DeliveryListArgsSchema,
    DeliveryListSchema,
    DeliveryRefSchema,
    EmptySchema,
    WebhookCreatedSchema,
    WebhookInSchema,
    WebhookListArgsSchema,
    WebhookListSchema,
    WebhookSchema,
)
from matcher.service import webhooks
from matcher.states import ApiRole

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Signed event deliveries to onboarding clients (Standard Webhooks), at least once.")

ADMIN = ApiRole.ADMIN


@blp.route("")
class Webhooks(MethodView):
    @requires(ADMIN)
    @blp.arguments(WebhookListArgsSchema, location="query")
    @blp.response(200, WebhookListSchema)
    def get(self, args):
        """List endpoints, optionally of one onboarding client (secrets are never shown again)."""
        page = webhooks.list_endpoints(g.db, args["client_key_id"], args["page"], args["per_page"])
        return page.as_dict("webhooks")

    @rate_limited(blp, WRITES)
    @requires(ADMIN)
    @blp.arguments(WebhookInSchema)
    @blp.response(201, WebhookCreatedSchema)
    def post(self, data):
        """Register an endpoint for an onboarding client's members' events; the secret is shown once."""
        endpoint = webhooks.register(g.db, caller().actor, data["client_key_id"], data["url"].strip(),
                                     data["event_types"])
        g.db.commit()
        return endpoint


@blp.route("/<int:endpoint_id>")
class Webhook(MethodView):
    @requires(ADMIN)
    @blp.response(200, WebhookSchema)
    def get(self, endpoint_id):
        """One endpoint."""
        return webhooks.get_endpoint(g.db, endpoint_id)

    @rate_limited(blp, WRITES)
    @requires(ADMIN)
    @blp.response(204)
    def delete(self, endpoint_id):
        """Delete an endpoint and what was queued for it."""
        webhooks.remove(g.db, caller().actor, endpoint_id)
        g.db.commit()
        return "", 204


def _enable(endpoint_id: int, enabled: bool):
    endpoint = webhooks.set_enabled(g.db, caller().actor, endpoint_id, enabled)
    g.db.commit()
    return endpoint


@blp.route("/<int:endpoint_id>/disable", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ADMIN)
@blp.arguments(EmptySchema)
@blp.response(200, WebhookSchema)
def disable(_data, endpoint_id):
    """Stop queueing and sending to an endpoint (what is queued waits until it is enabled again)."""
    return _enable(endpoint_id, False)


@blp.route("/<int:endpoint_id>/enable", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ADMIN)
@blp.arguments(EmptySchema)
@blp.response(200, WebhookSchema)
def enable(_data, endpoint_id):
    """Resume an endpoint."""
    return _enable(endpoint_id, True)


@blp.route("/<int:endpoint_id>/deliveries")
@requires(ADMIN)
@blp.arguments(DeliveryListArgsSchema, location="query")
@blp.response(200, DeliveryListSchema)
def deliveries(args, endpoint_id):
    """What was queued for the endpoint, newest first, with every attempt and its status."""
    return webhooks.deliveries(g.db, endpoint_id, args["status"], args["page"], args["per_page"]).as_dict("deliveries")


@blp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay", methods=["POST"])
@rate_limited(blp, WRITES)
@requires(ADMIN)
@blp.arguments(EmptySchema)
@blp.response(200, DeliveryRefSchema)
def replay(_data, endpoint_id, delivery_id):
    """Send a delivery again now, with the same webhook-id."""
    delivery = webhooks.replay(g.db, caller().actor, endpoint_id, delivery_id)
    g.db.commit()
    return delivery
