"""Webhook endpoints per onboarding client, and what was sent to them (deliveries and their attempts)."""
from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from matcher.store.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_query(client_key_id: int | None = None) -> Select:
    stmt = select(WebhookEndpoint)
    if client_key_id is not None:
        stmt = stmt.where(WebhookEndpoint.client_key_id == client_key_id)
    return stmt


def live_key(session: Session, key_id: int) -> ApiKey | None:
    """An API key that is not revoked."""
    row = session.get(ApiKey, key_id)
    return row if row is not None and row.revoked_at is None else None


def deliveries_query(endpoint_id: int, status: str | None = None) -> Select:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """Delivery id -> its attempts, oldest first."""
    out: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    for row in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids or [-1]))
                               .order_by(WebhookAttempt.id)):
        out[row.delivery_id].append(row)
    return out


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> int:
    """Delete an endpoint with its deliveries and their attempts; returns how many deliveries went."""
    ids = list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids or [-1])))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    return len(ids)
