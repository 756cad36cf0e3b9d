"""Onboarding: members join, change what they told us, block or decline peers, and leave for good.

A narrative is embedded before anything is stored and screened whenever it changes; a member the
screen flags is held for a coordinator (never proposed) until one releases the hold.
"""
from __future__ import annotations

from collections.abc import Sequence

from matcher.service import group_consent
from matcher.service.access import Caller
from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.listing import Page, paginate
from matcher.service.outbox import emit
from matcher.states import CAPACITY_STATUSES, EventType, ExclusionKind, GroupStatus, PairingStatus
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.erasure import erase_member
from matcher.store.exclusions import exclude
from matcher.store.groups import group_member_ids, leave_groups_for_erasure
from matcher.store.members import (
    add_members,
    known_narrative_hashes,
    live_member,
    live_members_query,
    members_needing_embedding,
    store_embeddings,
    touch,
)
from matcher.store.models import Exclusion, MemberRow
from matcher.store.pairings import active_pairing_counts, has_met
from matcher.text.embedding import Embedder, text_hash
from matcher.text.safety import SafetyScreen

PROFILE_FIELDS = ("display_name", "intro", "role", "narrative", "languages", "preferred_languages",
                  "preferred_topics", "timezone", "availability", "capacity", "topics", "status", "formats",
                  "group_sizes")


def member_for(session: Session, member_id: int, caller: Caller) -> MemberRow:
    """The live member with this id, if the caller may see it (an onboarding key sees its own sign-ups).

    Raises
    ------
    NotFoundError: no such member, or one the caller may not see (answered alike).
    """
    row = live_member(session, member_id)
    if row is None or not caller.owns(row.created_by_key):
        raise NotFoundError(f"No member with id {member_id}.", "member_id")
    return row


def list_members(session: Session, page: int, per_page: int) -> Page:
    """Live members, oldest first."""
    return paginate(session, live_members_query(), MemberRow.id, page, per_page)


def embed_members(rows: Sequence[MemberRow], embedder: Embedder, progress: bool = False) -> int:
    """Embed the narratives of `rows` in batches and keep the vectors on them; returns how many."""
    if not rows:
        return 0
    store_embeddings(rows, embedder.encode([row.narrative or "" for row in rows], progress=progress),
                     embedder.model_id)
    return len(rows)


def _embed_if_changed(row: MemberRow, embedder: Embedder) -> bool:
    """Embed the narrative again if it (or the model) changed; True when it did."""
    if row.embedding_hash != text_hash(row.narrative or "") or row.embedding_model != embedder.model_id:
        embed_members([row], embedder)
        return True
    return False


def screen(session: Session, row: MemberRow, safety: SafetyScreen, actor: str) -> None:
    """Hold the member for a coordinator when the narrative may signal acute crisis.

    A triage aid, not a clinical judgement: it only routes the member to a person. A hold is
    released by a coordinator, never by editing the narrative. The audit event names the reason
    (a configured phrase or an exemplar similarity), never the narrative.
    """
    result = safety.screen(row.narrative or "")
    if result.held and not row.needs_review:
        row.needs_review = True
        audit(session, actor, "held_for_review", member_id=row.id, detail={"reasons": result.reasons})
        emit(session, EventType.MEMBER_HELD, [row.id], member_id=row.id)


def create_member(session: Session, embedder: Embedder, safety: SafetyScreen, fields: dict,
                  caller: Caller) -> MemberRow:
    """A new member from validated `fields`, embedded and screened before the caller commits."""
    row = MemberRow(**{k: fields[k] for k in PROFILE_FIELDS}, created_by_key=caller.key_id)
    row.narrative_hash = text_hash(row.narrative or "")
    _embed_if_changed(row, embedder)
    session.add(row)
    session.flush()
    screen(session, row, safety, caller.actor)
    touch(session, row)
    return row


