"""Webhooks end to end: a real receiver on 127.0.0.1, real SQLite and PostgreSQL, the real delivery worker.

Every delivery is checked with `standardwebhooks.Webhook(secret).verify`, the reference implementation.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matcher.service import review
from matcher.service.delivery import DeliverySettings, DeliveryWorker
from matcher.service.webhooks import WebhookUrlError, check_url
from matcher.states import Decision
from matcher.store.keys import create_api_key
from matcher.store.models import ApiKey, OutboxEvent, Pairing, WebhookDelivery
from tests.api.helpers import create
from tests.api.test_pairings import CRISIS, GRIEF, GRIEF_SUPPORTER
from tests.api.webhook_receiver import Receiver, start_receiver

FAST = DeliverySettings(backoff_seconds=0.05, max_backoff_seconds=0.2, connect_timeout=1, read_timeout=2,
                        lease_seconds=1, poll_seconds=0.05)
FAST_ENV = {"PEERMATCH_WEBHOOK_BACKOFF_SECONDS": "0.05", "PEERMATCH_WEBHOOK_MAX_BACKOFF_SECONDS": "0.2",
            "PEERMATCH_WEBHOOK_LEASE_SECONDS": "1", "PEERMATCH_WEBHOOK_POLL_SECONDS": "0.05",
            "PEERMATCH_WEBHOOK_READ_TIMEOUT": "5"}
PAIR_FLOW = ["pairing.invited", "pairing.accepted", "pairing.accepted", "pairing.active", "pairing.ended"]


@pytest.fixture
def consent() -> str:
    return "mutual"


@pytest.fixture(autouse=True)
def allow_private(monkeypatch):
    monkeypatch.setenv("PEERMATCH_WEBHOOKS_ALLOW_PRIVATE", "1")


@pytest.fixture
def receivers():
    """Make receivers on 127.0.0.1; all are shut down after the test."""
    servers = []

    def make(**kwargs) -> Receiver:
        receiver = Receiver(**kwargs)
        servers.append(start_receiver(receiver))
        return receiver
    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def workers(app):
    """Delivery workers on the app's database (FAST unless told); their HTTP connections are closed afterwards."""
    made: list[DeliveryWorker] = []

    def make(settings: DeliverySettings = FAST) -> DeliveryWorker:
        made.append(DeliveryWorker(app.extensions["database"], settings))
        return made[-1]
    yield make
    for worker in made:
        worker.close()


def key_id(app, name: str = "test-onboarding") -> int:
    with Session(app.extensions["db_engine"]) as session:
        return session.scalar(select(ApiKey.id).where(ApiKey.name == name))


def register(client, keys, url: str, client_key_id: int, **body) -> dict:
    response = client.post("/api/v1/webhooks", json={"client_key_id": client_key_id, "url": url, **body},
                           headers=keys["admin"])
    assert response.status_code == 201, response.json
    return response.json


def deliver_until(worker: DeliveryWorker, done, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "deliveries did not arrive in time"
        worker.run_once()
        time.sleep(0.02)


def pair_flow(client, keys, member_body) -> dict:
    """A seeker and a supporter, a round, an approval (an invitation), both accept, a coordinator ends it."""
    h, c = keys["onboarding"], keys["coordinator"]
    create(client, h, member_body(narrative=GRIEF))
    create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))
    proposal = client.post("/api/v1/rounds", json={}, headers=c).json["proposals"][0]
    pairing, seeker, supporter = proposal["id"], proposal["seeker_id"], proposal["supporter_id"]
    assert client.post(f"/api/v1/pairings/{pairing}/approve", json={}, headers=c).json["status"] == "invited"
    for member in (seeker, supporter):
        assert client.post(f"/api/v1/pairings/{pairing}/accept", json={"member_id": member},
                           headers=h).status_code == 200
    assert client.post(f"/api/v1/pairings/{pairing}/end", json={"reason": "Finished."}, headers=c).status_code == 200
    return {"seeker": seeker, "supporter": supporter, "pairing": pairing}


