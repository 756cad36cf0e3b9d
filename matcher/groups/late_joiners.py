"""Late joiners: open groups with room that fit one member (language, topic, slot, exclusions, rejected groups,
sizes), best first."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.groups.objective import mean_pairwise
from matcher.groups.rejected import rejected_cores
from matcher.groups.rules import GroupCandidate, GroupRules, shares_topic
from matcher.groups.slots import WeeklySlot, programme_weeks, slot_fits


@dataclass(frozen=True)
class OpenGroup:
    """A group of the programme that may take a member (its current members, language, slot, facilitator)."""

    group_id: int
    members: tuple[GroupCandidate, ...]
    language: str
    slot: WeeklySlot
    facilitator_id: int | None = None


@dataclass(frozen=True)
class GroupFit:
    """An open group one member could join; `score` is their mean similarity to its members.

    `explanation` holds ``similarity`` (mean), ``max_similarity``, ``language``, ``slot`` (the
    slot in the member's own time zone), ``size_after``, ``shared_topics`` and ``group_score_after``.
    """

    group_id: int
    score: float
    explanation: dict = field(default_factory=dict)


def group_suggestions(candidate: GroupCandidate, open_groups: Sequence[OpenGroup], rules: GroupRules,
                      exclusions: Collection[frozenset[int]] = (), k: int | None = None,
                      rejected_groups: Collection[frozenset[int]] = ()) -> list[GroupFit]:
    """The open groups `candidate` could join without breaking any rule, most similar first.

    Parameters
    ----------
    candidate : the late joiner.
    open_groups : the programme's groups that take members (the caller leaves out closed ones).
    rules : the programme's rules.
    exclusions : pairs of member ids who blocked or declined each other.
    k : at most this many fits (all by default).
    rejected_groups : member ids of the programme's rejected groups (joining may not recreate one).

    Returns
    -------
    list[GroupFit], best first (ties by group id); empty when the member is held or nothing fits.
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if candidate.held or not shares_topic(candidate, rules):
        return []
    weeks = programme_weeks(rules)
    fits = [fit for group in open_groups
            if (fit := _fit(candidate, group, rules, exclusions, weeks, rejected_groups)) is not None]
    fits.sort(key=lambda f: (-f.score, f.group_id))
    return fits if k is None else fits[:k]


def _fit(candidate: GroupCandidate, group: OpenGroup, rules: GroupRules,
         exclusions: Collection[frozenset[int]], weeks: list,
         rejected_groups: Collection[frozenset[int]]) -> GroupFit | None:
    """The fit of `candidate` to `group`, or None when joining would break a rule."""
    members = (*group.members, candidate)
    if any(c.id == candidate.id for c in group.members):
        return None
    if group.language not in candidate.member.languages or len(members) > rules.max_size:
        return None
    if not all(c.accepts_size(len(members)) for c in members):
        return None
    ids = {c.id for c in group.members}
    if any(len(p) == 2 and candidate.id in p and (p - {candidate.id}) <= ids for p in exclusions):
        return None
    if rejected_cores(ids | {candidate.id}, rejected_groups):
        return None
    if not slot_fits(candidate.member, group.slot, weeks):
        return None
    similarities = np.array([float(np.dot(candidate.vector, c.vector)) for c in group.members] or [0.0])
    vectors = np.array([c.vector for c in members], dtype=np.float64)
    shared = set(rules.topics) & set(candidate.member.topics)
    for c in group.members:
        shared &= set(c.member.topics)
    return GroupFit(group.group_id, round(float(similarities.mean()), 6), {
        "similarity": round(float(similarities.mean()), 6),
        "max_similarity": round(float(similarities.max()), 6),
        "language": group.language,
        "slot": group.slot.render(candidate.member.timezone, rules.start_date),
        "size_after": len(members),
        "shared_topics": sorted(shared),
        "group_score_after": round(mean_pairwise(vectors), 6),
    })