def update_member(session: Session, embedder: Embedder, safety: SafetyScreen, row: MemberRow, changes: dict,
                  caller: Caller) -> MemberRow:
    """Change some fields; a changed narrative is embedded and screened again.

    Raises
    ------
    ConflictError: a capacity below the member's active pairings (end some first).
    """
    if "capacity" in changes:
        active = active_pairing_counts(session, [row.id], statuses=CAPACITY_STATUSES).get(row.id, 0)
        if changes["capacity"] < active:
            raise ConflictError(f"Member {row.id} is in {active} active or invited pairings; capacity cannot go below "
                                f"{active} "
                                "until some of them end.", "capacity")
    for key, value in changes.items():
        setattr(row, key, value)
    row.narrative_hash = text_hash(row.narrative or "")
    if _embed_if_changed(row, embedder):
        screen(session, row, safety, caller.actor)
    touch(session, row)
    return row


def erase(session: Session, row: MemberRow, caller: Caller) -> None:
    """Erase the member's narrative, embedding and name; pairings and audit keep only ids.

    Each pairing the erasure ends gets its `ended` event (ids and states only, no words); each open group
    they were in gets `member_left`, and `ended` when fewer than two people remain.
    """
    for pairing, previous in erase_member(session, row):
        audit(session, caller.actor, "ended", pairing_id=pairing.id,
              detail={"from": previous, "to": pairing.status, "because": "member erased"})
        if previous != PairingStatus.PROPOSED:   # the members heard of it: tell their clients it ended
            emit(session, EventType.PAIRING_ENDED, list(pairing.member_ids), pairing_id=pairing.id,
                 status=pairing.status)
    for group, ended_from in leave_groups_for_erasure(session, row.id):
        audit(session, caller.actor, "member_left", group_id=group.id, member_id=row.id,
              detail={"because": "member erased"})
        others = group_member_ids(session, group.id)
        told = {GroupStatus.APPROVED, GroupStatus.INVITED}     # a group its members' clients had heard of
        if told & {group.status, ended_from}:
            emit(session, EventType.GROUP_MEMBER_LEFT, [row.id, *others], group_id=group.id, member_id=row.id)
        if ended_from is not None:
            audit(session, caller.actor, "ended", group_id=group.id,
                  detail={"from": ended_from, "to": group.status, "because": "too few members left"})
            if ended_from in told:
                emit(session, EventType.GROUP_ENDED, [row.id, *others], group_id=group.id)
        elif group.status == GroupStatus.INVITED:   # the others' invitations decide without them
            group_consent.settle(session, group, caller.actor)
    touch(session, row)


def exclude_peer(session: Session, row: MemberRow, other_id: int, kind: ExclusionKind,
                 caller: Caller) -> tuple[Exclusion, bool]:
    """`row` blocks or declines `other_id`; returns the exclusion and whether it is new.

    An onboarding client may name the peers its member has met: its own sign-ups, peers it was
    suggested and pairing partners; any other id answers as if there were no such member, so
    the endpoint tells nobody which ids exist.

    Raises
    ------
    ConflictError: a member naming themselves.
    NotFoundError: no live member `other_id`, or none this member has met (answered alike).
    """
    if other_id == row.id:
        raise ConflictError("A member cannot do this to themselves.", "member_id")
    other = live_member(session, other_id)
    if other is None or not (caller.owns(other.created_by_key) or has_met(session, row.id, other_id)):
        raise NotFoundError(f"No member with id {other_id}.", "member_id")
    return exclude(session, row.id, other_id, kind)


def add_new_members(session: Session, embedder: Embedder, fields: Sequence[dict],
                    progress: bool = False) -> list[MemberRow]:
    """Store many members at once (fixtures, imports), embedded in batches, under one index version."""
    rows = [MemberRow(**item, narrative_hash=text_hash(item["narrative"])) for item in fields]
    embed_members(rows, embedder, progress=progress)
    add_members(session, rows)
    return rows


def load_members(session: Session, embedder: Embedder, fields: Sequence[dict],
                 progress: bool = False) -> list[MemberRow]:
    """`add_new_members` for the members whose narrative is not stored yet (loading a file twice adds nothing)."""
    known = known_narrative_hashes(session)
    return add_new_members(session, embedder, [item for item in fields if text_hash(item["narrative"]) not in known],
                           progress=progress)


def embed_outdated(session: Session, embedder: Embedder, progress: bool = False) -> int:
    """Embed every narrative that is new, changed, or was embedded by another model; returns how many."""
    rows = members_needing_embedding(session, embedder.model_id)
    count = embed_members(rows, embedder, progress=progress)
    if rows:
        touch(session, *rows)
    return count