def test_a_mutual_pair_flow_delivers_its_events_in_order_signed(app, client, keys, member_body, receivers, workers):
    mine, theirs = receivers(), receivers()
    endpoint = register(client, keys, mine.url, key_id(app))
    with Session(app.extensions["db_engine"]) as session:
        other, _ = create_api_key(session, "onboarding", "another-app")
        session.flush()
        other_id = other.id
        session.commit()
    register(client, keys, theirs.url, other_id)
    flow = pair_flow(client, keys, member_body)
    deliver_until(workers(), lambda: len(mine.delivered()) >= len(PAIR_FLOW))
    payloads = mine.verified(endpoint["secret"])
    assert [p["type"] for p in payloads] == PAIR_FLOW
    assert all(p["data"]["pairing_id"] == flow["pairing"] for p in payloads)
    assert [p["data"].get("member_id") for p in payloads[1:3]] == [flow["seeker"], flow["supporter"]]
    assert all(sorted(p["data"]["member_ids"]) == sorted([flow["seeker"], flow["supporter"]]) for p in payloads)
    assert len({r.headers["webhook-id"] for r in mine.delivered()}) == len(PAIR_FLOW)
    words = (GRIEF, GRIEF_SUPPORTER, "Finished.", "Ana R.")
    assert not any(w in r.body for r in mine.delivered() for w in words)
    assert theirs.requests == []     # another client's endpoint hears nothing of these members
    tampered = mine.delivered()[0]
    with pytest.raises(Exception, match="signature"):
        from standardwebhooks import Webhook
        Webhook(endpoint["secret"]).verify(tampered.body.replace("invited", "ended"), tampered.headers)


def test_a_receiver_failing_three_times_still_gets_every_event(app, client, keys, member_body, receivers, workers):
    flaky = receivers(fail_first=3)
    endpoint = register(client, keys, flaky.url, key_id(app))
    pair_flow(client, keys, member_body)
    deliver_until(workers(), lambda: len(flaky.delivered()) >= len(PAIR_FLOW))
    assert sorted(p["type"] for p in flaky.verified(endpoint["secret"])) == sorted(PAIR_FLOW)
    assert [r.answered for r in flaky.requests[:3]] == [500, 500, 500]
    listed = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=keys["admin"]).json
    assert listed["total"] == len(PAIR_FLOW) and {d["status"] for d in listed["deliveries"]} == {"delivered"}
    retried = [d for d in listed["deliveries"] if d["attempts"] > 1]
    assert sum(d["attempts"] for d in listed["deliveries"]) == len(PAIR_FLOW) + 3 and retried
    assert all(d["attempt_log"][0]["status_code"] == 500 and d["attempt_log"][-1]["status_code"] == 204
               for d in retried)
    # an admin replays one: the same webhook-id arrives again
    first = listed["deliveries"][-1]
    replayed = client.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{first['id']}/replay", json={},
                           headers=keys["admin"])
    assert replayed.status_code == 200 and replayed.json["status"] == "pending"
    deliver_until(workers(), lambda: len(flaky.delivered()) > len(PAIR_FLOW))
    assert flaky.delivered()[-1].headers["webhook-id"] == first["webhook_id"]


def test_an_event_whose_transaction_rolls_back_is_never_delivered(app, client, keys, member_body, receivers, workers):
    receiver = receivers()
    register(client, keys, receiver.url, key_id(app))
    h = keys["onboarding"]
    create(client, h, member_body(narrative=GRIEF))
    create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))
    pairing = client.post("/api/v1/rounds", json={}, headers=keys["coordinator"]).json["proposals"][0]["id"]
    database = app.extensions["database"]
    with database.session() as session:
        invited = review.decide(session, app.extensions["services"].config, pairing, Decision.APPROVE, "test")
        assert invited.status == "invited" and session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
        session.rollback()
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert session.get(Pairing, pairing).status == "proposed"
    assert workers().run_once() == 0
    assert receiver.requests == []


