"""A real HTTP receiver for webhook tests: http.server on 127.0.0.1 in a thread, recording every request."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    answered: int


@dataclass
class Receiver:
    """Answers `fail_first` requests with 500, then 204; sleeps `delay` seconds before answering each."""

    fail_first: int = 0
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def handle(self, headers: dict[str, str], body: str) -> int:
        self.arrived.set()
        time.sleep(self.delay)
        with self.lock:
            status = 500 if len(self.requests) < self.fail_first else 204
            self.requests.append(Received(headers, body, status))
        return status

    def delivered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.answered == 204]

    def verified(self, secret: str) -> list[dict]:
        """Each delivered payload, checked with the endpoint's secret by the Standard Webhooks reference code."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.delivered()]

    def webhook_ids(self) -> set[str]:
        with self.lock:
            return {r.headers["webhook-id"] for r in self.requests if r.answered == 204}


def start_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    return server
