"""Webhooks: what the outbox costs a change, and how fast the worker delivers, against baselines in the same run.

    python -m bench.webhooks [--events 300] [--database sqlite|postgres] [--json]

(1) Emit cost: one committed transaction per event that touches a member (the change itself) and
emits one event, with no endpoint vs one subscribed endpoint (event row + delivery row), against the
same transaction without any event. (2) Delivery: `DeliveryWorker.run_once` sending every queued
delivery to a local http.server receiver (claim, sign, POST, record), against plain `requests.post`
of the same bodies to the same receiver.
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from bench.community import temporary_database
from matcher.service.database import Database
from matcher.service.delivery import DeliverySettings, DeliveryWorker
from matcher.service.outbox import emit
from matcher.service.webhooks import register
from matcher.states import EventType
from matcher.store.keys import create_api_key
from matcher.store.members import touch
from matcher.store.models import MemberRow


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/hook"


def changes_seconds(database: Database, member_id: int, events: int, with_event: bool) -> float:
    start = time.perf_counter()
    for _ in range(events):
        with database.session() as session:
            row = session.get(MemberRow, member_id)
            touch(session, row)
            if with_event:
                emit(session, EventType.MEMBER_RELEASED, [member_id], member_id=member_id)
            session.commit()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ["PEERMATCH_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    server, url = start_receiver()
    with temporary_database(args.database) as db_url:
        database = Database(db_url)
        with database.session() as session:
            key, _ = create_api_key(session, "onboarding", "bench")
            member = MemberRow(role="seeker", timezone="UTC", created_by_key=key.id)
            session.add(member)
            session.commit()
            key_id, member_id = key.id, member.id
        plain = changes_seconds(database, member_id, args.events, with_event=False)
        no_endpoint = changes_seconds(database, member_id, args.events, with_event=True)
        with database.session() as session:
            register(session, "bench", key_id, url, None)
            session.commit()
        one_endpoint = changes_seconds(database, member_id, args.events, with_event=True)
        worker = DeliveryWorker(database, DeliverySettings())
        start = time.perf_counter()
        sent = worker.run_once()
        deliver = time.perf_counter() - start
        http, body = requests.Session(), json.dumps({"type": "member.released", "data": {"member_id": member_id}})
        start = time.perf_counter()
        for _ in range(sent):
            http.post(url, data=body, headers={"content-type": "application/json"}, timeout=(3, 5)).close()
        raw = time.perf_counter() - start
        http.close()
        worker.close()
        database.dispose()
    server.shutdown()
    server.server_close()
    result = {"database": args.database, "events": args.events,
              "change_ms": round(plain / args.events * 1000, 3),
              "change_with_event_no_endpoint_ms": round(no_endpoint / args.events * 1000, 3),
              "change_with_event_one_endpoint_ms": round(one_endpoint / args.events * 1000, 3),
              "emit_overhead_ratio": round(one_endpoint / plain, 3),
              "delivered": sent, "deliveries_per_s": round(sent / deliver, 1),
              "raw_posts_per_s": round(sent / raw, 1), "worker_vs_raw": round(raw / deliver, 3)}
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
