"""What a formation run returns: proposed groups, and every member left out with the reason."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from matcher.groups.slots import WeeklySlot


class LeftOutReason(StrEnum):
    """Why a waiting member is in no proposed group (the first that applies, in this order)."""

    HELD_FOR_REVIEW = "held_for_review"          # the safety screen holds them: never placed
    ALREADY_GROUPED = "already_grouped"          # in a group of this programme already (earlier_groups)
    NO_SHARED_TOPIC = "no_shared_topic"          # the programme has topics and the member shares none of them
    NO_SHARED_LANGUAGE = "no_shared_language"    # no programme language, or nobody else waiting speaks theirs
    NO_COMMON_SLOT = "no_common_slot"            # no weekly slot (every week) shared with anyone of their language
    ONLY_ONE_OF_KIND = "only_one_of_kind"        # fewer than min_size share a language and a slot with them
    NO_ACCEPTED_SIZE = "no_accepted_size"        # no group they could join has a size they accept
    NO_FACILITATOR = "no_facilitator"            # groups need a facilitator and none can meet with them
    BLOCKED = "blocked"                          # each group they could join holds someone they excluded, or vice versa
    REJECTED_GROUP = "rejected_group"            # each group they could be in would recreate a group a coordinator
                                                 # rejected (with them in it)
    TOO_FEW_SIMILAR = "too_few_similar"          # groups were possible, but filled with more similar members


@dataclass(frozen=True)
class LeftOut:
    member_id: int
    reason: LeftOutReason


@dataclass(frozen=True)
class ProposedGroup:
    """One proposed group.

    `score` is the mean pairwise similarity of its members; `score_parts` holds
    ``mean_similarity``, ``min_similarity``, ``pairwise_total`` (its share of the objective),
    ``size``, ``shared_topics`` (programme topics all members share) and ``fit_weeks``.
    """

    member_ids: tuple[int, ...]
    language: str
    slot: WeeklySlot
    facilitator_id: int | None
    score: float
    score_parts: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.member_ids)


@dataclass
class Formation:
    """Groups (best first) and members left out; `objective` is the total within-group pairwise similarity."""

    groups: list[ProposedGroup]
    left_out: list[LeftOut]
    objective: float = 0.0
    stats: dict = field(default_factory=dict)

    @property
    def placed_ids(self) -> set[int]:
        return {m for g in self.groups for m in g.member_ids}

    def coverage(self, waiting: int) -> float:
        """Share of `waiting` members placed in a group."""
        return len(self.placed_ids) / waiting if waiting else 0.0