def test_a_killed_worker_loses_nothing(app, client, keys, member_body, receivers, database_url):
    """SIGKILL the real `peermatch deliver-webhooks` mid-delivery; a new one sends every webhook-id at least once."""
    slow = receivers(delay=0.3)
    register(client, keys, slow.url, key_id(app))
    for _ in range(3):
        pair_flow(client, keys, member_body)
    with Session(app.extensions["db_engine"]) as session:
        expected = set(session.scalars(select(WebhookDelivery.webhook_id)))
    assert len(expected) == 3 * len(PAIR_FLOW)
    env = {**os.environ, **FAST_ENV, "DATABASE_URL": database_url, "PEERMATCH_WEBHOOKS_ALLOW_PRIVATE": "1"}
    command = [sys.executable, "-c", "from api.cli import main; main()", "deliver-webhooks"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(slow.requests) < 3:
            assert time.monotonic() < deadline and first.poll() is None, "the worker sent nothing"
            time.sleep(0.01)
        slow.arrived.clear()
        assert slow.arrived.wait(5)     # a request is in flight right now
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    seen_before = slow.webhook_ids()
    assert seen_before < expected       # killed before it was done
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while slow.webhook_ids() != expected:
            assert time.monotonic() < deadline and second.poll() is None, "the restarted worker lost deliveries"
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    with Session(app.extensions["db_engine"]) as session:
        statuses = set(session.scalars(select(WebhookDelivery.status)))
    assert statuses == {"delivered"}


def test_endpoints_list_disable_delete_and_secrets_shown_once(app, client, keys, member_body, receivers, workers):
    receiver = receivers()
    a = keys["admin"]
    endpoint = register(client, keys, receiver.url, key_id(app), event_types=["member.held"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
    listed = client.get("/api/v1/webhooks", headers=a).json
    assert [w["id"] for w in listed["webhooks"]] == [endpoint["id"]] and "secret" not in listed["webhooks"][0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=a).json
    assert client.post(f"/api/v1/webhooks/{endpoint['id']}/disable", json={}, headers=a).json["enabled"] is False
    create(client, keys["onboarding"], member_body(narrative=CRISIS))
    assert client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=a).json["total"] == 0
    client.post(f"/api/v1/webhooks/{endpoint['id']}/enable", json={}, headers=a)
    held = create(client, keys["onboarding"], member_body(narrative=CRISIS))
    deliver_until(workers(), lambda: len(receiver.delivered()) == 1)
    assert receiver.verified(endpoint["secret"])[0]["data"]["member_ids"] == [held["id"]]
    assert client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=a).status_code == 204
    assert client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=a).status_code == 404
    assert client.get("/api/v1/webhooks", headers=keys["onboarding"]).status_code == 403


def test_registration_refuses_bad_urls_and_clients(app, client, keys, monkeypatch):
    a, own = keys["admin"], key_id(app)
    for url in ("ftp://example.org/x", "http:///nohost", "https://user:pw@example.org/"):
        refused = client.post("/api/v1/webhooks", json={"client_key_id": own, "url": url}, headers=a)
        assert refused.status_code == 422 and refused.json["field"] == "url", url
    unknown = client.post("/api/v1/webhooks", json={"client_key_id": key_id(app, "test-coordinator"),
                                                    "url": "https://example.org/"}, headers=a)
    assert unknown.status_code == 404 and unknown.json["field"] == "client_key_id"
    bad_type = client.post("/api/v1/webhooks", json={"client_key_id": own, "url": "https://example.org/",
                                                     "event_types": ["pairing.maybe"]}, headers=a)
    assert bad_type.status_code == 422
    monkeypatch.delenv("PEERMATCH_WEBHOOKS_ALLOW_PRIVATE")
    for url in ("http://127.0.0.1:8000/", "http://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/",
                "http://localhost/"):
        refused = client.post("/api/v1/webhooks", json={"client_key_id": own, "url": url}, headers=a)
        assert refused.status_code == 422 and "private or local" in refused.json["message"], url


def test_url_check_allows_public_addresses_and_private_ones_only_when_told():
    assert check_url("https://93.184.215.14/hook", allow_private=False) == "https://93.184.215.14/hook"
    with pytest.raises(WebhookUrlError):
        check_url("http://192.168.1.10/", allow_private=False)
    assert check_url("http://192.168.1.10/", allow_private=True) == "http://192.168.1.10/"


