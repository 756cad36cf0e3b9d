"""Hand-made members and unit vectors for the matcher's pure-logic tests."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from matcher.index import MemberIndex
from matcher.profiles import Member, Window

WEEK = date(2026, 6, 8)
EVENING = (Window("mon", 18 * 60, 21 * 60),)


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def make_member(i: int, role: str = "supporter", **changes) -> Member:
    """An English-speaking member in London, free Monday 18-21, one place, topic grief."""
    base = Member(id=i, role=role, narrative=f"story {i}", languages=("en",), timezone="Europe/London",
                  availability=EVENING, capacity=1, topics=("grief",), display_name=f"M{i}")
    return replace(base, **changes)


def add(index: MemberIndex, m: Member, vector=None) -> Member:
    """Put `m` in `index` with `vector` (default: the first axis)."""
    index.upsert(m, unit(*(vector if vector is not None else (1.0,) + (0.0,) * (index.dimension - 1))))
    return m
