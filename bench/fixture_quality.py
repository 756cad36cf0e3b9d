"""Share of top-5 suggestions that share the member's theme on the fixtures, against random feasible peers.

    python -m bench.fixture_quality [--k 5]
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from matcher.analysis.member_data import fixture_index, member_themes
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.ranking import filter_masks, rank
from matcher.text.embedding import Embedder


def build_index(embedder: Embedder) -> tuple[MemberIndex, dict[int, str]]:
    """The fixture members with the vectors the service ranks with, and their hidden themes."""
    index = fixture_index(embedder)
    return index, member_themes(index)


def theme_share(index: MemberIndex, themes: dict[int, str], k: int, seed: int = 0) -> dict[str, float]:
    rng, config = np.random.default_rng(seed), MatchConfig()
    hits = {"peermatch": [], "random": []}
    for member_id in themes:
        query = index.get(member_id)
        if query.status != "active":
            continue
        ranked = rank(query, index.embedding(member_id), index, config, k).suggestions
        _, _, keep = filter_masks(query, index, config, set(), set())
        feasible = index.ids[np.flatnonzero(keep)]
        if len(ranked) == 0:
            continue
        picks = rng.choice(feasible, size=min(k, len(feasible)), replace=False)
        hits["peermatch"].extend(themes[s.member_id] == themes[member_id] for s in ranked)
        hits["random"].extend(themes[int(p)] == themes[member_id] for p in picks)
    return {name: round(float(np.mean(v)), 4) for name, v in hits.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    index, themes = build_index(Embedder())
    print(json.dumps(theme_share(index, themes, args.k)))
