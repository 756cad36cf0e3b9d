"""Domain exceptions -> JSON errors {"error", "message", "field"} with the right status."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from matcher.index import UnknownMemberError
from matcher.profiles import ProfileError
from matcher.service.errors import (
    ConflictError,
    DatabaseFault,
    DomainError,
    ForbiddenError,
    HeldForReviewError,
    ModelMismatchError,
    NotFoundError,
    database_fault,
    driver_error_name,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP-level error a client can act on (authentication, roles); domain refusals are `DomainError`s."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field


def error_response(status: int, error: str, message: str | None, field: str | None = None, **extra):
    body = {"error": error, "message": message, "field": field, **extra}
    return jsonify(body), status


def flatten_messages(messages, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dicts as (field path, message) pairs, e.g. availability[0].start."""
    if isinstance(messages, str):
        return [(prefix, messages)]
    if isinstance(messages, list):
        out = []
        for item in messages:
            out.extend(flatten_messages(item, prefix))
        return out
    out = []
    for key, value in messages.items():
        if isinstance(key, int):
            path = f"{prefix}[{key}]"
        elif key in ("json", "query", "_schema", "view_args"):
            path = prefix
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        out.extend(flatten_messages(value, path))
    return out


def handle_http(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or (data.get("errors") if isinstance(data, dict) else None)
    if messages:
        pairs = flatten_messages(messages)
        field, message = pairs[0] if pairs else (None, exc.description)
        if message == "Invalid JSON body.":
            return error_response(400, "malformed_json", "The request body is not valid JSON.", "body")
        if message == "Unknown field.":
            message = f"{field!r} is not a field this endpoint accepts."
        return error_response(exc.code or 422, "invalid_input", message, field or None,
                              errors=[{"field": f or None, "message": m} for f, m in pairs])
    names = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}
    message = exc.description or exc.name
    if exc.code == 413:
        message = "The request body is larger than this service accepts."
    response, status = error_response(exc.code or 500, names.get(exc.code or 500, exc.name.lower().replace(" ", "_")),
                                      message, "body" if exc.code in (400, 413, 415) else None)
    for key, value in (exc.get_headers() or []):
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response, status


# domain error -> (HTTP status, error code)
DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    NotFoundError: (404, "not_found"), ConflictError: (409, "conflict"), HeldForReviewError: (409, "held_for_review"),
    ForbiddenError: (403, "forbidden"), ModelMismatchError: (409, "model_changed"),
}


def domain_status(exc: DomainError) -> tuple[int, str]:
    """(HTTP status, error code) of a domain error: its closest class in `DOMAIN_STATUS` decides."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 422, "invalid_input"


def domain_response(exc: DomainError):
    """The JSON error for a domain error."""
    status, code = domain_status(exc)
    return error_response(status, code, exc.message, exc.field)


def fault_response(fault: DatabaseFault, exc: Exception):
    """The JSON error for a database fault; nothing was changed in any case."""
    if fault is DatabaseFault.CONFLICT:
        # Two requests raced to write the same thing (e.g. the same block twice); the loser changed nothing.
        log.warning("integrity conflict: %s", driver_error_name(exc))
        return error_response(409, "conflict", "This conflicts with a change made at the same moment; "
                              "nothing was changed. Reload and try again.")
    if fault is DatabaseFault.BAD_VALUE:
        log.warning("value rejected by the database: %s", driver_error_name(exc))
        return error_response(422, "invalid_input", "A value is out of the range this service stores.")
    log.error("database unavailable: %s", type(exc).__name__)
    response, status = error_response(503, "database_unavailable",
                                      "The database is not reachable; nothing was changed. Try again shortly.")
    response.headers["Retry-After"] = "5"
    return response, status


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, domain_response)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.error, exc.message, exc.field)

    @app.errorhandler(ProfileError)
    def _profile_error(exc: ProfileError):
        return error_response(422, "invalid_input", exc.message, exc.field)

    @app.errorhandler(UnknownMemberError)
    def _unknown_member(exc: UnknownMemberError):
        return error_response(404, "not_found", f"No member with id {exc.args[0]}.", "member_id")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        fault = database_fault(exc)
        if fault is not None:
            return fault_response(fault, exc)
        log.exception("unhandled error (%s)", type(exc).__name__)
        return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")
