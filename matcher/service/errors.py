"""Domain errors: what a service refuses, in words a person can act on; `api.errors` maps them to HTTP.

Core errors are answered the same way: `matcher.profiles.ProfileError` (a field that cannot be
accepted) and `matcher.index.UnknownMemberError`.
"""
from __future__ import annotations

from matcher.store.faults import DatabaseFault, database_fault, driver_error_name

__all__ = ["ConflictError", "DatabaseFault", "DomainError", "ForbiddenError", "HeldForReviewError",
           "ModelMismatchError", "NotFoundError", "SetupError", "database_fault", "driver_error_name"]


class DomainError(Exception):
    """A request a service refuses; `field` names the input at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class NotFoundError(DomainError):
    """No such thing, or none the caller may see (the two answer alike)."""


class ConflictError(DomainError):
    """The request conflicts with the current state (a status, a full supporter, a block); nothing changed."""


class HeldForReviewError(ConflictError):
    """The member is held for a coordinator's review: no peers for them until a person has talked with them."""


class ModelMismatchError(ConflictError):
    """The member's vector was made by another model than the one this process ranks with (a model change
    is under way or finished elsewhere): no ranking mixes two models' vectors."""


class ForbiddenError(DomainError):
    """The caller's role may not do this."""


class SetupError(RuntimeError):
    """The service cannot start as configured; the message says what to install or set."""
