"""The delivery worker: sends queued webhook deliveries, signed with Standard Webhooks, at least once.

Each round claims due deliveries for a lease (one short transaction), sends them with short
connect and read time-outs, and records each attempt (another short transaction): no lock is held
while a receiver answers, so a slow or dead receiver never blocks the API. A 2xx is delivered;
anything else, a time-out or a refused address is retried with exponential backoff and jitter
until the retry window (24 h by default) has passed since the delivery was queued, then it is
`failed` (an admin may replay it). A worker killed mid-send leaves its claims to expire: the next
round sends them again with the same `webhook-id`, so receivers deduplicate.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from standardwebhooks import Webhook

from matcher.service.database import Database
from matcher.service.webhooks import WebhookUrlError, check_url
from matcher.states import DeliveryStatus
from matcher.store.models import utcnow
from matcher.store.outbox import Claim, claim_due, record_attempt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker retries; `from_environment` reads the PEERMATCH_WEBHOOK_* variables."""

    backoff_seconds: float = 30.0        # the first retry's delay; each retry doubles it
    max_backoff_seconds: float = 3600.0  # ... up to this
    retry_hours: float = 24.0            # keep retrying at least this long after a delivery was queued
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    lease_seconds: float = 60.0          # a claimed delivery is left alone this long (then sent again)
    batch: float = 20                    # deliveries claimed at once
    poll_seconds: float = 2.0

    @classmethod
    def from_environment(cls) -> DeliverySettings:
        names = {"backoff_seconds": "BACKOFF_SECONDS", "max_backoff_seconds": "MAX_BACKOFF_SECONDS",
                 "retry_hours": "RETRY_HOURS", "connect_timeout": "CONNECT_TIMEOUT", "read_timeout": "READ_TIMEOUT",
                 "lease_seconds": "LEASE_SECONDS", "poll_seconds": "POLL_SECONDS"}
        values = {field: float(os.environ[f"PEERMATCH_WEBHOOK_{env}"]) for field, env in names.items()
                  if os.environ.get(f"PEERMATCH_WEBHOOK_{env}")}
        return cls(**values)

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Seconds before the next try after `attempts` failures: exponential, capped, with equal jitter."""
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** max(attempts - 1, 0))
        return delay / 2 + rng.uniform(0, delay / 2)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    milliseconds: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_request(webhook_id: str, payload: dict, secret: str, now: datetime) -> tuple[str, dict[str, str]]:
    """The body and the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    at = now.replace(tzinfo=UTC)
    return body, {"content-type": "application/json", "user-agent": "peermatch-webhooks/1",
                  "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
                  "webhook-signature": Webhook(secret).sign(webhook_id, at, body)}


def send(http: requests.Session, url: str, body: str, headers: dict[str, str], settings: DeliverySettings) -> Outcome:
    """One POST; never raises for the receiver's faults (they are the outcome)."""
    started = time.monotonic()
    try:
        check_url(url)
        response = http.post(url, data=body.encode(), headers=headers, allow_redirects=False,
                             timeout=(settings.connect_timeout, settings.read_timeout))
        response.close()
        code = response.status_code
        error = None if 200 <= code < 300 else f"HTTP {code}"
    except WebhookUrlError as exc:
        code, error = None, str(exc)[:200]
    except requests.Timeout:
        code, error = None, "timed out"
    except requests.RequestException as exc:
        code, error = None, f"connection failed ({type(exc).__name__})"
    return Outcome(code, error, int((time.monotonic() - started) * 1000))


class DeliveryWorker:
    """Claims, sends and records deliveries of one database (`run_once` for cron, `run` for a service)."""

    def __init__(self, database: Database, settings: DeliverySettings | None = None, seed: int | None = None) -> None:
        self.database = database
        self.settings = settings or DeliverySettings.from_environment()
        self.rng = random.Random(seed)
        self.http = requests.Session()

    def run_once(self) -> int:
        """Send every delivery that is due now, batch after batch; returns how many were tried.

        Retries scheduled meanwhile wait for the next call, so one call always ends.
        """
        tried, due = 0, utcnow()
        while True:
            batch = self._claim(due)
            if not batch:
                return tried
            for delivery_id, webhook_id, url, payload, secret in batch:
                body, headers = signed_request(webhook_id, payload, secret, utcnow())
                self._record(delivery_id, send(self.http, url, body, headers, self.settings))
            tried += len(batch)

    def close(self) -> None:
        """Close the HTTP connections kept for the receivers."""
        self.http.close()

    def run(self, stop: threading.Event | None = None) -> None:
        """Deliver until `stop` is set, polling every `poll_seconds` when nothing is due."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(self.settings.poll_seconds)
            except Exception as exc:   # a database outage must not end the worker: try again shortly
                log.warning("webhook delivery round failed (%s); retrying", type(exc).__name__)
                stop.wait(self.settings.poll_seconds)

    def _claim(self, due: datetime) -> list[Claim]:
        lease_until = utcnow() + timedelta(seconds=self.settings.lease_seconds)
        with self.database.session() as session:
            claimed = claim_due(session, due, lease_until, int(self.settings.batch))
            session.commit()
        return claimed

    def _record(self, delivery_id: int, outcome: Outcome) -> None:
        now = utcnow()
        with self.database.session() as session:
            delivery = record_attempt(session, delivery_id, outcome.status_code, outcome.error, outcome.milliseconds,
                                      now)
            if delivery is not None:
                if outcome.delivered:
                    delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
                elif now >= delivery.window_start + timedelta(hours=self.settings.retry_hours):
                    delivery.status = DeliveryStatus.FAILED
                else:
                    delivery.next_attempt_at = now + timedelta(
                        seconds=self.settings.backoff(delivery.attempts, self.rng))
            session.commit()
        log.info("webhook delivery %s: %s", delivery_id, "delivered" if outcome.delivered else outcome.error)


def start_in_thread(database: Database, settings: DeliverySettings | None = None) -> threading.Event:
    """Run a worker in a daemon thread (for `peermatch serve --deliver-webhooks`); set the event to stop it."""
    stop = threading.Event()
    worker = DeliveryWorker(database, settings)
    threading.Thread(target=worker.run, args=(stop,), name="webhook-delivery", daemon=True).start()
    return stop
