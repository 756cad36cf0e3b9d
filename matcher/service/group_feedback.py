"""Members' feedback on their groups (rating 1-5, would continue, optional comment), and their view of them."""
from __future__ import annotations

from matcher.service import group_consent
from matcher.service.errors import ConflictError
from matcher.service.group_review import get_group
from matcher.service.group_views import MemberGroupView, member_groups
from matcher.states import GroupStatus
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.groups import ever_in_group, groups_of_member, has_group_feedback
from matcher.store.models import GroupFeedback, MemberRow

RATEABLE_GROUP_STATUSES = (GroupStatus.APPROVED, GroupStatus.ENDED)
MEMBER_VISIBLE = (GroupStatus.INVITED, GroupStatus.APPROVED)


def give_group_feedback(session: Session, group_id: int, member_id: int, rating: int, would_continue: bool,
                        comment: str | None, actor: str) -> GroupFeedback:
    """A member (or former member) of an approved or ended group rates it, once. The comment is stored,
    never logged or audited.

    Raises
    ------
    NotFoundError: no such group.
    ConflictError: the member was never in the group, the group was never approved, or they rated it already.
    """
    group = get_group(session, group_id)
    if not ever_in_group(session, group_id, member_id):
        raise ConflictError(f"Member {member_id} is not in group {group_id}.", "member_id")
    if group.status not in RATEABLE_GROUP_STATUSES:
        raise ConflictError(f"This group is {group.status}; only approved or ended groups can be rated.", "status")
    if has_group_feedback(session, group_id, member_id):
        raise ConflictError(f"Member {member_id} has already rated this group.", "member_id")
    feedback = GroupFeedback(group_id=group_id, member_id=member_id, rating=rating, would_continue=would_continue,
                             comment=comment or None)
    session.add(feedback)
    session.flush()
    audit(session, actor, "feedback", group_id=group_id, member_id=member_id,
          detail={"rating": rating, "would_continue": would_continue})
    return feedback


def my_groups(session: Session, member: MemberRow) -> list[MemberGroupView]:
    """The member's approved groups, and those they are invited to, as they may see them (names, intros, the
    slot in their zone, their own invitation); proposals stay with the coordinators until approved."""
    group_consent.expire_due(session)
    groups = [g for g in groups_of_member(session, member.id) if g.status in MEMBER_VISIBLE]
    return member_groups(session, member, groups)
