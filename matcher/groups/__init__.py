"""Peer support groups: small groups who share an experience, a language and a weekly time (pure core).

    rules        `GroupRules` of a programme, `GroupCandidate` (a waiting member and their vector)
    slots        `WeeklySlot` (a wall-clock time in an anchor zone) and which members it fits, across DST
    outcome      `ProposedGroup`, `LeftOut` with a `LeftOutReason`, `Formation`
    formation    `form_groups`
    checks       `check_group`: every rule, for coordinators' edits re-checked under a lock
    late_joiners `group_suggestions`: open groups with room that fit one member

A service forms a programme's groups with ``form_groups([make_candidate(member, stored_vector,
wants_sizes) ...], rules, exclusions=[frozenset({a, b}) for each block or decline], earlier_groups=[the
member ids of the programme's proposed and approved groups])``; every coordinator edit re-runs
`check_group` on the group as it would be (under the lock) and refuses it when the list is not empty.
"""
from __future__ import annotations

from matcher.groups.checks import GroupRule, Violation, check_group
from matcher.groups.formation import form_groups
from matcher.groups.late_joiners import GroupFit, OpenGroup, group_suggestions
from matcher.groups.outcome import Formation, LeftOut, LeftOutReason, ProposedGroup
from matcher.groups.rules import (
    DEFAULT_FORMATS,
    GroupCandidate,
    GroupFormat,
    GroupRules,
    facilitator_eligible,
    make_candidate,
)
from matcher.groups.slots import SlotTable, WeeklySlot, slot_fits, slot_table

__all__ = [
    # a programme and its members
    "GroupRules", "GroupCandidate", "GroupFormat", "DEFAULT_FORMATS", "facilitator_eligible", "make_candidate",
    # slots
    "WeeklySlot", "SlotTable", "slot_fits", "slot_table",
    # forming
    "form_groups", "Formation", "ProposedGroup", "LeftOut", "LeftOutReason",
    # checking and joining
    "check_group", "GroupRule", "Violation", "group_suggestions", "OpenGroup", "GroupFit",
]
