"""Tag words: a stable bit per tag, and a count of shared tags that is never below the true one."""
from __future__ import annotations

import itertools

import numpy as np

from matcher.tag_words import WORD_BITS, tag_bit, tag_word


def shared_bound(mine: list[str], theirs: list[str]) -> int:
    """What SQL computes: popcount of the AND plus the query side's collisions, capped by both counts."""
    a, b = tag_word(mine), tag_word(theirs)
    both = (a.word & b.word) & ((1 << WORD_BITS) - 1)
    return min(both.bit_count() + a.collisions, a.count, b.count)


def test_a_tag_s_bit_is_fixed_by_its_name():
    assert tag_bit("grief") == 50 and tag_bit("work") == 54   # SHA-256: every process and release agree
    assert all(0 <= tag_bit(f"topic-{i}") < WORD_BITS for i in range(200))


def test_words_are_signed_64_bit_integers_as_postgresql_holds_them():
    tags = [f"topic-{i}" for i in range(300)]   # enough that the top bit is set
    word = tag_word(tags)
    assert word.word < 0 and -(2 ** 63) <= word.word < 2 ** 63
    assert word.count == 300 and word.collisions == 300 - WORD_BITS


def test_the_shared_count_is_never_below_the_true_one_and_exact_without_collisions():
    rng = np.random.default_rng(3)
    vocabulary = [f"topic-{i}" for i in range(120)]   # far more tags than bits: many collisions
    exact = 0
    for _ in range(2000):
        mine = list(rng.choice(vocabulary, size=int(rng.integers(0, 6)), replace=False))
        theirs = list(rng.choice(vocabulary, size=int(rng.integers(0, 6)), replace=False))
        true = len(set(mine) & set(theirs))
        bound = shared_bound(mine, theirs)
        assert bound >= true, (mine, theirs)
        exact += bound == true
    assert exact > 1700   # still tight for most pairs (88% here, with twice as many tags as bits)


def test_colliding_tags_of_the_query_still_count_every_shared_tag():
    bits: dict[int, list[str]] = {}
    for i in itertools.count():
        tag = f"t{i}"
        bits.setdefault(tag_bit(tag), []).append(tag)
        pair = next((tags for tags in bits.values() if len(tags) == 2), None)
        if pair:
            break
    word = tag_word(pair)
    assert word.collisions == 1 and word.count == 2
    assert shared_bound(pair, pair) == 2   # one shared bit, two shared tags
