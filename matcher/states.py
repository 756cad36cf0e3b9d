"""The states and kinds the service stores: members, pairings, exclusions and API keys.

Each is a `StrEnum`, so a value is also the plain string kept in the database and sent in JSON.
"""
from __future__ import annotations

from enum import StrEnum


class MemberStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class PairingKind(StrEnum):
    SUPPORT = "support"     # a seeker with a supporter (or with a peer who has room)
    PEER = "peer"           # two peers supporting each other


class PairingStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ENDED = "ended"


class Decision(StrEnum):
    """What a coordinator does to a pairing."""

    APPROVE = "approve"
    REJECT = "reject"
    END = "end"


# decision -> (the status it needs, the status it leaves)
TRANSITIONS: dict[Decision, tuple[PairingStatus, PairingStatus]] = {
    Decision.APPROVE: (PairingStatus.PROPOSED, PairingStatus.APPROVED),
    Decision.REJECT: (PairingStatus.PROPOSED, PairingStatus.REJECTED),
    Decision.END: (PairingStatus.APPROVED, PairingStatus.ENDED),
}
ACTIVE_STATUSES = (PairingStatus.APPROVED,)                               # a place is in use
RESERVING_STATUSES = (PairingStatus.PROPOSED, PairingStatus.APPROVED)     # a place is held until a decision
CLOSED_STATUSES = (PairingStatus.REJECTED, PairingStatus.ENDED)           # the two are not proposed again


class ExclusionKind(StrEnum):
    """Why two members are never suggested or paired: one blocked the other, or declined them."""

    BLOCK = "block"
    DECLINE = "decline"


class ApiRole(StrEnum):
    ONBOARDING = "onboarding"   # creates and updates its own members, reads their suggestions
    COORDINATOR = "coordinator"  # rounds, review, pages
    ANALYST = "analyst"         # pseudonymised exports only
    ADMIN = "admin"             # everything


class MemberFormat(StrEnum):
    """How a member wants to meet peers: in pairs, in support groups (or both, by giving both)."""

    PAIR = "pair"
    GROUP = "group"


class GroupStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ENDED = "ended"


class GroupRole(StrEnum):
    """A member's part in a group: a participant, or its facilitator (who counts it against their capacity)."""

    MEMBER = "member"
    FACILITATOR = "facilitator"


OPEN_GROUP_STATUSES = (GroupStatus.PROPOSED, GroupStatus.APPROVED)   # members are placed: not in another group
