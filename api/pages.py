"""Coordinator pages: log in with a coordinator key, review the queue, decide on pairs, read history.

Server-rendered with Jinja, no JavaScript; every form carries a CSRF token (Flask-WTF) and the
session cookie is HttpOnly and SameSite=Lax. The pages call the same `api.review` functions as
the JSON API, so both paths check, audit and lock the same way.
"""
from __future__ import annotations

import functools

from flask import (
    Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select

from api import review
from api.auth import actor, current_key
from api.errors import ApiError
from matcher.availability import coming_week_start, validate_timezone, weekly_grid
from matcher.embedding import split_sentences
from matcher.explanation import best_sentence_pair
from matcher.profiles import DAYS, ProfileError
from matcher.storage import AuditEvent, MemberRow, Pairing, PairingRound, find_api_key, pairing_history

blp = Blueprint("pages", __name__, url_prefix="/coordinator")
csrf = CSRFProtect()
PAGE_ROLES = ("coordinator", "admin")


def init_pages(app) -> None:
    """Register the pages and CSRF protection (checked on the pages' forms only)."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)        # valid for the session's lifetime
    csrf.init_app(app)
    app.register_blueprint(blp)


@blp.before_request
def _check_csrf():
    if request.method == "POST":
        csrf.protect()


@blp.errorhandler(CSRFError)
def _csrf_failed(exc):
    return render_template("error.html", title="Form expired",
                           message="This form was too old or not sent from this site. Go back, reload and try again."), 400


@blp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return render_template("error.html", title="Not possible", message=exc.message), exc.status


def page_login_required(view):
    """Redirect to the login page without a session; 403 for a key that is not a coordinator's."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = current_key()
        if key is None:
            return redirect(url_for("pages.login", next=request.path))
        if key.role not in PAGE_ROLES:
            return render_template("error.html", title="Not allowed",
                                   message="These pages are for coordinators."), 403
        return view(*args, **kwargs)
    wrapped.required_roles = ("coordinator",)
    return wrapped


def coordinator_zone() -> str:
    return session.get("tz", "UTC")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/coordinator") and "//" not in target else url_for("pages.queue")


# --- session -------------------------------------------------------------------------------

@blp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with a coordinator key; the key itself is never stored in the cookie."""
    error = None
    if request.method == "POST":
        key = find_api_key(g.db, request.form.get("key", "").strip())
        if key is None or key.role not in PAGE_ROLES:
            error = "That key is not a valid coordinator key."
        else:
            session.clear()
            session["key_id"] = key.id
            session["tz"] = "UTC"
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), 401 if error else 200


@blp.route("/logout", methods=["POST"])
def logout():
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
    return redirect(_safe_next(request.form.get("next")))


# --- queue ---------------------------------------------------------------------------------

@blp.route("/")
@page_login_required
def queue():
    """Held members first, then the proposals awaiting a decision, then who the last round left out."""
    held = g.db.scalars(select(MemberRow).where(MemberRow.needs_review.is_(True), MemberRow.deleted_at.is_(None))
                        .order_by(MemberRow.id)).all()
    proposals = g.db.scalars(select(Pairing).where(Pairing.status == "proposed")
                             .order_by(Pairing.score.desc(), Pairing.id)).all()
    approved = g.db.scalars(select(Pairing).where(Pairing.status == "approved").order_by(Pairing.id)).all()
    last_round = g.db.scalar(select(PairingRound).order_by(PairingRound.id.desc()).limit(1))
    names = _names({p.seeker_id for p in proposals + approved} | {p.supporter_id for p in proposals + approved}
                   | {u["member_id"] for u in (last_round.unmatched if last_round else [])})
    return render_template("queue.html", held=held, hold_reasons=_hold_reasons([m.id for m in held]),
                           proposals=proposals, approved=approved, last_round=last_round, names=names)


@blp.route("/rounds", methods=["POST"])
@page_login_required
def run_round():
    round_row, pairings = review.run_round(actor())
    flash(f"Round {round_row.id}: {len(pairings)} proposals, {len(round_row.unmatched)} members left unmatched.", "info")
    return redirect(url_for("pages.queue"))


# --- pairs ---------------------------------------------------------------------------------

@blp.route("/pairings/<int:pairing_id>")
@page_login_required
def pair(pairing_id: int):
    """Both narratives side by side, the best-matching sentences marked, and the week as a grid."""
    pairing = review.get_pairing(pairing_id)
    seeker, supporter = g.db.get(MemberRow, pairing.seeker_id), g.db.get(MemberRow, pairing.supporter_id)
    tz = coordinator_zone()
    return render_template("pair.html", pairing=pairing, seeker=seeker, supporter=supporter,
                           sentences=_marked_sentences(seeker, supporter), tz=tz,
                           grid=_grid(seeker, supporter, tz), days=DAYS,
                           overlap=review.current_overlap(seeker, supporter))


@blp.route("/pairings/<int:pairing_id>/<any(approve, reject, end):action>", methods=["POST"])
@page_login_required
def decide(pairing_id: int, action: str):
    reason = request.form.get("reason", "").strip() or None
    if action != "approve" and not reason:
        flash("Give a reason; it is kept in the pairing's history.", "error")
        return redirect(url_for("pages.pair", pairing_id=pairing_id))
    try:
        pairing = review.decide(pairing_id, action, actor(), reason)
        flash(f"Pairing {pairing.id} is now {pairing.status}.", "info")
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    return redirect(url_for("pages.pair", pairing_id=pairing_id))


@blp.route("/pairings/<int:pairing_id>/history")
@page_login_required
def history(pairing_id: int):
    pairing = review.get_pairing(pairing_id)
    return render_template("history.html", pairing=pairing, events=pairing_history(g.db, pairing_id),
                           names=_names({pairing.seeker_id, pairing.supporter_id}))


# --- held members --------------------------------------------------------------------------

@blp.route("/members/<int:member_id>")
@page_login_required
def member(member_id: int):
    row = g.db.get(MemberRow, member_id)
    if row is None or row.deleted_at is not None:
        raise ApiError(404, "not_found", f"No member with id {member_id}.")
    return render_template("member.html", member=row, reasons=_hold_reasons([member_id]).get(member_id, []))


@blp.route("/members/<int:member_id>/release", methods=["POST"])
@page_login_required
def release(member_id: int):
    reason = request.form.get("reason", "").strip()
    row = g.db.get(MemberRow, member_id)
    if row is None or row.deleted_at is not None:
        raise ApiError(404, "not_found", f"No member with id {member_id}.")
    if not reason:
        flash("Say what you did before releasing the hold; it is kept in the audit trail.", "error")
        return redirect(url_for("pages.member", member_id=member_id))
    try:
        review.release_hold(row, actor(), reason)
        flash(f"The hold on member {member_id} is released; the next round may pair them.", "info")
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(url_for("pages.queue"))


# --- helpers -------------------------------------------------------------------------------

def _names(ids: set[int]) -> dict[int, str]:
    rows = g.db.execute(select(MemberRow.id, MemberRow.display_name).where(MemberRow.id.in_(ids or {-1})))
    return {i: name or f"(erased member {i})" for i, name in rows}


def _hold_reasons(member_ids: list[int]) -> dict[int, list[str]]:
    events = g.db.scalars(select(AuditEvent).where(AuditEvent.action == "held_for_review",
                                                   AuditEvent.member_id.in_(member_ids or [-1])))
    return {e.member_id: list(e.detail.get("reasons", [])) for e in events}


def _marked_sentences(a: MemberRow, b: MemberRow) -> dict[str, list[tuple[str, bool]]]:
    """Each narrative as (sentence, is the best match) pairs."""
    if not a.narrative or not b.narrative:
        return {"seeker": [], "supporter": []}
    best = best_sentence_pair(a.narrative, b.narrative, current_app.extensions["matching"].embedder)
    return {side: [(s, i == best[f"index_{k}"]) for i, s in enumerate(split_sentences(row.narrative))]
            for side, k, row in (("seeker", "a", a), ("supporter", "b", b))}


def _grid(a: MemberRow, b: MemberRow, tz: str):
    week = coming_week_start()
    return weekly_grid(review.week_intervals(a, week), review.week_intervals(b, week), tz, week)
