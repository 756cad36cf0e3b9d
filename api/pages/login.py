"""Logging in with a coordinator key (never stored in the cookie), logging out, and the coordinator's time zone."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for

from api.pages import PAGE_ROLES, blp, page_login_required, safe_next
from matcher.availability import validate_timezone
from matcher.profiles import ProfileError
from matcher.service import page_sessions
from matcher.service.access import authenticate


@blp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with a coordinator key; the key itself is never stored in the cookie."""
    error = None
    if request.method == "POST":
        caller = authenticate(g.db, request.form.get("key", ""))
        if caller is None or caller.role not in PAGE_ROLES:
            error = "That key is not a valid coordinator key."
        else:
            token = page_sessions.start(g.db, caller)
            g.db.commit()
            session.clear()
            session["sid"], session["tz"] = token, "UTC"
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error), 401 if error else 200


@blp.route("/logout", methods=["POST"])
def logout():
    """End the session on the server too: a copy of the cookie opens nothing afterwards."""
    if session.get("sid"):
        page_sessions.end(g.db, session["sid"])
        g.db.commit()
    session.clear()
    return redirect(url_for("pages.login"))


@blp.route("/timezone", methods=["POST"])
@page_login_required
def set_timezone():
    """Show times in the coordinator's own zone."""
    try:
        session["tz"] = validate_timezone(request.form.get("tz", "").strip())
        flash(f"Times are now shown in {session['tz']}.", "info")
    except ProfileError as exc:
        flash(exc.message, "error")
    return redirect(safe_next(request.form.get("next")))
