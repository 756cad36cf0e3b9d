"""The front door at `/`, and the API documentation in the browser at `/api/v1/docs`, served from the package.

The documentation is flask-smorest's Swagger UI page; its assets come from the `swagger-ui-bundle`
package (no CDN). Its one inline script is allowed by its SHA-256 in the page's
Content-Security-Policy, so no other inline script could run there.
"""
from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import PackageNotFoundError, version

import swagger_ui_bundle
from flask import Blueprint, Flask, Response, render_template, send_from_directory, url_for

blp = Blueprint("front", __name__)
DOCS_ASSETS = "/api/v1/docs/assets/"
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_settings() -> dict:
    """flask-smorest's settings for its Swagger UI page, pointed at the packaged assets."""
    return {"OPENAPI_SWAGGER_UI_PATH": "docs", "OPENAPI_SWAGGER_UI_URL": DOCS_ASSETS,
            "OPENAPI_SWAGGER_UI_CONFIG": {"persistAuthorization": False, "tryItOutEnabled": False}}


def init_front(app: Flask) -> None:
    app.register_blueprint(blp)
    app.after_request(_docs_policy)


def peermatch_version() -> str:
    try:
        return version("peermatch")
    except PackageNotFoundError:   # running from a checkout that was never installed
        return "unknown"


@blp.route("/")
def index():
    """What this service is, and where to go from here (no key needed, nothing private)."""
    links = [("Coordinator console", url_for("pages.queue"), "review proposals, held members and history"),
             ("API documentation", url_for(DOCS_ENDPOINT), "every endpoint, tried in the browser with a key"),
             ("OpenAPI document", url_for("api-docs.openapi_json"), "the machine-readable description"),
             ("/healthz", url_for("healthz"), "the process is up"),
             ("/readyz", url_for("readyz"), "the model, the database and the index are ready")]
    return render_template("index.html", links=links, version=peermatch_version())


@blp.route(f"{DOCS_ASSETS}<path:filename>")
def docs_asset(filename: str):
    """Swagger UI's own files, from the installed swagger-ui-bundle package."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def _docs_policy(response: Response) -> Response:
    """The docs page's Content-Security-Policy: this site only, plus the hash of its own inline script."""
    from flask import request

    if request.endpoint != DOCS_ENDPOINT or response.status_code != 200:
        return response
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(response.get_data()))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
    return response