def test_a_dead_receiver_never_blocks_the_api(app, client, keys, member_body, workers):
    """Nothing is sent inside a request: a receiver that does not exist changes no answer of the API."""
    endpoint = register(client, keys, "http://127.0.0.1:9/nothing-listens", key_id(app))
    started = time.monotonic()
    pair_flow(client, keys, member_body)
    assert time.monotonic() - started < 30
    worker = workers()
    assert worker.run_once() == len(PAIR_FLOW)
    with Session(app.extensions["db_engine"]) as session:
        rows = list(session.scalars(select(WebhookDelivery)))
    assert {r.status for r in rows} == {"pending"} and all(r.last_error.startswith("connection failed") for r in rows)
    time.sleep(0.3)     # the retries fall due; a worker whose retry window is over gives up on them
    give_up = DeliverySettings(backoff_seconds=0.05, max_backoff_seconds=0.2, connect_timeout=1, retry_hours=0)
    assert workers(give_up).run_once() == len(PAIR_FLOW)
    with Session(app.extensions["db_engine"]) as session:
        assert set(session.scalars(select(WebhookDelivery.status))) == {"failed"}
        assert set(session.scalars(select(WebhookDelivery.attempts))) == {2}
    # replayed days later: when it was created stays, the replay is recorded, and its retry window starts anew
    created = datetime(2026, 11, 1, 9, 0)
    with Session(app.extensions["db_engine"]) as session:
        session.execute(update(WebhookDelivery).values(created_at=created))
        session.commit()
        first = session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).first()
    replayed = client.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{first}/replay", json={},
                           headers=keys["admin"])
    assert replayed.status_code == 200 and replayed.json["status"] == "pending"
    listed = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=keys["admin"]).json["deliveries"]
    [again] = [d for d in listed if d["id"] == first]
    assert again["created_at"].startswith("2026-11-01T09:00") and again["replayed_at"] > again["created_at"]
    hour = DeliverySettings(backoff_seconds=0.05, max_backoff_seconds=0.2, connect_timeout=1, retry_hours=1)
    assert workers(hour).run_once() == 1
    with Session(app.extensions["db_engine"]) as session:
        delivery = session.get(WebhookDelivery, first)
        assert delivery.status == "pending" and delivery.attempts == 3 and delivery.created_at == created


def test_delivery_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PEERMATCH_WEBHOOK_BACKOFF_SECONDS", "0.5")
    monkeypatch.setenv("PEERMATCH_WEBHOOK_RETRY_HOURS", "48")
    settings = DeliverySettings.from_environment()
    assert (settings.backoff_seconds, settings.retry_hours, settings.read_timeout) == (0.5, 48.0, 5.0)


def test_backoff_grows_with_jitter_and_retries_last_a_day():
    import random

    settings, rng = DeliverySettings(), random.Random(1)
    delays = [settings.backoff(n, rng) for n in range(1, 12)]
    assert 15 <= delays[0] <= 30 and 1800 <= delays[-1] <= 3600
    assert all(b > a for a, b in zip(delays[:6], delays[1:7], strict=True))
    assert settings.retry_hours >= 24


def test_serve_runs_the_delivery_worker_beside_gunicorn(app, client, keys, member_body, receivers, database_url,
                                                        monkeypatch):
    """`peermatch serve --deliver-webhooks`: gunicorn's ready hook starts the worker process, its exit stops it."""
    from api import gunicorn_conf

    receiver = receivers()
    register(client, keys, receiver.url, key_id(app))
    pair_flow(client, keys, member_body)
    for name, value in {**FAST_ENV, "DATABASE_URL": database_url, "PEERMATCH_DELIVER_WEBHOOKS": "1"}.items():
        monkeypatch.setenv(name, value)
    gunicorn_conf.when_ready(None)
    worker = gunicorn_conf._delivery
    try:
        deadline = time.monotonic() + 60
        while len(receiver.delivered()) < len(PAIR_FLOW):
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.05)
    finally:
        gunicorn_conf.on_exit(None)
    assert worker.poll() is not None and gunicorn_conf._delivery is None
