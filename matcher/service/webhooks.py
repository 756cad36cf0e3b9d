"""Webhook endpoints: an admin registers one per onboarding client; what was sent and an admin's replay.

URLs are http or https; a host that resolves to a private, loopback, link-local or otherwise
non-public address is refused unless `PEERMATCH_WEBHOOKS_ALLOW_PRIVATE=1` (tests and closed networks),
both when registered and before every delivery (a name may resolve elsewhere later).
"""
from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import socket
from urllib.parse import urlsplit

from matcher.service.errors import ConflictError, DomainError, NotFoundError
from matcher.service.listing import Page, paginate
from matcher.states import ApiRole, DeliveryStatus, EventType
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.models import WebhookDelivery, WebhookEndpoint, utcnow
from matcher.store.webhooks import attempts_of, delete_endpoint, deliveries_query, endpoints_query, live_key

ALLOW_PRIVATE_ENV = "PEERMATCH_WEBHOOKS_ALLOW_PRIVATE"


class WebhookUrlError(DomainError):
    """An endpoint URL this service will not send to; the message says why (answered 422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "url")


def private_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def check_url(url: str, allow_private: bool | None = None) -> str:
    """The URL, if it is http(s) with a host that resolves to public addresses only (or private ones are allowed).

    Raises
    ------
    WebhookUrlError: another scheme, no host, credentials in the URL, a name that does not resolve,
    or a private/loopback/link-local/reserved address.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError("A webhook URL must start with http:// or https://.")
    if not parts.hostname:
        raise WebhookUrlError("A webhook URL needs a host name.")
    if parts.username or parts.password:
        raise WebhookUrlError("A webhook URL must not carry a user name or password; the signature authenticates.")
    if allow_private if allow_private is not None else private_allowed():
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookUrlError(f"The host {parts.hostname!r} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise WebhookUrlError(f"The host {parts.hostname!r} resolves to {address}, a private or local address; "
                                  f"set {ALLOW_PRIVATE_ENV}=1 to allow such receivers.")
    return url


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def register(session: Session, actor: str, client_key_id: int, url: str,
             event_types: list[str] | None) -> WebhookEndpoint:
    """A new enabled endpoint for an onboarding client's members' events (all of them by default).

    Raises
    ------
    NotFoundError: no live onboarding key with that id.
    WebhookUrlError: see `check_url`.
    """
    key = live_key(session, client_key_id)
    if key is None or key.role != ApiRole.ONBOARDING:
        raise NotFoundError(f"No onboarding client (API key) with id {client_key_id}.", "client_key_id")
    endpoint = WebhookEndpoint(client_key_id=client_key_id, url=check_url(url), secret=new_secret(),
                               event_types=sorted(set(event_types or [t.value for t in EventType])),
                               enabled=True, created_by=actor)
    session.add(endpoint)
    session.flush()
    audit(session, actor, "webhook_registered", detail={"endpoint_id": endpoint.id, "client_key_id": client_key_id})
    return endpoint


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError(f"No webhook endpoint with id {endpoint_id}.", "endpoint_id")
    return endpoint


def list_endpoints(session: Session, client_key_id: int | None, page: int, per_page: int) -> Page:
    return paginate(session, endpoints_query(client_key_id), WebhookEndpoint.id, page, per_page)


def set_enabled(session: Session, actor: str, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    """Pause or resume an endpoint: while disabled nothing is queued for it and nothing is sent."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.enabled, endpoint.disabled_at = enabled, None if enabled else utcnow()
    audit(session, actor, "webhook_enabled" if enabled else "webhook_disabled", detail={"endpoint_id": endpoint_id})
    return endpoint


def remove(session: Session, actor: str, endpoint_id: int) -> None:
    """Delete an endpoint with its deliveries (nothing more is sent to it)."""
    count = delete_endpoint(session, get_endpoint(session, endpoint_id))
    audit(session, actor, "webhook_deleted", detail={"endpoint_id": endpoint_id, "deliveries": count})


def deliveries(session: Session, endpoint_id: int, status: str | None, page: int, per_page: int) -> Page:
    """What was queued for an endpoint, newest first, each with its attempts."""
    get_endpoint(session, endpoint_id)
    found = paginate(session, deliveries_query(endpoint_id, status), WebhookDelivery.id.desc(), page, per_page)
    attempts = attempts_of(session, [d.id for d in found.items])
    found.items = [{"delivery": d, "attempt_log": attempts[d.id]} for d in found.items]
    return found


def replay(session: Session, actor: str, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again, now, with the same webhook-id (receivers that saw it may skip it).

    Raises
    ------
    NotFoundError: no such delivery for this endpoint.
    ConflictError: the endpoint is disabled.
    """
    endpoint = get_endpoint(session, endpoint_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFoundError(f"No delivery {delivery_id} for webhook endpoint {endpoint_id}.", "delivery_id")
    if not endpoint.enabled:
        raise ConflictError(f"Webhook endpoint {endpoint_id} is disabled; enable it before replaying.", "enabled")
    now = utcnow()
    # queued anew: the retry window starts again from the replay; when it was first queued stays
    delivery.status, delivery.next_attempt_at, delivery.replayed_at = DeliveryStatus.PENDING, now, now
    delivery.delivered_at = None
    audit(session, actor, "webhook_replayed", detail={"endpoint_id": endpoint_id, "delivery_id": delivery_id})
    return delivery
