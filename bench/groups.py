"""Forming peer support groups at scale: synthetic clustered waiting members, flow vs greedy vs random feasible.

    python -m bench.groups [--members 1000 10000 50000] [--seed 0] [--json]

Members are clustered around 48 centres in 432 dimensions (the service's vector size), speak one or
two of three languages, live in 8 time zones on 4 continents (each with its own DST rules) and keep
one to three weekly habits in local time; a few block each other, some accept only some sizes.
Each size reports seconds (wall, and CPU of this process: the machine is shared), the objective of
each method and its ratios, coverage and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date

import numpy as np

from matcher.groups import GroupCandidate, GroupRules, form_groups
from matcher.profiles import Member, Window

ZONES = [("America/New_York", "en"), ("America/Chicago", "en"), ("America/Mexico_City", "es"),
         ("Europe/London", "en"), ("Europe/Madrid", "es"), ("Europe/Paris", "fr"),
         ("Africa/Johannesburg", "en"), ("Australia/Sydney", "en")]
HABITS = [
    (("mon", 1110, 1260), ("wed", 1110, 1260)), (("tue", 720, 810), ("thu", 720, 810)),
    (("sat", 540, 780),), (("sun", 600, 750),), (("tue", 1140, 1290), ("thu", 1140, 1290)),
    (("sat", 840, 1200),), (("mon", 420, 510), ("fri", 420, 510)), (("wed", 1200, 1320),),
]
DIMENSION, CENTRES = 432, 48


def synthetic_candidates(n: int, seed: int = 0) -> list[GroupCandidate]:
    """`n` waiting members: clustered vectors, 8 zones, 3 languages, weekly habits, some size wishes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CENTRES, DIMENSION))
    cluster = rng.integers(CENTRES, size=n)
    vectors = centres[cluster] + 1.6 * rng.normal(size=(n, DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = []
    for i in range(n):
        tz, local = ZONES[int(rng.integers(len(ZONES)))]
        languages = (local,) if local == "en" or rng.random() < 0.5 else (local, "en")
        habits = rng.choice(len(HABITS), size=int(rng.integers(1, 4)), replace=False)
        windows = {w[0]: Window(*w) for h in habits for w in HABITS[h]}
        member = Member(i + 1, "peer" if rng.random() < 0.2 else "seeker", "", languages, tz, tuple(windows.values()))
        sizes = frozenset(range(4, 7)) if rng.random() < 0.1 else None
        out.append(GroupCandidate(member, vectors[i].astype(np.float32), sizes, member.role == "peer"))
    return out


def synthetic_exclusions(n: int, seed: int = 0) -> list[frozenset[int]]:
    """About one exclusion per 20 members, between random pairs."""
    rng = np.random.default_rng(seed + 1)
    pairs = rng.integers(1, n + 1, size=(n // 20, 2))
    return [frozenset(map(int, p)) for p in pairs if p[0] != p[1]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, seed: int) -> dict:
    candidates = synthetic_candidates(n, seed)
    exclusions = synthetic_exclusions(n, seed)
    rules = GroupRules(frozenset({"en", "es", "fr"}), date(2027, 1, 4), min_size=4, max_size=8)
    row: dict = {"members": n}
    for method in ("flow", "greedy", "random"):
        started, cpu = time.perf_counter(), time.process_time()
        formation = form_groups(candidates, rules, exclusions, seed=seed, method=method)
        row[method] = {"seconds": round(time.perf_counter() - started, 2),
                       "cpu_seconds": round(time.process_time() - cpu, 2), "objective": round(formation.objective, 1),
                       "groups": len(formation.groups), "coverage": round(formation.coverage(n), 4)}
    row["flow_vs_random"] = round(row["flow"]["objective"] / row["random"]["objective"], 3)
    row["flow_vs_greedy"] = round(row["flow"]["objective"] / row["greedy"]["objective"], 3)
    row["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n in args.members:
        row = run(n, args.seed)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{n:>7} members: flow {row['flow']['seconds']:.2f} s ({row['flow']['cpu_seconds']:.2f} s CPU) "
                  f"obj {row['flow']['objective']:.1f} "
                  f"cov {row['flow']['coverage']:.3f} | greedy {row['greedy']['seconds']:.2f} s obj "
                  f"{row['greedy']['objective']:.1f} cov {row['greedy']['coverage']:.3f} | random "
                  f"{row['random']['seconds']:.2f} s obj {row['random']['objective']:.1f} cov "
                  f"{row['random']['coverage']:.3f} | x random {row['flow_vs_random']} x greedy "
                  f"{row['flow_vs_greedy']} | peak RSS {row['peak_rss_mb']} MB", flush=True)
    return rows


if __name__ == "__main__":
    main()
