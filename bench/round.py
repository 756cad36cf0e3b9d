"""Time a pairing round (candidates + solve) on a synthetic community: optimal flow vs greedy.

    python -m bench.round [--seekers 1000 10000] [--supporters 5000] [--peers 0] [--top-n 50] [--json]

The synthetic members have clustered random unit narratives (dimension 384), one or two of four
languages, one of six time zones, one to three weekly evening windows, a few topics (a fifth
with topic preferences), and supporters (and peers) take one to four pairs. With ``--peers`` the
peers wait in every round too (and are paired with each other by the blossom step). Peak memory
is tracemalloc's peak during the round (numpy buffers included), from a separate, untimed run.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from datetime import date

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import DAYS, Member, Window
from matcher.rounds import RoundResult, propose_round

DIMENSION = 384
LANGUAGES = ("en", "es", "de", "fr")
ZONES = ("Europe/London", "Europe/Berlin", "Europe/Madrid", "America/New_York", "America/Chicago",
         "Asia/Kolkata")
TOPICS = ("grief", "sleep", "work", "cancer", "divorce", "addiction", "caring", "anxiety", "loneliness",
          "illness", "money", "parenting")
WEEK = date(2026, 6, 8)


def synthetic_member(member_id: int, role: str, rng: np.random.Generator) -> Member:
    """One member with random languages, zone, evening windows, topics and (sometimes) preferences."""
    languages = tuple(rng.choice(LANGUAGES, size=int(rng.integers(1, 3)), replace=False, p=(.55, .2, .15, .1)))
    windows = []
    for day in rng.choice(DAYS, size=int(rng.integers(1, 4)), replace=False):
        start = int(rng.integers(16, 21)) * 60 + int(rng.choice((0, 30)))
        windows.append(Window(str(day), start, (start + int(rng.integers(2, 5)) * 60) % 1440))
    topics = tuple(str(t) for t in rng.choice(TOPICS, size=int(rng.integers(0, 4)), replace=False))
    prefers = rng.random() < 0.2
    return Member(
        id=member_id, role=role, narrative=f"synthetic {member_id}", languages=tuple(map(str, languages)),
        timezone=str(rng.choice(ZONES)), availability=tuple(windows),
        capacity=1 if role == "seeker" else int(rng.integers(1, 5)), topics=topics,
        preferred_topics=tuple(str(t) for t in rng.choice(TOPICS, size=2, replace=False)) if prefers else ())


def synthetic_index(n_seekers: int, n_supporters: int, n_peers: int = 0, seed: int = 0) -> MemberIndex:
    """An index of `n_seekers` seekers (ids 1..), then `n_supporters` supporters, then `n_peers` peers."""
    rng = np.random.default_rng(seed)
    total = n_seekers + n_supporters + n_peers
    roles = ["seeker"] * n_seekers + ["supporter"] * n_supporters + ["peer"] * n_peers
    centres = rng.normal(size=(32, DIMENSION))
    vectors = centres[rng.integers(0, 32, size=total)] + 1.2 * rng.normal(size=(total, DIMENSION))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = MemberIndex(DIMENSION, week_start=WEEK, initial_rows=total)
    for i, role in enumerate(roles):
        index.upsert(synthetic_member(i + 1, role, rng), vectors[i])
    return index


def run_round(index: MemberIndex, seeker_ids: list[int], solver: str, top_n: int) -> RoundResult:
    """One round with the default config."""
    return propose_round(index, MatchConfig(), seeker_ids, top_n=top_n, solver=solver)


def peak_memory_mb(index: MemberIndex, seeker_ids: list[int], solver: str, top_n: int) -> float:
    """tracemalloc's peak while one round runs (tracing slows it, so it is not timed)."""
    tracemalloc.start()
    try:
        run_round(index, seeker_ids, solver, top_n)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def measure(index: MemberIndex, n_seekers: int, n_supporters: int, top_n: int) -> dict:
    """Both solvers on the first `n_seekers` seekers (and every peer): totals, timings, memory."""
    peers = [m.id for m in index.members if m is not None and m.role == "peer"]
    seeker_ids = list(range(1, n_seekers + 1)) + peers
    row = {"seekers": n_seekers, "supporters": n_supporters, "peers": len(peers), "top_n": top_n}
    for solver in ("flow", "greedy"):
        result = run_round(index, seeker_ids, solver, top_n)
        row[solver] = {
            "total_score": result.total_score, "pairs": len(result.proposals),
            "unmatched": len(result.unmatched), "seconds": round(result.seconds, 3),
            "candidates_s": round(result.timings["candidates"], 3), "solve_s": round(result.timings["solve"], 3),
            "explain_s": round(result.timings["explain"], 3),
            "peak_mb": round(peak_memory_mb(index, seeker_ids, solver, top_n), 1),
        }
    row["ratio_optimal_to_greedy"] = round(row["flow"]["total_score"] / max(row["greedy"]["total_score"], 1e-9), 5)
    return row


COLUMNS = (("seekers", 8), ("supp.", 6), ("peers", 6), ("solver", 7), ("pairs", 6), ("total score", 12),
           ("cand s", 7), ("solve s", 8), ("expl s", 7), ("total s", 8), ("peak MB", 8), ("opt/greedy", 10))


def print_table(rows: list[dict]) -> None:
    """One line per round and solver; the ratio optimal/greedy on the flow line."""
    print(" ".join(f"{name:>{width}}" for name, width in COLUMNS))
    print("-" * sum(width + 1 for _, width in COLUMNS))
    for row in rows:
        for solver in ("flow", "greedy"):
            r = row[solver]
            values = (row["seekers"], row["supporters"], row["peers"], solver, r["pairs"],
                      f"{r['total_score']:.3f}", f"{r['candidates_s']:.3f}", f"{r['solve_s']:.3f}",
                      f"{r['explain_s']:.3f}", f"{r['seconds']:.3f}", f"{r['peak_mb']:.1f}",
                      f"{row['ratio_optimal_to_greedy']:.5f}" if solver == "flow" else "")
            print(" ".join(f"{value:>{width}}" for value, (_, width) in zip(values, COLUMNS)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.round", description=__doc__.splitlines()[0])
    parser.add_argument("--seekers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--supporters", type=int, default=5000)
    parser.add_argument("--peers", type=int, default=0, help="peers waiting in every round (blossom step)")
    parser.add_argument("--top-n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    clock = time.perf_counter()
    index = synthetic_index(max(args.seekers), args.supporters, args.peers, args.seed)
    build = time.perf_counter() - clock
    rows = [measure(index, n, args.supporters, args.top_n) for n in sorted(args.seekers)]
    report = {"index_build_s": round(build, 3), "rounds": rows, "wall_s": round(time.perf_counter() - clock, 3),
              "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"index of {len(index)} members built in {build:.1f} s")
        print_table(rows)
        print(f"wall time {report['wall_s']:.1f} s, process max RSS {report['max_rss_mb']:.0f} MB")
    return report


if __name__ == "__main__":
    main()
