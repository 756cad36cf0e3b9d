"""Emitting events: one outbox row per change, written in the caller's transaction, and one delivery per
endpoint that should hear of it.

Generic over what changed: pairings, members and (on the groups branch) groups call
`emit(session, EventType.X, member_ids, group_id=...)`. A client hears only of events about its own
members, and each payload names only those of its members the event is about; payloads carry ids,
types and times, never narratives, notes, comments or reasons.
"""
from __future__ import annotations

from datetime import datetime

from matcher.states import EventType
from matcher.store import Session
from matcher.store.models import OutboxEvent, utcnow
from matcher.store.outbox import add_delivery, add_event, member_clients, subscribed_endpoints

ALLOWED_DATA = (int, str, bool, type(None))   # ids, states and times: nothing nested that could hide text


def emit(session: Session, event_type: EventType, member_ids: list[int],
         **data: int | str | bool | None) -> OutboxEvent:
    """Record an event about `member_ids` and queue it for every subscribed endpoint of their clients.

    Parameters
    ----------
    event_type: what happened.
    member_ids: the members it is about (their onboarding clients may hear of it).
    data: ids and states (e.g. ``pairing_id=3, by_member_id=7``); never free text.

    Raises
    ------
    ValueError: a value that is not an id, a state or a flag.
    """
    for key, value in data.items():
        if not isinstance(value, ALLOWED_DATA):
            raise ValueError(f"Event data {key!r} must be an id, a state or a flag, not {type(value).__name__}.")
    now = utcnow()
    ids = sorted(set(member_ids))
    event = add_event(session, EventType(event_type), ids, dict(data), now)
    clients = member_clients(session, ids)
    for endpoint in subscribed_endpoints(session, event.type, set(clients.values())):
        own = [i for i in ids if clients.get(i) == endpoint.client_key_id]
        add_delivery(session, event, endpoint, payload(event, own, now))
    return event


def payload(event: OutboxEvent, member_ids: list[int], now: datetime) -> dict:
    """The Standard Webhooks payload shape: type, timestamp and data (the client's own members only)."""
    return {"type": event.type, "timestamp": now.isoformat(timespec="milliseconds") + "Z",
            "data": {"event_id": event.id, **event.data, "member_ids": member_ids}}
