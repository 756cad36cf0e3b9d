"""On the fixtures, real-model suggestions share the member's theme far more often than random feasible peers."""
from __future__ import annotations

from bench.fixture_quality import build_index, theme_share


def test_top5_share_the_theme_much_more_than_random(embedder):
    index, themes = build_index(embedder)
    assert len(themes) >= 300 and len(set(themes.values())) >= 12
    share = theme_share(index, themes, k=5)
    assert share["peermatch"] > 3 * share["random"]
    assert share["peermatch"] > 0.25
