"""Tags (topics) as one 64-bit word, by a stable hash, so SQL can bound how many two members share.

Each tag sets the bit its SHA-256 names. Two members who share a tag share that bit, so the
popcount of their words' AND, plus the tags of one side that landed on a bit already taken by
another of its own tags (`TagWord.collisions`), is at least the number of tags they share.
The hash never changes with the community (no dictionary to keep in step between processes and
SQL); the price is a looser bound when tags collide, never a wrong one.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from matcher.availability import signed_words

WORD_BITS = 64


@lru_cache(maxsize=4096)
def tag_bit(tag: str) -> int:
    """The bit (0..63) `tag` sets: the same in every process and release."""
    return int.from_bytes(hashlib.sha256(tag.encode()).digest()[:8], "big") % WORD_BITS


@dataclass(frozen=True)
class TagWord:
    """The word of a set of tags: its bits (as a signed 64-bit integer, what PostgreSQL's bigint holds),
    how many distinct tags it stands for, and how many of them share a bit with another."""

    word: int
    count: int
    collisions: int


def tag_word(tags: Iterable[str]) -> TagWord:
    distinct = set(tags)
    bits = 0
    for tag in distinct:
        bits |= 1 << tag_bit(tag)
    [signed] = signed_words(np.array([bits], dtype=np.uint64))
    return TagWord(signed, len(distinct), len(distinct) - bits.bit_count())
