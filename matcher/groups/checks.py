"""Every constraint a group must meet, as a checkable rule (used by formation and by coordinators' edits)."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from matcher.groups.rejected import core_size, rejected_cores
from matcher.groups.rules import GroupCandidate, GroupRules, shares_topic
from matcher.groups.slots import WeeklySlot, programme_weeks, weeks_not_fitting


class GroupRule(StrEnum):
    """One constraint of a group; a `Violation` names the rule broken."""

    DUPLICATE_MEMBER = "duplicate_member"
    SIZE_BELOW_MIN = "size_below_min"
    SIZE_ABOVE_MAX = "size_above_max"
    SIZE_NOT_ACCEPTED = "size_not_accepted"
    LANGUAGE = "language"
    TOPIC = "topic"
    SLOT_LENGTH = "slot_length"
    SLOT_OUTSIDE_AVAILABILITY = "slot_outside_availability"
    EXCLUDED_PAIR = "excluded_pair"
    REJECTED_GROUP = "rejected_group"
    FACILITATOR_MISSING = "facilitator_missing"
    FACILITATOR_NOT_ELIGIBLE = "facilitator_not_eligible"
    HELD_FOR_REVIEW = "held_for_review"


@dataclass(frozen=True)
class Violation:
    """A broken rule, the members it concerns, and a sentence a coordinator can act on."""

    rule: GroupRule
    member_ids: tuple[int, ...]
    message: str


def check_group(candidates: Sequence[GroupCandidate], rules: GroupRules, slot: WeeklySlot, language: str,
                exclusions: Collection[frozenset[int]] = (), facilitator_id: int | None = None,
                rejected_groups: Collection[frozenset[int]] = ()) -> list[Violation]:
    """Every rule the group of `candidates` meeting at `slot` in `language` breaks (empty: the group is valid).

    Parameters
    ----------
    candidates : the group's members, as they are now (capacity, hold, availability).
    rules : the programme's rules.
    slot : the group's weekly slot.
    language : the language the group meets in.
    exclusions : pairs of member ids who blocked or declined each other (either direction).
    facilitator_id : the group's facilitator; required when ``rules.needs_facilitator``.
    rejected_groups : member ids of the programme's rejected groups; the group may not hold the core of
        one (`matcher.groups.rejected.core_size`).

    Returns
    -------
    list[Violation] in `GroupRule` order.
    """
    members = list(candidates)
    weeks = programme_weeks(rules)
    found: list[Violation] = []
    for rule in GroupRule:
        found.extend(_CHECKS[rule](members, rules, slot, language, exclusions, facilitator_id, weeks,
                                   rejected_groups))
    return found


def _ids(members: Sequence[GroupCandidate]) -> tuple[int, ...]:
    return tuple(c.id for c in members)


def _duplicates(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    seen: set[int] = set()
    twice = sorted({c.id for c in members if c.id in seen or seen.add(c.id)})  # type: ignore[func-returns-value]
    if not twice:
        return []
    return [Violation(GroupRule.DUPLICATE_MEMBER, tuple(twice), "A member appears more than once in the group.")]


def _size_min(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    if len(members) >= rules.min_size:
        return []
    return [Violation(GroupRule.SIZE_BELOW_MIN, _ids(members),
                      f"The group has {len(members)} members; the programme needs at least {rules.min_size}.")]


def _size_max(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    if len(members) <= rules.max_size:
        return []
    return [Violation(GroupRule.SIZE_ABOVE_MAX, _ids(members),
                      f"The group has {len(members)} members; the programme allows at most {rules.max_size}.")]


def _size_accepted(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    refusing = tuple(c.id for c in members if not c.accepts_size(len(members)))
    return [Violation(GroupRule.SIZE_NOT_ACCEPTED, refusing,
                      f"These members do not accept a group of {len(members)}.")] if refusing else []


def _language(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    if language not in rules.languages:
        return [Violation(GroupRule.LANGUAGE, _ids(members),
                          f"The programme does not meet in {language!r}; it uses "
                          f"{', '.join(sorted(rules.languages))}.")]
    missing = tuple(c.id for c in members if language not in c.member.languages)
    return [Violation(GroupRule.LANGUAGE, missing, f"These members do not speak {language!r}.")] if missing else []


def _topic(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    outside = tuple(c.id for c in members if not shares_topic(c, rules))
    return [Violation(GroupRule.TOPIC, outside, "These members share none of the programme's topics ("
                      f"{', '.join(sorted(rules.topics))}).")] if outside else []


def _slot_length(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    if slot.minutes == rules.meeting_minutes:
        return []
    return [Violation(GroupRule.SLOT_LENGTH, (),
                      f"The slot lasts {slot.minutes} minutes; the programme meets for {rules.meeting_minutes}.")]


def _slot_fit(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    out = []
    for c in members:
        missed = weeks_not_fitting(c.member, slot, weeks)
        if missed:
            out.append(Violation(GroupRule.SLOT_OUTSIDE_AVAILABILITY, (c.id,),
                                 f"The meeting is outside member {c.id}'s availability in their own time zone, "
                                 f"first in the week of {missed[0].isoformat()}."))
    return out


def _excluded(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    ids = _ids(members)
    pairs = sorted({tuple(sorted(p)) for p in exclusions if len(p) == 2 and p <= set(ids)})
    return [Violation(GroupRule.EXCLUDED_PAIR, pair, f"Members {pair[0]} and {pair[1]} blocked or declined each other.")
            for pair in pairs]


def _rejected(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    return [Violation(GroupRule.REJECTED_GROUP, tuple(sorted(held)),
                      f"A coordinator rejected a group of {size} with these members in it; a new group may hold "
                      f"at most {core_size(size) - 1} of them.")
            for held, size in rejected_cores(_ids(members), rejected)]


def _facilitator_missing(members, rules, slot, language, exclusions, facilitator_id, weeks,
                         rejected) -> list[Violation]:
    if not rules.needs_facilitator or (facilitator_id is not None and facilitator_id in _ids(members)):
        return []
    return [Violation(GroupRule.FACILITATOR_MISSING, (),
                      "The programme needs a facilitator in every group, and this group has none among its members.")]


def _facilitator_eligible(members, rules, slot, language, exclusions, facilitator_id, weeks,
                          rejected) -> list[Violation]:
    chosen = [c for c in members if c.id == facilitator_id]
    if not chosen or chosen[0].can_facilitate:
        return []
    return [Violation(GroupRule.FACILITATOR_NOT_ELIGIBLE, (facilitator_id,),   # type: ignore[arg-type]
                      f"Member {facilitator_id} cannot facilitate: only a supporter, or a peer with a free place, "
                      "can.")]


def _held(members, rules, slot, language, exclusions, facilitator_id, weeks, rejected) -> list[Violation]:
    held = tuple(c.id for c in members if c.held)
    return [Violation(GroupRule.HELD_FOR_REVIEW, held,
                      "These members are held for review and cannot be placed in a group.")] if held else []


_CHECKS = {
    GroupRule.DUPLICATE_MEMBER: _duplicates, GroupRule.SIZE_BELOW_MIN: _size_min, GroupRule.SIZE_ABOVE_MAX: _size_max,
    GroupRule.SIZE_NOT_ACCEPTED: _size_accepted, GroupRule.LANGUAGE: _language, GroupRule.TOPIC: _topic,
    GroupRule.SLOT_LENGTH: _slot_length, GroupRule.SLOT_OUTSIDE_AVAILABILITY: _slot_fit,
    GroupRule.EXCLUDED_PAIR: _excluded, GroupRule.REJECTED_GROUP: _rejected,
    GroupRule.FACILITATOR_MISSING: _facilitator_missing, GroupRule.FACILITATOR_NOT_ELIGIBLE: _facilitator_eligible,
    GroupRule.HELD_FOR_REVIEW: _held,
}
