"""Groups a coordinator rejected: no later group of the programme may hold most of one of them again.

A rejection says "not these people together". A group that holds a strict majority of a rejected
group's members (at least three of them, or all of a rejected group of two or three) is, to the
coordinator, that group again: the same voices set the tone. Fewer of them may meet again (a
rejection is not a block between two people; blocks and declines are), so one rejection does not
strand its members for good.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable


def core_size(size: int) -> int:
    """How many members of a rejected group of `size` make a group that group again."""
    return min(size, max(3, size // 2 + 1))


def rejected_cores(group: Iterable[int], rejected: Collection[frozenset[int]]) -> list[tuple[frozenset[int], int]]:
    """Each rejected group whose core `group` holds, with the members it holds of it (as (members, size))."""
    members = set(group)
    found = []
    for rejected_group in rejected:
        held = frozenset(members & rejected_group)
        if rejected_group and len(held) >= core_size(len(rejected_group)):
            found.append((held, len(rejected_group)))
    return found
