"""Coordinator pages: log in with a coordinator key, review the queue, decide on pairs, read history.

Server-rendered with Jinja, no JavaScript; every form carries a CSRF token (Flask-WTF) and the
session cookie is HttpOnly and SameSite=Lax. The pages call the same services as the JSON API, so
both paths check, audit and lock the same way.

    login      logging in and out, the coordinator's time zone
    queue      the review queue: filters, sorting, pages, bulk decisions
    review     rounds, pairs and their history, releasing holds
    members    the member directory and a member's record
    dashboard  how the community is doing, as SVG charts (geometry in `charts`)
    groups     group programmes, formation runs, a group side by side and the coordinators' changes
    programme_form  opening and changing a programme (one list of fields drives the form)
"""
from __future__ import annotations

import functools

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from api.auth import current_caller
from api.errors import ApiError, domain_status
from matcher.service.errors import DomainError
from matcher.states import ApiRole

blp = Blueprint("pages", __name__, url_prefix="/coordinator")
csrf = CSRFProtect()
PAGE_ROLES = (ApiRole.COORDINATOR, ApiRole.ADMIN)


def init_pages(app: Flask) -> None:
    """Register the pages and CSRF protection (checked on the pages' forms only)."""
    from api.pages import (  # noqa: F401  (their routes join the blueprint)
        dashboard,
        groups,
        login,
        members,
        programme_form,
        queue,
        review,
    )

    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 3600)        # a form older than an hour is sent again
    app.config.setdefault("PAGE_IDLE_MINUTES", 30)
    app.config.setdefault("PAGE_SESSION_HOURS", 12)
    csrf.init_app(app)
    app.register_blueprint(blp)


@blp.before_request
def _check_csrf():
    if request.method == "POST":
        csrf.protect()


@blp.errorhandler(CSRFError)
def _csrf_failed(exc):
    return render_template("error.html", title="Form expired",
                           message="This form was too old or not sent from this site. "
                                   "Go back, reload and try again."), 400


@blp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return render_template("error.html", title="Not possible", message=exc.message), exc.status


@blp.errorhandler(DomainError)
def _refused(exc: DomainError):
    return render_template("error.html", title="Not possible", message=exc.message), domain_status(exc)[0]


def page_login_required(view):
    """Redirect to the login page without a session; 403 for a key that is not a coordinator's."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        caller = current_caller()
        if caller is None:
            return redirect(url_for("pages.login", next=request.path))
        if caller.role not in PAGE_ROLES:
            return render_template("error.html", title="Not allowed",
                                   message="These pages are for coordinators."), 403
        return view(*args, **kwargs)
    wrapped.required_roles = (ApiRole.COORDINATOR,)
    return wrapped


def coordinator_zone() -> str:
    return session.get("tz", "UTC")


def safe_next(target: str | None) -> str:
    """Where to go after a form: a coordinator page of this site, never elsewhere."""
    return target if target and target.startswith("/coordinator") and "//" not in target else url_for("pages.queue")
