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
    APPROVED = "approved"       # active: the two meet (with mutual consent, once both accepted)
    REJECTED = "rejected"
    ENDED = "ended"
    INVITED = "invited"         # approved by a coordinator, waiting for both members to accept (mutual consent)
    DECLINED = "declined"       # a member declined the invitation
    EXPIRED = "expired"         # nobody answered within the programme's invitation_days
    WITHDRAWN = "withdrawn"     # a coordinator withdrew the invitation before both accepted


class Decision(StrEnum):
    """What a coordinator does to a pairing."""

    APPROVE = "approve"
    REJECT = "reject"
    END = "end"
    WITHDRAW = "withdraw"       # take back an open invitation (mutual consent), saying why


# decision -> (the status it needs, the status it leaves)
TRANSITIONS: dict[Decision, tuple[PairingStatus, PairingStatus]] = {
    Decision.APPROVE: (PairingStatus.PROPOSED, PairingStatus.APPROVED),
    Decision.REJECT: (PairingStatus.PROPOSED, PairingStatus.REJECTED),
    Decision.END: (PairingStatus.APPROVED, PairingStatus.ENDED),
    Decision.WITHDRAW: (PairingStatus.INVITED, PairingStatus.WITHDRAWN),
}
ACTIVE_STATUSES = (PairingStatus.APPROVED,)                               # a place is in use
RESERVING_STATUSES = (PairingStatus.PROPOSED, PairingStatus.APPROVED,     # a place is held until a decision
                      PairingStatus.INVITED)
CLOSED_STATUSES = (PairingStatus.REJECTED, PairingStatus.ENDED,           # the two are not proposed again
                   PairingStatus.WITHDRAWN)
CAPACITY_STATUSES = (PairingStatus.APPROVED, PairingStatus.INVITED)       # what approval counts against capacity


class ExclusionKind(StrEnum):
    """Why two members are kept apart: one blocked the other or declined them (never suggested, paired or
    grouped together), or declined a group invitation with them (never grouped together again; a pair is
    still possible, since turning down a group is not turning down each person in it)."""

    BLOCK = "block"
    DECLINE = "decline"
    GROUP_DECLINE = "group_decline"


PAIR_EXCLUSIONS = (ExclusionKind.BLOCK, ExclusionKind.DECLINE)   # what suggestions and pairing rounds respect


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
    APPROVED = "approved"       # meeting (with mutual consent: once enough members accepted)
    REJECTED = "rejected"
    ENDED = "ended"
    INVITED = "invited"         # approved by a coordinator, waiting for enough members to accept (mutual consent)
    UNFILLED = "unfilled"       # every invitation was answered or expired and too few had accepted
    WITHDRAWN = "withdrawn"     # a coordinator withdrew the invitations before the group started


class InvitationStatus(StrEnum):
    """A member's answer to a group's invitation (mutual consent); a place without one was placed directly."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"       # the place is freed; the member is never grouped with the others again
    EXPIRED = "expired"         # not answered within the programme's invitation_days; the place is freed


class GroupRole(StrEnum):
    """A member's part in a group: a participant, or its facilitator (who counts it against their capacity)."""

    MEMBER = "member"
    FACILITATOR = "facilitator"


# members are placed: not in another group of the programme
OPEN_GROUP_STATUSES = (GroupStatus.PROPOSED, GroupStatus.INVITED, GroupStatus.APPROVED)
CLOSED_GROUP_STATUSES = (GroupStatus.REJECTED, GroupStatus.ENDED, GroupStatus.UNFILLED, GroupStatus.WITHDRAWN)


class Consent(StrEnum):
    """Who says the last word on an approved pairing: the coordinator alone, or both members too."""

    COORDINATOR = "coordinator"   # approval makes the pairing active (the behaviour before consent existed)
    MUTUAL = "mutual"             # approval invites both members; active once both accepted


class Programme(StrEnum):
    """What a consent setting row belongs to: pairs, or the default new group programmes start with
    (each group programme keeps its own `consent` and `invitation_days`)."""

    PAIRS = "pairs"
    GROUPS = "groups"


class Answer(StrEnum):
    """A member's answer to an invitation."""

    ACCEPT = "accept"
    DECLINE = "decline"


class OfferStatus(StrEnum):
    """A member's offer to support others, as coordinators decide on it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class EventType(StrEnum):
    """What webhooks tell onboarding clients (ids, types and times only, never words)."""

    PAIRING_INVITED = "pairing.invited"
    PAIRING_ACCEPTED = "pairing.accepted"
    PAIRING_ACTIVE = "pairing.active"
    PAIRING_DECLINED = "pairing.declined"
    PAIRING_EXPIRED = "pairing.expired"
    PAIRING_ENDED = "pairing.ended"
    GROUP_INVITED = "group.invited"
    GROUP_STARTED = "group.started"
    GROUP_INVITATION_EXPIRED = "group.invitation_expired"
    GROUP_MEMBER_LEFT = "group.member_left"
    GROUP_ENDED = "group.ended"
    MEMBER_HELD = "member.held"
    MEMBER_RELEASED = "member.released"
    MEMBER_OFFERED_SUPPORT = "member.offered_support"
    MEMBER_BECAME_SUPPORTER = "member.became_supporter"


class DeliveryStatus(StrEnum):
    """One event on its way to one webhook endpoint."""

    PENDING = "pending"       # due now or at next_attempt_at
    DELIVERED = "delivered"   # the receiver answered 2xx
    FAILED = "failed"         # retried for the whole retry window without a 2xx (an admin may replay it)
