"""Suggestion latency through the Flask app, against the raw numpy top-k floor and scikit-learn brute force.

    python -m bench.suggest [--members 10000 100000] [--retrieval in-process pgvector] [--queries 200]
                            [--k 10] [--json]

Each run builds a community of N members in a fresh database (SQLite for the in-process index,
PostgreSQL 16 + pgvector started by pgserver for pgvector), starts the app on it, and times
``GET /api/v1/members/{id}/suggestions?k=K`` through Flask's test client for random members (the
first request, which loads the index, is timed apart as ``warm_up_s``). Up to ``--real-limit``
members the narratives are new combinations of fixture sentences embedded by the real model (cached
under instance/bench-cache); above it the embeddings are synthetic and clustered.

In the same run, on the same L2-normalised matrix and the same query vectors: (a) numpy's top-k
(one matrix-vector product, argpartition, sort), the floor; (b) scikit-learn
``NearestNeighbors(metric="cosine", algorithm="brute")``, what a newcomer would write. The app
does more than either (hard filters, availability, the full score, explanations, a database
round trip and a write recording what was shown). ``recall_at_10`` compares the app's suggestions
with the exact in-process ranking of the same member (1.0 for the in-process retrieval by
construction; below 1 where pgvector's HNSW misses a peer). Memory: the process's peak RSS, and
tracemalloc's peak during one request (an untimed extra request).

With one run the JSON object has the run's keys (``p50_ms``, ``p99_ms``, ``numpy_p50_ms``,
``sklearn_p50_ms``, ``recall_at_10``, ...); with several, those of the last run plus ``runs``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
import tracemalloc

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sqlalchemy.orm import Session

from bench.community import (
    clustered_embeddings, member_fields, real_embeddings, store_members, synthetic_narratives,
    temporary_database,
)
from matcher.config import MatchConfig
from matcher.embedding import Embedder
from matcher.storage import create_api_key

DATABASE_FOR = {"in-process": "sqlite", "pgvector": "postgres"}


def community(n: int, embedder: Embedder, real_limit: int, seed: int) -> tuple[list[dict], list[str], np.ndarray]:
    """Profiles, narratives and embeddings of `n` members (real model up to `real_limit`)."""
    if n <= real_limit:
        narratives = synthetic_narratives(n, seed)
        return member_fields(n, seed), narratives, real_embeddings(narratives, embedder)
    return member_fields(n, seed), [f"Synthetic narrative {i}." for i in range(1, n + 1)], clustered_embeddings(n, seed)


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(seconds, q)) * 1000, 3)


def numpy_top_k(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """The floor: one matrix-vector product, argpartition, then a sort of the k best."""
    scores = matrix @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def time_calls(call, queries) -> list[float]:  # noqa: ANN001
    out = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        out.append(time.perf_counter() - start)
    return out


def baselines(matrix: np.ndarray, rows: np.ndarray, k: int) -> dict:
    """numpy and scikit-learn p50 for the same query vectors."""
    queries = [matrix[r] for r in rows]
    numpy_s = time_calls(lambda q: numpy_top_k(matrix, q, k), queries)
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(matrix)
    sklearn_s = time_calls(lambda q: nn.kneighbors(q[None, :], return_distance=False), queries)
    return {"numpy_p50_ms": percentile_ms(numpy_s, 50), "sklearn_p50_ms": percentile_ms(sklearn_s, 50)}


def time_app(app, headers: dict, member_ids: list[int], k: int) -> dict:  # noqa: ANN001
    """Latencies of the suggestions endpoint, and recall of its top k against the exact in-process ranking."""
    from api.matching import MatchingState

    client, state = app.test_client(), app.extensions["matching"]
    oracle = MatchingState(state.embedder, state.config, retrieval="in-process")
    start = time.perf_counter()
    assert client.get(f"/api/v1/members/{member_ids[0]}/suggestions?k={k}", headers=headers).status_code == 200
    warm_up = time.perf_counter() - start
    seconds, hits, wanted = [], 0, 0
    with Session(app.extensions["db_engine"]) as session:
        for member_id in member_ids:
            exact = [s.member_id for s in oracle.suggest(session, member_id, k).suggestions]
            session.rollback()   # the oracle's ranking is not recorded: the app sees the same exposure
            start = time.perf_counter()
            response = client.get(f"/api/v1/members/{member_id}/suggestions?k={k}", headers=headers)
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.json
            hits += len(set(exact) & {s["member_id"] for s in response.json["suggestions"]})
            wanted += len(exact)
    tracemalloc.start()
    client.get(f"/api/v1/members/{member_ids[0]}/suggestions?k={k}", headers=headers)
    request_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"p50_ms": percentile_ms(seconds, 50), "p99_ms": percentile_ms(seconds, 99),
            "recall_at_10": round(hits / max(wanted, 1), 4), "warm_up_s": round(warm_up, 2),
            "request_peak_mb": round(request_peak / 2 ** 20, 1)}


def measure(n: int, retrieval: str, embedder: Embedder, args: argparse.Namespace) -> dict:
    """One community of `n` members served with `retrieval`: the app and both baselines."""
    from api import create_app

    clock = time.perf_counter()
    fields, narratives, matrix = community(n, embedder, args.real_limit, args.seed)
    with temporary_database(DATABASE_FOR[retrieval]) as url:
        app = create_app({"DATABASE_URL": url, "EMBEDDER": embedder, "RETRIEVAL": retrieval,
                          "MATCH_CONFIG": MatchConfig(), "SECRET_KEY": "bench"})
        engine = app.extensions["db_engine"]
        store_members(engine, fields, narratives, matrix, embedder.model_id)
        with Session(engine) as session:
            _, key = create_api_key(session, "coordinator", "bench")
            session.commit()
        build = time.perf_counter() - clock
        rows = np.random.default_rng(args.seed).choice(n, size=min(args.queries, n), replace=False)
        row = {"members": n, "retrieval": retrieval, "k": args.k, "queries": len(rows),
               "embeddings": "real" if n <= args.real_limit else "synthetic",
               **time_app(app, {"Authorization": f"Bearer {key}"}, [int(r) + 1 for r in rows], args.k),
               **baselines(matrix, rows, args.k), "build_s": round(build, 1)}
        engine.dispose()
    row["p50_over_numpy"] = round(row["p50_ms"] / max(row["numpy_p50_ms"], 1e-9), 2)
    row["sklearn_over_p50"] = round(row["sklearn_p50_ms"] / max(row["p50_ms"], 1e-9), 2)
    row["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    row["load_avg_1m"] = round(os.getloadavg()[0], 2)   # other work on the machine skews every number
    return row


COLUMNS = (("members", 8), ("retrieval", 10), ("emb.", 9), ("p50 ms", 8), ("p99 ms", 8), ("numpy p50", 10),
           ("sklearn p50", 12), ("p50/numpy", 10), ("sklearn/p50", 12), ("recall@k", 9), ("warm-up s", 10),
           ("req MB", 7), ("RSS MB", 7))


def print_table(rows: list[dict]) -> None:
    print(" ".join(f"{name:>{width}}" for name, width in COLUMNS))
    print("-" * sum(width + 1 for _, width in COLUMNS))
    for r in rows:
        values = (r["members"], r["retrieval"], r["embeddings"], r["p50_ms"], r["p99_ms"], r["numpy_p50_ms"],
                  r["sklearn_p50_ms"], f"{r['p50_over_numpy']}x", f"{r['sklearn_over_p50']}x", r["recall_at_10"],
                  r["warm_up_s"], r["request_peak_mb"], r["max_rss_mb"])
        print(" ".join(f"{value:>{width}}" for value, (_, width) in zip(values, COLUMNS)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.suggest", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--retrieval", nargs="+", choices=sorted(DATABASE_FOR), default=["in-process"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--real-limit", type=int, default=10000, help="largest community embedded by the real model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    embedder = Embedder()
    runs = [measure(n, retrieval, embedder, args) for n in args.members for retrieval in args.retrieval]
    report = {**runs[-1], "runs": runs} if len(runs) > 1 else runs[0]
    if args.json:
        print(json.dumps(report))
    else:
        print_table(runs)
        print(f"load average (1 min) at the end: {runs[-1]['load_avg_1m']}")
    return report


if __name__ == "__main__":
    main()
