"""What kind of database fault an exception is, so callers outside storage can answer it without SQLAlchemy."""
from __future__ import annotations

from enum import Enum

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError


class DatabaseFault(Enum):
    CONFLICT = "conflict"          # two writes raced for the same row or key; the loser changed nothing
    BAD_VALUE = "bad_value"        # the database refused a value (out of its range)
    UNAVAILABLE = "unavailable"    # the database does not answer


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The fault `exc` stands for, or None when it is not a database error."""
    if isinstance(exc, (IntegrityError, StaleDataError)):   # a unique key taken, or a row changed since read
        return DatabaseFault.CONFLICT
    if isinstance(exc, DataError):
        return DatabaseFault.BAD_VALUE
    if isinstance(exc, (OperationalError, DBAPIError)):
        return DatabaseFault.UNAVAILABLE
    return None


def driver_error_name(exc: BaseException) -> str:
    """The driver's own exception class name (for logs: never the statement or its parameters)."""
    return type(getattr(exc, "orig", None) or exc).__name__
