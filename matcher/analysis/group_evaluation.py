"""Offline evaluation of group formation on labelled text: label purity, objective, coverage, sizes, baselines.

A group is good when its members share a label (they have been through the same kind of thing):
*label purity* is the share of member pairs inside groups whose labels intersect. Every method forms
groups of the same members under the same rules in the same run, so the ratios compare like with like.

When the data has no languages or availability (a CSV of texts), each row gets a seeded random
language set, time zone and weekly habits (`random_members`), the same for every method.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Hashable, Sequence
from datetime import date
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from matcher.fixtures import FIXTURES_PATH, fixture_members
from matcher.groups import Formation, GroupCandidate, GroupRules, form_groups, make_candidate
from matcher.profiles import Member, Window
from matcher.text.adapter import service_vectors

if TYPE_CHECKING:
    from pathlib import Path

    from matcher.text.embedding import Embedder

GROUP_METHODS = ("flow", "greedy", "random")
START = date(2027, 1, 4)
# (zone, its local language) and weekly habits in local time, for rows that come without them
ZONES = [("America/New_York", "en"), ("America/Chicago", "en"), ("America/Mexico_City", "es"),
         ("Europe/London", "en"), ("Europe/Madrid", "es"), ("Europe/Paris", "fr"), ("Australia/Sydney", "en")]
HABITS = [
    (("mon", 1110, 1260), ("wed", 1110, 1260)), (("tue", 720, 810), ("thu", 720, 810)),
    (("sat", 540, 780),), (("sun", 600, 750),), (("tue", 1140, 1290), ("thu", 1140, 1290)),
    (("sat", 840, 1200),),
]


def default_rules(languages: Collection[str] = ("en", "es", "fr")) -> GroupRules:
    """The issue's defaults: groups of 4 to 8 meeting 90 minutes weekly for a year from a January Monday."""
    return GroupRules(frozenset(languages), START)


def random_members(n: int, seed: int = 0) -> list[Member]:
    """`n` members (ids 1..n) with seeded random roles, languages, time zones and one or two weekly habits."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        tz, local = ZONES[int(rng.integers(len(ZONES)))]
        languages = (local,) if local == "en" or rng.random() < 0.4 else (local, "en")
        habits = rng.choice(len(HABITS), size=int(rng.integers(1, 3)), replace=False)
        windows = {w[0]: Window(*w) for h in habits for w in HABITS[h]}
        role = "peer" if rng.random() < 0.2 else "seeker"
        out.append(Member(i + 1, role, "", languages, tz, tuple(windows.values()), capacity=2))
    return out


def label_sets(labels: Sequence[Hashable | Collection[str]]) -> list[frozenset]:
    """Each label as a set (a multi-label row's labels, or a one-element set)."""
    return [frozenset(x) if isinstance(x, (tuple, list, frozenset, set)) else frozenset([x]) for x in labels]


def label_purity(formation: Formation, labels: dict[int, frozenset]) -> float:
    """Share of member pairs inside groups whose labels intersect (0.0 with no group)."""
    pairs = same = 0
    for group in formation.groups:
        for a, b in combinations(group.member_ids, 2):
            pairs += 1
            same += bool(labels[a] & labels[b])
    return same / pairs if pairs else 0.0


def random_pair_purity(labels: dict[int, frozenset], seed: int = 0, samples: int = 20000) -> float:
    """Label purity of random pairs of members: what purity groups formed without the texts would have."""
    rng = np.random.default_rng(seed)
    ids = np.array(sorted(labels))
    a, b = rng.choice(ids, samples), rng.choice(ids, samples)
    keep = a != b
    return float(np.mean([bool(labels[x] & labels[y]) for x, y in zip(a[keep], b[keep], strict=True)]))


def summarise(formation: Formation, labels: dict[int, frozenset], waiting: int, seconds: float) -> dict:
    sizes = Counter(g.size for g in formation.groups)
    means = [g.score for g in formation.groups]
    return {"groups": len(formation.groups), "placed": len(formation.placed_ids),
            "coverage": round(formation.coverage(waiting), 4), "objective": round(formation.objective, 3),
            "label_purity": round(label_purity(formation, labels), 4),
            "mean_group_similarity": round(float(np.mean(means)), 4) if means else 0.0,
            "sizes": {str(s): sizes[s] for s in sorted(sizes)},
            "left_out": dict(Counter(x.reason.value for x in formation.left_out).most_common()),
            "seconds": round(seconds, 3)}


def evaluate_grouping(candidates: Sequence[GroupCandidate], labels: Sequence, rules: GroupRules,
                      exclusions: Collection[frozenset[int]] = (), seed: int = 0,
                      methods: Sequence[str] = GROUP_METHODS) -> dict:
    """Form groups of `candidates` with each method and score them.

    Parameters
    ----------
    candidates : the waiting members with their stored vectors.
    labels : one label (or collection of labels) per candidate, in the same order.
    rules, exclusions, seed : as `form_groups`.
    methods : formation methods to compare (``flow`` and its baselines ``greedy`` and ``random``).

    Returns
    -------
    dict: ``members``, ``random_pairs_purity``, one summary per method (`summarise`), and ``ratios``
    of flow's objective and purity to each baseline's (when both ran).
    """
    by_id = dict(zip((c.id for c in candidates), label_sets(labels), strict=True))
    report: dict = {"members": len(candidates), "random_pairs_purity": round(random_pair_purity(by_id, seed), 4)}
    for method in methods:
        started = time.perf_counter()
        formation = form_groups(candidates, rules, exclusions, seed=seed, method=method)
        report[method] = summarise(formation, by_id, len(candidates), time.perf_counter() - started)
    report["ratios"] = {f"{metric}_vs_{base}": round(report["flow"][metric] / report[base][metric], 3)
                        for base in ("random", "greedy") for metric in ("objective", "label_purity")
                        if "flow" in report and base in report and report[base][metric]}
    return report


def evaluate_text_groups(texts: Sequence[str], labels: Sequence, embedder: Embedder, rules: GroupRules | None = None,
                         seed: int = 0, methods: Sequence[str] = GROUP_METHODS, progress: bool = False) -> dict:
    """`evaluate_grouping` of labelled texts, with the vectors the service stores and seeded random members."""
    vectors = service_vectors(embedder.encode(list(texts), progress=progress), embedder.model_id)
    members = random_members(len(texts), seed)
    candidates = [make_candidate(m, v) for m, v in zip(members, vectors, strict=True)]
    return evaluate_grouping(candidates, labels, rules or default_rules(), seed=seed, methods=methods)


def fixture_group_candidates(embedder: Embedder, path: str | Path = FIXTURES_PATH,
                             ) -> tuple[list[GroupCandidate], list[str]]:
    """The active fixture members who want a group (their own languages, zones, windows and sizes), and themes."""
    members = [m for m in fixture_members(path) if "group" in m.extra["formats"] and m.status == "active"]
    vectors = service_vectors(embedder.encode([m.narrative for m in members]), embedder.model_id)
    candidates = [make_candidate(m, v, m.extra["group_sizes"]) for m, v in zip(members, vectors, strict=True)]
    return candidates, [m.extra["theme"] for m in members]


def evaluate_fixture_groups(embedder: Embedder, rules: GroupRules | None = None, seed: int = 0,
                            methods: Sequence[str] = GROUP_METHODS, path: str | Path = FIXTURES_PATH) -> dict:
    """`evaluate_grouping` of the fixture members who want a group; a theme is a label."""
    candidates, themes = fixture_group_candidates(embedder, path)
    return evaluate_grouping(candidates, themes, rules or default_rules(), seed=seed, methods=methods)
