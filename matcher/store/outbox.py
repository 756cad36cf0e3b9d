"""The transactional outbox: events written with the change they report, and their deliveries to endpoints.

A delivery is claimed for a short lease before it is sent (so two workers rarely send it twice, and a
worker killed mid-send leaves it to be sent again once the lease runs out: at least once).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.states import DeliveryStatus
from matcher.store.models import (
    MemberRow,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from matcher.store.pairings import begin_write


def member_clients(session: Session, member_ids: list[int]) -> dict[int, int]:
    """Member id -> the API key (onboarding client) that signed them up, for members that have one."""
    rows = session.execute(select(MemberRow.id, MemberRow.created_by_key).where(
        MemberRow.id.in_(member_ids or [-1]), MemberRow.created_by_key.is_not(None)))
    return {member_id: key_id for member_id, key_id in rows if key_id is not None}


def subscribed_endpoints(session: Session, event_type: str, client_key_ids: set[int]) -> list[WebhookEndpoint]:
    """Enabled endpoints of these clients that asked for `event_type`, by id."""
    rows = session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.client_key_id.in_(sorted(client_key_ids) or [-1]), WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id))
    return [row for row in rows if event_type in row.event_types]


def add_event(session: Session, event_type: str, member_ids: list[int], data: dict,
              created_at: datetime) -> OutboxEvent:
    row = OutboxEvent(type=event_type, member_ids=member_ids, data=data, created_at=created_at)
    session.add(row)
    session.flush()
    return row


def add_delivery(session: Session, event: OutboxEvent, endpoint: WebhookEndpoint, payload: dict) -> WebhookDelivery:
    """A pending delivery with its own stable webhook-id (receivers deduplicate on it)."""
    row = WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, webhook_id=f"msg_{secrets.token_hex(16)}",
                          payload=payload, status=DeliveryStatus.PENDING, next_attempt_at=event.created_at,
                          created_at=event.created_at)
    session.add(row)
    return row


Claim = tuple[int, str, str, dict, str]   # (delivery id, webhook-id, url, payload, secret)


def claim_due(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
    """Take up to `limit` due deliveries of enabled endpoints until `lease_until`; the caller commits.

    Returns (delivery id, webhook-id, url, payload, secret), oldest first. PostgreSQL skips rows
    another worker holds (FOR UPDATE SKIP LOCKED); SQLite's write lock makes claims one at a time.
    """
    stmt = (select(WebhookDelivery).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.enabled.is_(True))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if not begin_write(session):
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed = list(session.scalars(stmt.execution_options(populate_existing=True)))
    endpoints = {e.id: e for e in session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.id.in_({d.endpoint_id for d in claimed} or {-1})))}
    out = []
    for delivery in claimed:
        delivery.next_attempt_at = lease_until
        endpoint = endpoints[delivery.endpoint_id]
        out.append((delivery.id, delivery.webhook_id, endpoint.url, delivery.payload, endpoint.secret))
    return out


def record_attempt(session: Session, delivery_id: int, status_code: int | None, error: str | None,
                   milliseconds: int, at: datetime) -> WebhookDelivery | None:
    """Log one attempt and count it on its delivery (None when the delivery was deleted meanwhile)."""
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        return None
    session.add(WebhookAttempt(delivery_id=delivery_id, status_code=status_code, error=error,
                               milliseconds=milliseconds, created_at=at))
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error
    return delivery
