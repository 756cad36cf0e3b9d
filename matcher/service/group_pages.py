"""What the coordinators' group pages show: a programme with its groups, and one group side by side.

Plain data for templates; narratives appear here because coordinators read them to decide.
"""
from __future__ import annotations

from dataclasses import dataclass

from matcher.service import group_consent
from matcher.service.context import Services
from matcher.service.group_joining import joiners_for
from matcher.service.group_review import get_group, history
from matcher.service.group_views import GroupView, describe_group, describe_groups, slot_in
from matcher.service.programmes import get_programme
from matcher.states import CLOSED_GROUP_STATUSES, GroupStatus
from matcher.store import Session
from matcher.store.groups import groups_of, last_formation
from matcher.store.members import display_names, live_rows_by_id
from matcher.store.models import AuditEvent, GroupFormation, GroupProgramme, MemberRow
from matcher.text.embedding import split_sentences
from matcher.text.explanation import best_sentences_for_group


@dataclass
class ProgrammePage:
    programme: GroupProgramme
    proposed: list[GroupView]
    invited: list[GroupView]
    approved: list[GroupView]
    closed: list[GroupView]
    last_formation: GroupFormation | None
    names: dict[int, str]
    slots: dict[int, dict]           # group id -> its slot in the coordinator's zone


@dataclass
class GroupPage:
    group: GroupView
    programme: GroupProgramme
    members: list[MemberRow]
    sentences: dict[int, list[tuple[str, bool]]]   # member id -> (sentence, fits the group best)
    slot: dict                                      # in the coordinator's zone
    shared_languages: list[str]
    shared_topics: list[str]
    other_groups: list[GroupView]                   # proposed groups of the programme a member can move to
    joiners: list[dict]                             # waiting members who could join now, best first


def programme_page(session: Session, programme_id: int, tz: str) -> ProgrammePage:
    """The programme and its groups by status (invitations past their time expire first; the caller commits)."""
    group_consent.expire_due(session)
    programme = get_programme(session, programme_id)
    views = describe_groups(session, groups_of(session, programme_id))
    latest = last_formation(session, programme_id)
    ids = {m["member_id"] for v in views for m in v.members}
    ids |= {item["member_id"] for item in (latest.left_out if latest else [])}
    return ProgrammePage(programme, [v for v in views if v.status == GroupStatus.PROPOSED],
                         [v for v in views if v.status == GroupStatus.INVITED],
                         [v for v in views if v.status == GroupStatus.APPROVED],
                         [v for v in views if v.status in CLOSED_GROUP_STATUSES],
                         latest, display_names(session, ids), {v.id: slot_in(v.slot, tz) for v in views})


def group_page(session: Session, services: Services, group_id: int, tz: str) -> GroupPage:
    """The group's members side by side, each narrative's best-fitting sentence marked, the slot in `tz`
    (invitations past their time expire first; the caller commits)."""
    group_consent.expire_due(session)
    view = describe_group(session, get_group(session, group_id))
    programme = get_programme(session, view.programme_id)
    rows = live_rows_by_id(session, [m["member_id"] for m in view.members])
    members = [rows[m["member_id"]] for m in view.members if m["member_id"] in rows]
    best = best_sentences_for_group([row.narrative or "" for row in members], services.embedder)
    sentences = {row.id: [(s, i == b) for i, s in enumerate(split_sentences(row.narrative or ""))]
                 for row, b in zip(members, best)}
    shared_languages = sorted(set.intersection(*(set(r.languages) for r in members))) if members else []
    shared_topics = sorted(set.intersection(*(set(r.topics) for r in members))) if members else []
    others = [v for v in describe_groups(session, groups_of(session, programme.id, (GroupStatus.PROPOSED,)))
              if v.id != group_id]
    return GroupPage(view, programme, members, sentences, slot_in(view.slot, tz), shared_languages, shared_topics,
                     others, joiners_for(session, get_group(session, group_id)))


def history_page(session: Session, group_id: int) -> tuple[list[AuditEvent], dict[int, str]]:
    """The group's audit events, and the names of the members they mention."""
    events = history(session, group_id)
    return events, display_names(session, {e.member_id for e in events if e.member_id is not None})
