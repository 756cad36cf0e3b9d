"""What every API request must be before a view sees it: sizes, a JSON body where one is expected.

Answered in the JSON error shape, like every other refusal: 414 for a URL, 431 for headers, 415
for a body that is not JSON, 400 for a missing, malformed or too deeply nested body (413, a body
over `MAX_CONTENT_LENGTH`, including a chunked one, comes from Werkzeug's own limit).
"""
from __future__ import annotations

import json

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError

MAX_URL_LENGTH = 4096            # below gunicorn's own limit (see api/gunicorn_conf.py), so the app answers
MAX_HEADER_BYTES = 16 * 1024
BODY_METHODS = ("POST", "PUT", "PATCH")
API_PREFIX = "/api/"


def init_request_checks(app: Flask) -> None:
    app.before_request(check_request)


def check_request() -> None:
    """Refuse a request whose size or body no view should have to handle."""
    if len(request.url) > MAX_URL_LENGTH:
        raise ApiError(414, "uri_too_long", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if sum(len(k) + len(v) for k, v in request.headers.items()) > MAX_HEADER_BYTES:
        raise ApiError(431, "headers_too_large", f"The request headers are larger than {MAX_HEADER_BYTES} bytes.")
    if not request.path.startswith(API_PREFIX):
        return
    if "" in request.args:   # `?=1`: a value without a name, which no operation takes
        raise ApiError(400, "bad_request", "A query parameter has no name.", "query")
    if request.method in BODY_METHODS:
        check_json_body()


def check_json_body() -> None:
    """A body of JSON text that parses (operations that take no fields take ``{}``)."""
    body = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and len(body) >= limit:
        # A declared length over the limit is refused by Werkzeug; a chunked body is cut off at it, silently.
        raise RequestEntityTooLarge()
    if not body:
        raise ApiError(400, "missing_body", "Send a JSON body (an empty object {} where there is nothing to say).",
                       "body")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send the body as JSON with the header 'Content-Type: application/json'.", "body")
    try:
        json.loads(body)
    except RecursionError:
        raise ApiError(400, "malformed_json", "The JSON body is nested too deeply.", "body") from None
    except ValueError:
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.", "body") from None
